"""``odart edge``: run the edge agent from a config; ``odart edge scan``: list nearby BLE devices.

``odart edge --config edge.toml`` builds every device's link from the config (BLE wearables,
UART radars, GPIO and zigbee2mqtt doors, simulated devices), then runs until interrupted,
printing each link's state to stderr every ``--status-every`` seconds. A bad config stops it with
exit code 2 and one line naming the key and the reason.

``odart edge health --config edge.toml`` checks a running agent's health file instead: exit 0
when it is fresh and every component is up, 1 (printing why) otherwise (see :mod:`edge.health`).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from edge.agent import EdgeAgent
    from edge.config import EdgeConfig

HELP = "run the edge agent for one site from its config (or: odart edge scan, odart edge health)"

DEFAULT_STATUS_EVERY_S: Final = 60.0
"""Often enough for an installer watching the journal, rare enough not to flood it overnight."""
EXIT_CONFIG: Final = 2
EXIT_UNHEALTHY: Final = 1


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "action",
        nargs="?",
        choices=("run", "scan", "health"),
        default="run",
        help="run the agent (default), scan for nearby BLE devices and their models, or check"
        " a running agent's health file (exit 1 when stale or a component is down)",
    )
    parser.add_argument(
        "--config", type=Path, help="edge config (TOML); needed to run and for health"
    )
    parser.add_argument(
        "--speed", type=float, help="pace of virtual devices, simulated seconds per second"
    )
    parser.add_argument(
        "--status-every",
        type=float,
        default=DEFAULT_STATUS_EVERY_S,
        metavar="SECONDS",
        help="print each link's state this often (0: never; default %(default)s)",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="scan: how long to listen (default 10)"
    )
    parser.add_argument(
        "--adapter", help="scan: the Bluetooth adapter, e.g. hci0 (default: the config's)"
    )


def run(args: argparse.Namespace) -> int:
    """Scan, or check the config and run until interrupted."""
    from edge.config import EdgeConfigError, load_config

    try:
        config = load_config(args.config) if args.config else None
    except EdgeConfigError as error:
        print(f"odart edge: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if args.action == "scan":
        return _scan(args, config)
    if config is None:
        print(f"odart edge: --config is needed to {args.action} the agent", file=sys.stderr)
        return EXIT_CONFIG
    if args.action == "health":
        return _health(config)
    return _run(args, config)


def _health(config: EdgeConfig) -> int:
    from datetime import UTC, datetime

    from edge.health import read_and_check

    verdict = read_and_check(config.health_file, datetime.now(UTC))
    for reason in verdict.reasons:
        print(reason)
    print("ok" if verdict.ok else "unhealthy")
    return 0 if verdict.ok else EXIT_UNHEALTHY


def _scan(args: argparse.Namespace, config: EdgeConfig | None) -> int:
    from edge.ble_scan import ScanError, format_table, scan

    adapter = args.adapter or (config.ble.adapter if config else None)
    try:
        sightings = asyncio.run(scan(args.seconds, adapter))
    except ScanError as error:
        print(f"odart edge scan: {error}", file=sys.stderr)
        return EXIT_UNHEALTHY
    for line in format_table(sightings):
        print(line)
    return 0


def _run(args: argparse.Namespace, config: EdgeConfig) -> int:
    from edge.agent import EdgeAgent
    from edge.config import EdgeConfigError
    from edge.outbox import Outbox
    from odart.links import LinkFactory, build_links

    try:
        factory = LinkFactory.for_config(config, speed=args.speed)
        links = build_links(config, factory=factory)
    except EdgeConfigError as error:
        print(f"odart edge: {error}", file=sys.stderr)
        return EXIT_CONFIG
    config.outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(config.outbox)
    kept = config.outbox.with_name(config.outbox.stem + "-devices.json")
    agent = EdgeAgent(config, links, outbox, link_builder=factory.build, device_list_file=kept)
    try:
        asyncio.run(until_terminated(_serve(agent, args.status_every)))
    finally:
        outbox.close()
    return 0


async def _serve(agent: EdgeAgent, status_every_s: float) -> None:
    async with asyncio.TaskGroup() as group:
        group.create_task(agent.run())
        if status_every_s > 0:
            group.create_task(_report(agent, status_every_s))


async def _report(agent: EdgeAgent, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        for line in link_lines(agent):
            print(f"odart edge: {line}", file=sys.stderr, flush=True)


def link_lines(agent: EdgeAgent) -> list[str]:
    """One line per running link: its model, link state, blocks, battery and signal."""
    lines = []
    for link in agent.links:
        device = agent.device(link.device_id)
        if device is None:
            continue
        status = agent.link_status.get(device.id)
        parts = [
            "never connected" if status is None else status.state.value,
            f"{agent.link_blocks[device.id]} blocks",
        ]
        if status is not None and status.battery_pct is not None:
            parts.append(f"battery {status.battery_pct} %")
        if status is not None and status.rssi_dbm is not None:
            parts.append(f"rssi {status.rssi_dbm} dBm")
        if device.role.value == "wearable":
            possible = agent.checkin_possible(device.id)
            parts.append("check-in " + ("possible" if possible else "not possible"))
        model = device.model.value if device.model else device.link.value
        lines.append(f"link {device.id} ({model}): {', '.join(parts)}")
    return lines


async def until_terminated(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends or SIGTERM (``systemctl stop``) arrives, then cancel it.

    Cancelling lets every task close its links and the publisher send nothing half-written;
    the caller then closes the outbox. SIGINT keeps asyncio's own handling (KeyboardInterrupt).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(work)
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        waiter.cancel()
        if not task.done():
            task.cancel()
        await asyncio.wait({task, waiter})
    if not task.cancelled():
        task.result()  # re-raise what stopped the agent on its own
