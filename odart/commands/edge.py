"""``odart edge``: run the edge agent (device links, detector, outbox, publisher) from a config."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HELP = "run the edge agent for one site from its config file"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("--config", type=Path, required=True, help="edge config (TOML)")
    parser.add_argument(
        "--speed", type=float, help="pace of virtual devices, simulated seconds per second"
    )


def run(args: argparse.Namespace) -> int:
    """Check the config, then run until interrupted."""
    from edge.agent import EdgeAgent
    from edge.config import EdgeConfigError, load_config
    from edge.outbox import Outbox
    from odart.links import LinkFactory, build_links

    try:
        config = load_config(args.config)
        factory = LinkFactory.for_config(config, speed=args.speed)
        links = build_links(config, factory=factory)
    except EdgeConfigError as error:
        print(f"odart edge: {error}", file=sys.stderr)
        return 2
    config.outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(config.outbox)
    agent = EdgeAgent(config, links, outbox, link_builder=factory.build)
    try:
        asyncio.run(agent.run())
    finally:
        outbox.close()
    return 0
