"""The publisher against a real Mosquitto: a bounded window, alerts jump it, acks pace it.

The test stands in for the server with a subscriber that acks by hand, per docs/wire.md.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.flow import WINDOW
from edge.outbox import Outbox
from edge.publisher import MqttSettings, Publisher
from firmware_bridge import wire
from firmware_bridge.log_budget import PER_WINDOW
from odart.broker import MosquittoBroker
from tests.mqtt_probe import MqttProbe

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
BACKLOG = 300
_ACK_IDS = itertools.count(1)


def _message(n: int, kind: wire.MessageKind) -> wire.Envelope:
    body: wire.Body = (
        wire.AlertBody(wire.AlertKind.BUTTON, wire.Severity.CRITICAL, NOW, NOW)
        if kind is wire.MessageKind.ALERT
        else wire.DeviceBody("connected")
    )
    return wire.Envelope(
        msg_id=wire.encode_ulid(1_700_000_000_000 + n, n),
        kind=kind,
        site_id="s1",
        edge_id="e1",
        created_at=NOW,
        body=body,
        device_id="w1",
    )


def _ack(probe: MqttProbe, msg_id: str) -> None:
    ack = wire.Envelope(
        msg_id=wire.encode_ulid(1_800_000_000_000, next(_ACK_IDS)),
        kind=wire.MessageKind.ACK,
        site_id="s1",
        edge_id="e1",
        created_at=NOW,
        body=wire.AckBody(msg_id, NOW),
    )
    probe.publish(str(ack.topic), wire.encode_envelope(ack))


def _ids(probe: MqttProbe) -> list[str]:
    return [json.loads(payload)["id"] for _, payload, _ in list(probe.messages)]


async def _until(predicate: object, timeout_s: float = 20.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)  # the probe lives on paho's thread: poll it
    return True


def test_publisher_keeps_a_bounded_window_lets_an_alert_jump_it_and_never_resends(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    for n in range(BACKLOG):
        outbox.put(_message(n, wire.MessageKind.DEVICE))
    alert = _message(10_000, wire.MessageKind.ALERT)
    events = (wire.topic_filter(wire.TopicKind.EVENT), wire.topic_filter(wire.TopicKind.ALERT))

    async def main(probe: MqttProbe) -> Publisher:
        publisher = Publisher(MqttSettings(mosquitto.host, mosquitto.port), "s1", "e1", outbox)
        task = asyncio.create_task(publisher.run())
        try:
            # Nobody acks yet: the edge stops at a full window instead of sending everything.
            assert await _until(lambda: len(probe.messages) >= WINDOW)
            await asyncio.sleep(1.0)
            assert len(probe.messages) == WINDOW
            # A new alert jumps the backlog and the full window (it has slots of its own).
            outbox.put(alert)
            publisher.wake()
            assert await _until(lambda: len(probe.messages) > WINDOW)
            assert _ids(probe)[WINDOW] == alert.msg_id
            # Acks pace the rest: everything drains, each message published once.
            acked: set[str] = set()

            def ack_new() -> bool:
                for msg_id in _ids(probe):
                    if msg_id not in acked:
                        acked.add(msg_id)
                        _ack(probe, msg_id)
                return len(outbox) == 0

            assert await _until(ack_new, timeout_s=60)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return publisher

    with MqttProbe(mosquitto.host, mosquitto.port, *events) as probe:
        publisher = asyncio.run(main(probe))
    ids = _ids(probe)
    assert len(ids) == len(set(ids)) == BACKLOG + 1  # no message went twice
    assert publisher.published == BACKLOG + 1
    outbox.close()


def _junk_then_ack(
    tmp_path: Path, mosquitto: MosquittoBroker, junk: list[tuple[str, bytes]]
) -> dict[str, object]:
    """Publish ``junk`` (topic, payload) to a running publisher with one alert out, then the
    alert's ack; return the publisher's health once the ack has emptied the outbox."""
    outbox = Outbox(tmp_path / "outbox.db")
    alert = _message(1, wire.MessageKind.ALERT)
    outbox.put(alert)

    async def main(probe: MqttProbe) -> dict[str, object]:
        publisher = Publisher(MqttSettings(mosquitto.host, mosquitto.port), "s1", "e1", outbox)
        task = asyncio.create_task(publisher.run())
        try:
            assert await _until(lambda: alert.msg_id in _ids(probe))
            for topic, payload in junk:
                probe.publish(topic, payload)
            _ack(probe, alert.msg_id)
            assert await _until(lambda: len(outbox) == 0)  # the loop read on past the junk
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return publisher.health()

    try:
        with MqttProbe(
            mosquitto.host, mosquitto.port, wire.topic_filter(wire.TopicKind.ALERT)
        ) as probe:
            return asyncio.run(main(probe))
    finally:
        outbox.close()


def test_publisher_counts_bad_acks_and_commands_in_its_health_and_takes_the_next_ack(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    payloads = (b"", b"\xff\xfe", b"[" * 3000, b'{"schema": NaN}')
    topics = ("odart/v1/s1/e1/ack", "odart/v1/s1/e1/cmd")
    junk = list(itertools.product(topics, payloads))
    health = _junk_then_ack(tmp_path, mosquitto, junk)
    assert health["rejected"] == len(junk)  # counted where operators look


def test_a_flood_of_bad_acks_logs_a_few_lines_and_counts_every_one(
    tmp_path: Path, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken or hostile sender on the ack topic cannot fill the Pi's disk with log lines:
    the first few say why, the rest are counted in the health file."""
    caplog.set_level(logging.WARNING, logger="edge.publisher")
    flood = [("odart/v1/s1/e1/ack", b'{"schema": 3, "n": %d, "n": 0}' % n) for n in range(300)]
    health = _junk_then_ack(tmp_path, mosquitto, flood)
    assert health["rejected"] == len(flood)
    lines = [r.getMessage() for r in caplog.records if "rejected message" in r.getMessage()]
    assert len(lines) == PER_WINDOW
    assert all("a key repeats" in line for line in lines)  # the reason, never the payload
