"""The ``odart`` entry point: one sub-command per module in :mod:`odart.commands` (shell).

Each command module defines ``HELP`` (one line), ``configure(parser)`` and ``run(args) -> int``.
Command modules keep heavy imports inside ``run`` so that ``odart --help`` stays fast, and
``main`` imports only the module of the command it runs, so that ``odart edge`` on a Pi never
loads what the server or the benchmarks need.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from odart.extras import missing_extra_message

# Sub-command name -> module. Keep sorted; tests/test_cli.py checks every entry answers --help.
COMMANDS: dict[str, str] = {
    "admin": "odart.commands.admin",
    "audit": "odart.commands.audit",
    "backup": "odart.commands.backup",
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


def version() -> str:
    """The installed distribution's version (``unknown`` when run from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("odart")
    except PackageNotFoundError:
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version``: look the version up only when asked (the metadata scan is not free)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        sys.stdout.write(f"odart {version()}\n")
        parser.exit()


def _chosen(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first non-option word), or ``None`` if it names none."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the argument parser: one sub-parser per command, or for command ``only`` alone."""
    parser = argparse.ArgumentParser(
        prog="odart",
        description="ODART: overdose detection and responder alerting.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in sorted(COMMANDS):
        if only is not None and name != only:
            continue
        module = _load(name)
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(child)
        child.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``odart`` with ``argv`` (default: the process arguments) and return the exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_chosen(words))
    args = parser.parse_args(words)
    level = logging.WARNING - 10 * min(int(args.verbose), 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as error:  # a command whose extra is not installed
        message = missing_extra_message(str(args.command), error.name)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped reading: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
