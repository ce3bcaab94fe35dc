"""``odart bench backlog``: the edge's backlog drain rate, and the wait of an alert behind it.

Starts Mosquitto on a free loopback port and a subscriber process that acks every event the way
the server does (docs/wire.md: an ``ack`` envelope on the edge's ``ack`` topic, QoS 1). Fills a
real on-disk outbox with N device messages (as after a network outage), starts the edge's real
:class:`~edge.publisher.Publisher`, and once the first ack is back queues one alert behind the
backlog. It prints:

- the drain rate (messages acked per second over the whole backlog);
- the alert's latency from ``outbox.put`` to the server's ack deleting it (issue 15: <= 1 s
  behind 10,000 messages);
- publishes per message (1.0 means no message was sent twice).

Only the public API shared by every version of the outbox and publisher is used, so the same
script measures an older checkout (``PYTHONPATH=/path/to/old/checkout python bench/...``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

SITE: Final = "bench-site"
EDGE: Final = "bench-edge"
TARGET_ALERT_S: Final = 1.0
"""Issue 15: an alert behind a 10,000-message edge backlog reaches the server within 1 s."""
POLL_S: Final = 0.002
"""How often the bench looks for the alert's ack (the figure's resolution)."""


def acker(host: str, port: int) -> int:
    """Subscriber process: ack every event at once, as the server does after its commit."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from firmware_bridge import wire

    minter = wire.IdMinter()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-acker")
    client.max_inflight_messages_set(1000)

    def on_connect(c: mqtt.Client, *_: object) -> None:
        c.subscribe(wire.topic_filter(wire.TopicKind.EVENT), qos=1)
        c.subscribe(wire.topic_filter(wire.TopicKind.ALERT), qos=1)
        print("ready", flush=True)

    def on_message(c: mqtt.Client, _: object, message: mqtt.MQTTMessage) -> None:
        document = json.loads(message.payload)
        now = datetime.now(UTC)
        ack = wire.Envelope(
            msg_id=minter.mint(int(now.timestamp() * 1000), os.urandom(10)),
            kind=wire.MessageKind.ACK,
            site_id=document["site"],
            edge_id=document["edge"],
            created_at=now,
            body=wire.AckBody(document["id"], now),
        )
        c.publish(str(ack.topic), wire.encode_envelope(ack), qos=1)

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(host, port, keepalive=30)
    client.loop_forever()
    return 0


def _envelope(kind: str, n: int, now: datetime) -> Any:
    from firmware_bridge import wire

    msg_id = wire.encode_ulid(int(now.timestamp() * 1000), n)
    if kind == "alert":
        body: Any = wire.AlertBody(wire.AlertKind.APNOEA, wire.Severity.CRITICAL, now, now)
        message_kind = wire.MessageKind.ALERT
    else:
        body = wire.DeviceBody("connected", battery_pct=80.0, rssi_dbm=-60.0)
        message_kind = wire.MessageKind.DEVICE
    return wire.Envelope(
        msg_id=msg_id,
        kind=message_kind,
        site_id=SITE,
        edge_id=EDGE,
        created_at=now,
        body=body,
        device_id=f"wearable-{n % 20}",
    )


async def _measure(host: str, port: int, outbox_path: Path, backlog: int) -> dict[str, float]:
    from edge.outbox import Outbox
    from edge.publisher import MqttSettings, Publisher

    outbox = Outbox(outbox_path)
    start = datetime.now(UTC)
    filled_at = time.monotonic()
    for n in range(backlog):
        outbox.put(_envelope("device", n, start))
    fill_s = time.monotonic() - filled_at
    publisher = Publisher(MqttSettings(host, port), SITE, EDGE, outbox)
    task = asyncio.create_task(publisher.run())
    try:
        began = time.monotonic()
        # Polling: the outbox's public API has no event to wait on (and older versions neither).
        while len(outbox) >= backlog:  # noqa: ASYNC110 - the first ack: the drain is under way
            await asyncio.sleep(POLL_S)
        alert = _envelope("alert", backlog + 1, datetime.now(UTC))
        queued = time.monotonic()
        outbox.put(alert)
        publisher.wake()
        ahead = len(outbox) - 1
        while alert.msg_id in outbox:  # noqa: ASYNC110 - see above
            await asyncio.sleep(POLL_S)
        alert_s = time.monotonic() - queued
        while len(outbox) > 0:  # noqa: ASYNC110 - see above
            await asyncio.sleep(0.01)
        drained_s = time.monotonic() - began
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        outbox.close()
    return {
        "backlog": backlog,
        "fill_s": round(fill_s, 2),
        "drain_s": round(drained_s, 2),
        "drain_rate_per_s": round((backlog + 1) / drained_s, 1),
        "alert_ahead": ahead,
        "alert_latency_s": round(alert_s, 3),
        "publishes_per_message": round(publisher.published / (backlog + 1), 3),
    }


def run(argv: list[str]) -> int:
    """Run the benchmark; exit 1 when the alert missed the target (with ``--check``)."""
    parser = argparse.ArgumentParser(prog="odart bench backlog", description=__doc__)
    parser.add_argument("--backlog", type=int, default=10_000, help="messages ahead (10000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 if the alert took over {TARGET_ALERT_S} s"
    )
    parser.add_argument("--acker", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.acker:
        return acker(args.acker[0], int(args.acker[1]))

    from odart.broker import MosquittoBroker

    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        ack_process = subprocess.Popen(
            [sys.executable, __file__, "--acker", broker.host, str(broker.port)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        try:
            assert ack_process.stdout is not None
            if ack_process.stdout.readline().strip() != "ready":
                print("odart bench backlog: the acking subscriber did not start", file=sys.stderr)
                return 2
            figures = asyncio.run(
                _measure(broker.host, broker.port, Path(tmp) / "outbox.db", args.backlog)
            )
        finally:
            ack_process.terminate()
            ack_process.wait(10)
    import edge

    figures["edge_code"] = str(Path(edge.__file__).parent.parent)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"backlog             {figures['backlog']} device messages")
        print(f"drain rate          {figures['drain_rate_per_s']} messages/s")
        print(
            f"alert latency       {figures['alert_latency_s']} s behind "
            f"{figures['alert_ahead']} messages (target <= {TARGET_ALERT_S} s)"
        )
        print(f"publishes/message   {figures['publishes_per_message']}")
        print(f"outbox fill         {figures['fill_s']} s; code from {figures['edge_code']}")
    if args.check and figures["alert_latency_s"] > TARGET_ALERT_S:
        return 1
    return 0


if __name__ == "__main__":  # the acking subscriber runs as its own process
    sys.exit(run(sys.argv[1:]))
