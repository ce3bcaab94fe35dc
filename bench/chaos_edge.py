"""A chaos-run edge: the real outbox and publisher, fed a seeded stream of alerts (bench, shell).

Run as ``python -m bench.chaos_edge`` by :mod:`bench.chaos`, which SIGKILLs and restarts it.
Alert ``i`` always has the same id (from ``--base-ms`` and the index), so an alert put again
after a kill is the same alert; each id is written to the ledger only after the outbox holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from edge.outbox import Outbox
from edge.publisher import MqttSettings, Publisher
from firmware_bridge import wire

SITE = "hostel-1"
EDGE = "pi-1"


def alert(index: int, base_ms: int) -> wire.Envelope:
    """Alert number ``index`` of a run: the same id every time it is made."""
    now = datetime.now(UTC)
    return wire.Envelope(
        msg_id=wire.encode_ulid(base_ms + index, index + 1),
        kind=wire.MessageKind.ALERT,
        site_id=SITE,
        edge_id=EDGE,
        created_at=now,
        body=wire.AlertBody(
            wire.AlertKind.APNOEA,
            wire.Severity.CRITICAL,
            now,
            now - timedelta(seconds=15),
            room_id="room-3",
        ),
    )


async def generate(
    args: argparse.Namespace, done: int, ledger: TextIO, outbox: Outbox, publisher: Publisher
) -> None:
    """Put the alerts after the first ``done`` (already in the ledger), at seeded intervals."""
    gaps = random.Random(args.seed)
    for index in range(args.alerts):
        gap = gaps.uniform(0.5, 1.5) * args.every_s
        if index < done:
            continue
        await asyncio.sleep(gap)
        envelope = alert(index, args.base_ms)
        outbox.put(envelope)
        publisher.wake()
        ledger.write(envelope.msg_id + "\n")
        ledger.flush()
        os.fsync(ledger.fileno())


async def main(args: argparse.Namespace, done: int, ledger: TextIO) -> None:
    """Generate and publish until killed."""
    outbox = Outbox(args.outbox)
    publisher = Publisher(MqttSettings(args.host, args.port), SITE, EDGE, outbox)
    async with asyncio.TaskGroup() as group:
        group.create_task(publisher.run())
        group.create_task(generate(args, done, ledger, outbox, publisher))


def entry(args: argparse.Namespace) -> None:
    """Resume after the alerts the ledger already has, and run until killed."""
    path = Path(args.ledger)
    done = len(path.read_text().split()) if path.exists() else 0
    with path.open("a") as ledger:
        asyncio.run(main(args, done, ledger))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_edge")
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alerts", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--base-ms", type=int, required=True)
    parser.add_argument("--every-s", type=float, default=0.3)
    return parser.parse_args(argv)


if __name__ == "__main__":
    entry(parse())
