"""``odart demo``: broker, server, panel, an edge with virtual wearables, a scripted overdose."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Final

MAX_PORT: Final = 65535
"""The highest TCP port number (16-bit field, RFC 9293)."""

HELP = "run the whole chain on this machine: one wearer stops breathing about a minute in"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    parser.add_argument("--headless", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--json", action="store_true", help="print the summary as JSON on stdout when the demo ends"
    )
    parser.add_argument(
        "--port",
        type=_port,
        help="the staff panel's HTTP port on 127.0.0.1 (default: any free port)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when the apnoea notification reached the responder."""
    from odart.broker import BrokerError
    from odart.demo import format_summary, run_demo

    if args.duration is not None and args.duration <= 0:
        print("odart demo: --duration must be positive", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("odart demo: --speed must be positive", file=sys.stderr)
        return 2
    if args.port is not None and (taken := _port_taken(args.port)) is not None:
        print(f"odart demo: --port {args.port}: {taken}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(
            run_demo(
                duration_s=args.duration,
                headless=args.headless,
                speed=args.speed,
                http_port=args.port,
            )
        )
    except BrokerError as error:
        print(f"odart demo: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        print(format_summary(summary))
    from odart.demo import APNOEA_AT_S, DETECT_BUDGET_S

    expected = summary.duration_s >= APNOEA_AT_S + DETECT_BUDGET_S
    return 0 if summary.ok or not expected else 1


def _port(text: str) -> int:
    """A TCP port number; anything else is a usage error (exit 2)."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= MAX_PORT:
        message = f"not a TCP port (1-{MAX_PORT}): {text!r}"
        raise argparse.ArgumentTypeError(message)
    return port


def _port_taken(port: int) -> str | None:
    """Why the panel cannot listen on loopback ``port``, or None when it can.

    Checked before the broker starts: uvicorn would otherwise exit the whole process from
    inside its task, with a traceback and the broker left to stop.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds it
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return f"the panel cannot listen there ({error.strerror or error})"
    return None
