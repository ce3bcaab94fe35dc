"""Alerts are read before routine messages; a batch undoes a failing message alone."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import aiomqtt
import pytest

from firmware_bridge import wire
from server.ingest_queue import AlertsFirstQueue, is_urgent
from server.store.db import Store

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _message(kind: wire.MessageKind, body: wire.Body, n: int) -> aiomqtt.Message:
    envelope = wire.Envelope(
        wire.encode_ulid(1_700_000_000_000 + n, n), kind, "hostel-1", "pi-1", NOW, body
    )
    return aiomqtt.Message(
        str(envelope.topic),
        wire.encode_envelope(envelope),
        qos=1,
        retain=False,
        mid=n,
        properties=None,
    )


def _alert(n: int) -> aiomqtt.Message:
    body = wire.AlertBody(wire.AlertKind.APNOEA, wire.Severity.CRITICAL, NOW, NOW)
    return _message(wire.MessageKind.ALERT, body, n)


def _device(n: int) -> aiomqtt.Message:
    return _message(wire.MessageKind.DEVICE, wire.DeviceBody("connected", 80.0), n)


def test_an_alert_behind_a_thousand_routine_messages_is_read_first() -> None:
    async def order() -> list[int]:
        queue = AlertsFirstQueue()
        for n in range(1, 1001):
            queue.put_nowait(_device(n))
        queue.put_nowait(_alert(2000))
        queue.put_nowait(_device(1001))
        queue.put_nowait(_alert(2001))
        assert queue.routine_waiting == 1001
        return [queue.get_nowait().mid for _ in range(4)]

    assert asyncio.run(order()) == [2000, 2001, 1, 2]  # alerts first, each class in order


def test_only_alerts_and_updates_on_the_event_topic_are_urgent() -> None:
    assert is_urgent(str(_alert(1).topic), _alert(1).payload)  # type: ignore[arg-type]
    assert not is_urgent(str(_device(1).topic), _device(1).payload)  # type: ignore[arg-type]
    assert not is_urgent("odart/v1/hostel-1/pi-1/status", b'{"type":"alert"}')


def test_a_failing_message_in_a_batch_is_undone_alone_and_the_rest_commit_once() -> None:
    store = Store(None)

    def device(msg_id: str, *, then_fail: bool = False) -> None:
        store.insert_device_event(
            msg_id, "hostel-1", "pi-1", "w-1", "connected", 80.0, -60.0, NOW, NOW
        )
        if then_fail:
            raise ValueError("the handler broke after writing")

    async def scenario() -> None:
        with store.batch():
            for n in range(3):
                try:
                    with store.one():
                        device(f"m{n}", then_fail=n == 1)
                except ValueError:
                    pass
            assert store.db.conn.in_transaction  # one commit for the batch, still to come
        await store.commit()

    asyncio.run(scenario())
    assert not store.db.conn.in_transaction
    assert store.stored_device_events(["m0", "m1", "m2"]) == 2
    rows = [r[0] for r in store.db.execute("SELECT id FROM device_events ORDER BY id")]
    assert rows == ["m0", "m2"]


def test_an_exception_escaping_a_batch_rolls_it_back() -> None:
    store = Store(None)

    def write_then_break() -> None:
        with store.batch(), store.one():
            store.insert_device_event(
                "m0", "hostel-1", "pi-1", "w-1", "connected", 80.0, None, NOW, NOW
            )
            store.db.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError):
        write_then_break()
    assert store.stored_device_events(["m0"]) == 0
