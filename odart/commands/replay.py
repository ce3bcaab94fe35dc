"""``odart replay FILE.csv``: run the streaming detector over a recording (shell).

Prints one JSON event per line on stdout (``kind``, ``severity``, ``t``, ``onset``,
``evidence``). The CSV has a header; ``t`` (seconds, increasing) is required; the other columns
are optional channel names: resp, acc_x, acc_y, acc_z (g), spo2 (%), hr (bpm), presence, motion,
door. Empty cells are missing samples. A file that cannot be used gives a one-line reason on
stderr and exit 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

HELP = "run the detector over a recorded CSV and print one JSON event per line"

EXIT_OK = 0
EXIT_BAD_INPUT = 2

COLUMNS = ("resp", "acc_x", "acc_y", "acc_z", "spo2", "hr", "presence", "motion", "door")
"""Kept literal so ``odart --help`` does not import the detector; a test pins it to Channel."""


class ReplayInputError(ValueError):
    """The recording cannot be used; the message is the one-line reason."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the FILE argument and options."""
    parser.add_argument("file", metavar="FILE.csv", type=Path, help="recording to replay")
    parser.add_argument(
        "--resp-source",
        choices=("wearable", "radar"),
        default="wearable",
        help="which device the resp column comes from (default: wearable)",
    )
    parser.add_argument(
        "--settings",
        metavar="JSON",
        default=None,
        help="detector settings as a JSON object, e.g. '{\"apnoea_wearable_s\": 20}'",
    )


def read_columns(path: Path) -> tuple[list[float], dict[str, list[float]]]:
    """Read ``t`` and the channel columns of a replay CSV.

    Raises:
        ReplayInputError: with the reason the file cannot be used.
    """
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        message = f"cannot open {path}: {exc.strerror or exc}"
        raise ReplayInputError(message) from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            message = f"{path} is empty"
            raise ReplayInputError(message) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            message = f"{path} is not a readable CSV: {exc}"
            raise ReplayInputError(message) from exc
        if "t" not in header:
            message = f"{path} has no 't' column (header: {','.join(header)})"
            raise ReplayInputError(message)
        unknown = [h for h in header if h != "t" and h not in COLUMNS]
        if unknown:
            message = f"unknown column {unknown[0]!r}; known: t, {', '.join(COLUMNS)}"
            raise ReplayInputError(message)
        if len(set(header)) != len(header):
            message = f"{path} repeats a column name"
            raise ReplayInputError(message)
        data: dict[str, list[float]] = {h: [] for h in header}
        try:
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    message = f"line {line} has {len(row)} fields, the header has {len(header)}"
                    raise ReplayInputError(message)
                for name, cell in zip(header, row, strict=True):
                    data[name].append(_number(cell, name, line))
        except (csv.Error, UnicodeDecodeError) as exc:
            message = f"{path} is not a readable CSV: {exc}"
            raise ReplayInputError(message) from exc
    t = data.pop("t")
    _check_times(t)
    return t, data


def _number(cell: str, name: str, line: int) -> float:
    cell = cell.strip()
    if not cell:
        if name == "t":
            message = f"line {line}: t is empty"
            raise ReplayInputError(message)
        return math.nan
    try:
        return float(cell)
    except ValueError:
        message = f"line {line}: {name} is not a number: {cell!r}"
        raise ReplayInputError(message) from None


def _check_times(t: list[float]) -> None:
    if len(t) < 2:
        message = "the recording needs at least two rows"
        raise ReplayInputError(message)
    previous = -math.inf
    for line, value in enumerate(t, start=2):
        if not math.isfinite(value):
            message = f"line {line}: t is not finite"
            raise ReplayInputError(message)
        if value <= previous:
            message = f"line {line}: t does not increase ({value} after {previous})"
            raise ReplayInputError(message)
        previous = value


def _settings_mapping(text: str | None) -> dict[str, object]:
    raw = json.loads(text) if text else {}
    if not isinstance(raw, dict):
        message = "--settings must be a JSON object"
        raise ReplayInputError(message)
    return raw


def run(args: argparse.Namespace) -> int:
    """Replay the file; return 0, or 2 with a one-line reason on stderr."""
    from edge.detector import Detector, DetectorError, DetectorSettings, Source

    try:
        settings = DetectorSettings.from_mapping(_settings_mapping(args.settings))
        t, columns = read_columns(args.file)
        sources = {"resp": Source(args.resp_source)}
        events = Detector(settings).detect(columns, t, sources=sources)
    except (ReplayInputError, DetectorError, json.JSONDecodeError) as exc:
        print(f"odart replay: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = sys.stdout
    for event in events:
        out.write(json.dumps(event.to_json_dict(), allow_nan=False) + "\n")
    out.flush()
    return EXIT_OK
