"""The ``odart`` entry point: one sub-command per module in :mod:`odart.commands` (shell).

Each command module defines ``HELP`` (one line), ``configure(parser)`` and ``run(args) -> int``.
Command modules keep heavy imports inside ``run`` so that ``odart --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

# Sub-command name -> module. Keep sorted; tests/test_cli.py checks every entry answers --help.
COMMANDS: dict[str, str] = {
    "admin": "odart.commands.admin",
    "audit": "odart.commands.audit",
    "bench": "odart.commands.bench",
    "broker": "odart.commands.broker",
    "decode": "odart.commands.decode",
    "demo": "odart.commands.demo",
    "edge": "odart.commands.edge",
    "privacy": "odart.commands.privacy",
    "replay": "odart.commands.replay",
    "server": "odart.commands.server",
    "simulate": "odart.commands.simulate",
}

EXIT_OK = 0
EXIT_USAGE = 2


def _load(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser, one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="odart",
        description="ODART: overdose detection and responder alerting.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in sorted(COMMANDS):
        module = _load(name)
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(child)
        child.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``odart`` with ``argv`` (default: the process arguments) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(int(args.verbose), 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped reading: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
