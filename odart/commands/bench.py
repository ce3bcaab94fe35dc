"""``odart bench TARGET``: run a benchmark from the source tree's ``bench/`` folder (shell).

Benchmarks are a small registry: each target names a module that defines
``run(argv: list[str]) -> int``. Benchmarks need the optional ``bench`` extra
(``pip install -e '.[bench]'``) and a source checkout, since ``bench/`` is not installed.
Add a target by adding a line to :data:`TARGETS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

HELP = (
    "run a benchmark (targets: backlog, chaos, detector, edge-rss, fuzz, links, load);"
    " print figures"
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2

# Target name -> (module, one-line description). Keep sorted.
TARGETS: dict[str, tuple[str, str]] = {
    "backlog": (
        "bench.edge_backlog",
        "edge backlog drain rate and the latency of an alert queued behind it (real Mosquitto)",
    ),
    "chaos": (
        "bench.chaos",
        "SIGKILL broker, server and edge at random over N alerts: stored, pushed, lost, drain",
    ),
    "detector": (
        "bench.detector.run",
        "apnoea/slowed-breathing detector vs NeuroKit2 on synthetic and real belt data",
    ),
    "edge-rss": ("bench.edge_rss", "resident memory of a real `odart edge` with 20 wearables"),
    "fuzz": (
        "bench.fuzz",
        "random and mutated frames through the wire decoder and every codec; crashes must be 0",
    ),
    "links": (
        "bench.edge_links",
        "edge RSS with 20 BLE links on BlueZoo next to 20 virtual ones",
    ),
    "load": (
        "bench.load",
        "alert latency, ingest vs bare broker, loop lag and RSS of the server under load",
    ),
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the TARGET argument; the rest of the command line goes to the target."""
    parser.add_argument(
        "target",
        metavar="TARGET",
        choices=sorted(TARGETS),
        help="; ".join(f"{name}: {desc}" for name, (_, desc) in sorted(TARGETS.items())),
    )
    parser.add_argument(
        "target_args",
        metavar="ARGS",
        nargs=argparse.REMAINDER,
        help="options for the target (try: odart bench detector --help)",
    )


def _source_root() -> Path | None:
    """The checkout holding ``bench/``, if this package runs from one."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "bench").is_dir() else None


def run(args: argparse.Namespace) -> int:
    """Import the target's module and hand it the remaining arguments."""
    module_name, _ = TARGETS[args.target]
    root = _source_root()
    if root is None:
        print(
            "odart bench: benchmarks run from a source checkout (no bench/ folder found)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        print(f"odart bench: {exc}; install the extra: pip install -e '.[bench]'", file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(module.run(list(args.target_args)))
