"""The outbox keeps every message until the server acks it, across restarts."""

from __future__ import annotations

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
