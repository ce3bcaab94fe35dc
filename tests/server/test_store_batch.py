"""Ingest's batches in the store: one commit for many, a failing message undone alone."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from server.store.db import Store

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


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
