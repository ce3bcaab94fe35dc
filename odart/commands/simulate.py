"""``odart simulate SCENARIO``: run a scenario through the whole stack and check it (shell)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

HELP = "run a scenario (broker, server, edge, virtual devices and responders) and check it"

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="a scenario file, or the name of one in the library (see --list)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenario library and exit")
    parser.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per real second (default: the scenario's own)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON on stdout instead of text"
    )
    parser.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw signals and alerts into a PNG"
    )


def run(args: argparse.Namespace) -> int:
    """Run the scenario; exit 0 only when every expectation passed."""
    from odart.broker import BrokerError
    from odart.simulate import run_scenario
    from odart.simulate_library import library, resolve
    from simulators.scenario_fields import ScenarioError

    if args.list:
        for name, scenario in library().items():
            print(f"{name:<28} {scenario.duration_s:5.0f} s  {scenario.summary}")
        return EXIT_PASS
    if args.scenario is None:
        print("odart simulate: give a SCENARIO (or --list)", file=sys.stderr)
        return EXIT_USAGE
    if args.speed is not None and not 0 < args.speed <= 200:
        print("odart simulate: --speed must be within (0, 200]", file=sys.stderr)
        return EXIT_USAGE
    try:
        scenario = resolve(args.scenario)
    except ScenarioError as error:
        print(f"odart simulate: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not getattr(args, "verbose", 0):
        # The report tells every alert's story; the agent's and server's per-alert warnings
        # would only bury the progress lines.
        for name in ("edge", "server"):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        report = asyncio.run(run_scenario(scenario, speed=args.speed))
    except BrokerError as error:
        print(f"odart simulate: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.plot is not None:
        from odart.simulate_plot import plot

        plot(report, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.format())
    return EXIT_PASS if report.passed else EXIT_FAIL
