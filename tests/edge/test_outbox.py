"""The outbox keeps every message until the server acks it, across restarts."""

from __future__ import annotations

import errno
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from edge.outbox import Outbox
from firmware_bridge import wire

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _envelope(n: int) -> wire.Envelope:
    return wire.Envelope(
        msg_id=wire.encode_ulid(1_700_000_000_000 + n, n),
        kind=wire.MessageKind.ALERT,
        site_id="s1",
        edge_id="e1",
        created_at=NOW,
        body=wire.AlertBody(wire.AlertKind.APNOEA, wire.Severity.CRITICAL, NOW, NOW),
    )


def test_outbox_survives_reopen_until_acked(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    assert box.put(_envelope(1))
    assert box.put(_envelope(2))
    box.record_attempt(_envelope(1).msg_id, next_try_s=1e12)
    box.close()

    reopened = Outbox(path)
    # A restart makes everything due again, oldest first, with its attempt count kept.
    due = reopened.due(now_s=0.0)
    assert [entry.envelope for entry in due] == [_envelope(1), _envelope(2)]
    assert [entry.attempts for entry in due] == [1, 0]
    assert reopened.delete(_envelope(1).msg_id)
    assert not reopened.delete(_envelope(1).msg_id)
    assert len(reopened) == 1
    assert _envelope(2).msg_id in reopened


def test_outbox_put_is_idempotent_by_id(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    assert box.put(_envelope(7))
    assert not box.put(_envelope(7))
    assert len(box) == 1


def test_outbox_holds_back_messages_until_their_retry_time(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.put(_envelope(1))
    box.record_attempt(_envelope(1).msg_id, next_try_s=100.0)
    assert box.due(now_s=99.0) == []
    assert len(box.due(now_s=100.0)) == 1


def _device(n: int) -> wire.Envelope:
    return wire.Envelope(
        msg_id=wire.encode_ulid(1_700_000_000_000 + n, n),
        kind=wire.MessageKind.DEVICE,
        site_id="s1",
        edge_id="e1",
        created_at=NOW,
        body=wire.DeviceBody("connected"),
        device_id="w1",
    )


def test_outbox_hands_out_a_new_alert_before_an_older_backlog(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for n in range(1, 201):
        box.put(_device(n))
    box.put(_envelope(500))  # the newest message, but an alert
    due = box.due(now_s=0.0, limit=3)
    assert [entry.envelope.msg_id for entry in due] == [
        _envelope(500).msg_id,
        _device(1).msg_id,
        _device(2).msg_id,
    ]
    skipped = box.due(now_s=0.0, limit=2, skip={_envelope(500).msg_id, _device(1).msg_id})
    assert [entry.envelope.msg_id for entry in skipped] == [_device(2).msg_id, _device(3).msg_id]


def test_outbox_gives_alerts_priority_in_an_outbox_written_before_priorities(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE outbox (msg_id TEXT PRIMARY KEY, payload BLOB NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, next_try_s REAL NOT NULL DEFAULT 0)"
        )
        for envelope in (_device(1), _envelope(2)):
            db.execute(
                "INSERT INTO outbox (msg_id, payload) VALUES (?, ?)",
                (envelope.msg_id, wire.encode_envelope(envelope)),
            )
    box = Outbox(path)
    assert [e.envelope for e in box.due(now_s=0.0)] == [_envelope(2), _device(1)]


def _fill(directory: Path) -> Path:
    """Write a file until the file system is full; return it (delete it to free the space)."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as file:
        for _ in range(1 << 20):  # bounded: 64 GiB would be far beyond any test file system
            try:
                file.write(chunk)
                file.flush()
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                return filler
    message = f"{directory} never filled up"
    raise AssertionError(message)


def test_outbox_on_a_full_disk_keeps_messages_in_memory_and_writes_them_back(
    small_tmpfs: Path,
) -> None:
    box = Outbox(small_tmpfs / "outbox.db")
    assert box.put(_device(1))
    filler = _fill(small_tmpfs)
    # Nothing raises and nothing is lost: what cannot be written waits in memory.
    stored = [box.put(_envelope(n)) for n in range(2, 202)]
    assert all(stored)
    assert box.degraded
    assert box.disk_full
    assert box.in_memory > 0
    due = box.due(now_s=0.0, limit=1000)
    assert [e.envelope.msg_id for e in due] == [_envelope(n).msg_id for n in range(2, 202)] + [
        _device(1).msg_id
    ]
    box.record_attempts(e.envelope.msg_id for e in due)  # never raises either
    assert box.delete(_device(1).msg_id)  # an ack on a full disk is remembered
    assert _device(1).msg_id not in box
    assert len(box) == 200
    assert not box.flush()  # still full

    filler.unlink()
    assert box.flush()
    assert not box.degraded
    assert box.in_memory == 0
    box.close()
    reopened = Outbox(small_tmpfs / "outbox.db")
    due = reopened.due(now_s=0.0, limit=1000)
    assert [e.envelope.msg_id for e in due] == [_envelope(n).msg_id for n in range(2, 202)]
    assert all(entry.attempts == 1 for entry in due)


def test_outbox_ack_hides_a_message_at_once_and_commit_deletes_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = Outbox(path)
    for n in range(1, 4):
        box.put(_envelope(n))
    box.ack(_envelope(1).msg_id)
    box.ack(_envelope(2).msg_id)
    box.ack(_envelope(99).msg_id)  # an ack for something long gone changes nothing
    assert len(box) == 1
    assert _envelope(1).msg_id not in box
    assert [e.envelope for e in box.due(now_s=0.0)] == [_envelope(3)]
    assert box.commit_acks() == 2
    box.close()
    assert len(Outbox(path)) == 1
