"""``odart decode KIND HEX``: print one device message as JSON (shell around firmware_bridge).

Exit 0 with the JSON on stdout; on bad input a one-line reason on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "decode one device message (hex bytes) and print it as JSON"

EXIT_OK = 0
EXIT_BAD_INPUT = 2

# Kept literal so that `odart --help` does not import the codecs; a test pins it to KINDS.
KINDS = (
    "alert_level",
    "battery_level",
    "heart_rate",
    "ld2410",
    "mr60bha1",
    "odart_wearable",
    "plx_continuous",
    "plx_spot_check",
    "polar_pmd",
    "polar_pmd_control",
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the KIND and HEX arguments."""
    parser.add_argument(
        "kind",
        metavar="KIND",
        choices=KINDS,
        help="message kind: " + ", ".join(KINDS),
    )
    parser.add_argument(
        "hex",
        metavar="HEX",
        nargs="+",
        help="the message bytes in hex; spaces, colons and a 0x prefix are allowed",
    )


def _parse_hex(parts: list[str]) -> bytes:
    text = "".join(parts).replace(":", "").replace(" ", "").replace("-", "")
    text = text.removeprefix("0x").removeprefix("0X")
    return bytes.fromhex(text)


def run(args: argparse.Namespace) -> int:
    """Decode and print; return 0, or 2 with a one-line reason on stderr."""
    from firmware_bridge import FrameError, decode_message, message_to_json

    try:
        data = _parse_hex(list(args.hex))
    except ValueError as exc:
        print(f"odart decode: not hex: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rendered = message_to_json(decode_message(args.kind, data))
    except FrameError as exc:
        print(f"odart decode: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(rendered, allow_nan=False))
    return EXIT_OK
