"""The durable outbox: every message for the server waits here until the server acks it (shell).

A message is written (and fsynced) before it is first published, and deleted only when the
server's application-level ack arrives, which the server sends after its own database commit.
A broker PUBACK is not enough: mosquitto can drop PUBACKed messages when a client queue is full,
and loses its queue when killed between autosaves (see docs/wire.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from firmware_bridge.wire import Envelope, decode_envelope, encode_envelope

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    msg_id      TEXT PRIMARY KEY,   -- ULID: sorts by creation time
    payload     BLOB NOT NULL,      -- the encoded envelope, without sent_at
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_s  REAL NOT NULL DEFAULT 0  -- monotonic seconds of the process that last tried
)
"""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message waiting for the server's ack."""

    envelope: Envelope
    attempts: int


class Outbox:
    """A SQLite table of messages not yet acknowledged by the server.

    Args:
        path: database file; ``":memory:"`` for a throw-away outbox (tests only).
    """

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None)
        # WAL + synchronous=FULL: a put() that returned survives power loss, which is the point.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        # Attempt timers belong to the process that set them; a restart retries everything now.
        self._db.execute("UPDATE outbox SET next_try_s = 0")

    def close(self) -> None:
        """Close the database; the rows stay on disk."""
        self._db.close()

    def put(self, envelope: Envelope) -> bool:
        """Store a message durably; returns False if one with its id is already waiting."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox (msg_id, payload) VALUES (?, ?)",
            (envelope.msg_id, encode_envelope(envelope)),
        )
        return cursor.rowcount == 1

    def due(self, now_s: float, limit: int = 50) -> list[OutboxEntry]:
        """Messages whose next attempt is due at monotonic time ``now_s``, oldest first."""
        rows = self._db.execute(
            "SELECT payload, attempts FROM outbox WHERE next_try_s <= ? ORDER BY msg_id LIMIT ?",
            (now_s, limit),
        ).fetchall()
        return [OutboxEntry(decode_envelope(payload), attempts) for payload, attempts in rows]

    def record_attempt(self, msg_id: str, next_try_s: float) -> None:
        """Count a publish of ``msg_id`` and hold it back until ``next_try_s`` (monotonic)."""
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_try_s = ? WHERE msg_id = ?",
            (next_try_s, msg_id),
        )

    def delete(self, msg_id: str) -> bool:
        """Forget a message the server has acknowledged; False if it was not waiting."""
        cursor = self._db.execute("DELETE FROM outbox WHERE msg_id = ?", (msg_id,))
        return cursor.rowcount == 1

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def __contains__(self, msg_id: object) -> bool:
        row = self._db.execute("SELECT 1 FROM outbox WHERE msg_id = ?", (msg_id,)).fetchone()
        return row is not None
