"""The durable outbox: every message for the server waits here until the server acks it (shell).

A message is written (and fsynced) before it is first published, and deleted only when the
server's application-level ack arrives, which the server sends after its own database commit.
A broker PUBACK is not enough: mosquitto can drop PUBACKed messages when a client queue is full,
and loses its queue when killed between autosaves (see docs/wire.md).

Alerts (and their updates) come out first: :meth:`Outbox.due` orders by priority, then by id,
so a new alert jumps a backlog of device messages.

When the disk is full (or the database cannot be written) nothing is dropped and nothing
raises: a message that cannot be written is kept in memory (durability degraded) and is still
handed out by :meth:`Outbox.due`; acks and attempt counts that cannot be written are kept in
memory too. :meth:`Outbox.flush` writes them back once space returns, and :attr:`Outbox.degraded`
says whether anything is held only in memory.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Final

from firmware_bridge.wire import Envelope, MessageKind, decode_envelope, encode_envelope

_LOGGER = logging.getLogger(__name__)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    msg_id      TEXT PRIMARY KEY,   -- ULID: sorts by creation time
    payload     BLOB NOT NULL,      -- the encoded envelope, without sent_at
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_s  REAL NOT NULL DEFAULT 0,  -- monotonic seconds of the process that last tried
    priority    INTEGER NOT NULL DEFAULT 1  -- Priority: 0 alert traffic, 1 routine
)
"""
_INDEX: Final = "CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, msg_id)"

MAX_ROUTINE_IN_MEMORY: Final = 10_000
"""Routine (device) messages held in memory while the disk is full, at ~400 bytes each about
4 MB: past this the oldest are dropped, counted and logged. Alerts and updates are never
dropped."""

_UNBOUND_VARIABLES: Final = 500
"""Ids per ``IN (...)`` statement: below SQLite's historical 999-variable limit."""


class Priority(IntEnum):
    """Send order: lower first."""

    ALERT = 0
    """Alerts and their updates (a check-in expiring pages responders)."""
    ROUTINE = 1
    """Device states and everything else."""


def priority_of(kind: MessageKind) -> Priority:
    """Alerts and alert updates go before anything else."""
    return Priority.ALERT if kind in (MessageKind.ALERT, MessageKind.UPDATE) else Priority.ROUTINE


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message waiting for the server's ack."""

    envelope: Envelope
    attempts: int

    @property
    def priority(self) -> Priority:
        """Where this message stands in the send order."""
        return priority_of(self.envelope.kind)


def _is_disk_full(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    # SQLITE_FULL, or an I/O error (ENOSPC on a WAL append can surface as SQLITE_IOERR_WRITE).
    return code is not None and (code & 0xFF) in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


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
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "priority" not in columns:  # an outbox written before priorities existed
            self._db.execute("ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 1")
            self._db.execute(
                "UPDATE outbox SET priority = 0 WHERE CAST(payload AS TEXT) LIKE ?"
                " OR CAST(payload AS TEXT) LIKE ?",
                ('%"type":"alert"%', '%"type":"update"%'),
            )
        self._db.execute(_INDEX)
        # Attempt timers belong to the process that set them; a restart retries everything now.
        self._db.execute("UPDATE outbox SET next_try_s = 0")
        self._memory: dict[str, OutboxEntry] = {}
        """Messages that could not be written: held here until :meth:`flush` writes them."""
        self._acked: set[str] = set()
        """Acked ids whose delete could not be written: hidden, deleted again by :meth:`flush`."""
        self._acks: set[str] = set()
        """Acked ids not yet deleted: hidden now, deleted together by :meth:`commit_acks`."""
        self._attempts: dict[str, int] = {}
        """Publishes not yet counted on disk."""
        self.write_error: str | None = None
        """Why the last write failed (None once a write succeeded again)."""
        self.disk_full = False
        """The last write failed for want of space."""
        self.dropped_routine = 0
        """Routine messages dropped from memory past :data:`MAX_ROUTINE_IN_MEMORY`."""
        self.write_failures = 0

    def close(self) -> None:
        """Close the database; the rows stay on disk (rows held only in memory are lost)."""
        if self._memory:
            _LOGGER.error("closing with %d message(s) never written to disk", len(self._memory))
        self._db.close()

    @property
    def degraded(self) -> bool:
        """Something is held only in memory, or the last write failed."""
        return bool(self._memory or self._acked or self._attempts) or self.write_error is not None

    @property
    def in_memory(self) -> int:
        """Messages held only in memory."""
        return len(self._memory)

    def health(self) -> dict[str, object]:
        """This component's state for the health file."""
        state = "ok"
        if self.degraded:
            state = "disk_full" if self.disk_full or self.write_error is None else "write_error"
        return {
            "state": state,
            "waiting": len(self),
            "in_memory": self.in_memory,
            "dropped_routine": self.dropped_routine,
            "error": self.write_error,
        }

    # -- writes that never raise ---------------------------------------------------------------

    def _write(self, what: str, sql: str, rows: Iterable[tuple[object, ...]]) -> int | None:
        """Run one write transaction; on failure record why and return None (never raises)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            count = self._db.executemany(sql, rows).rowcount
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    _LOGGER.exception("outbox: rollback failed")
            self.write_failures += 1
            full = _is_disk_full(error)
            if self.write_error is None:
                _LOGGER.error(  # noqa: TRY400 - an expected condition, reported, not a crash
                    "outbox: cannot %s (%s); keeping it in memory until the disk has room",
                    what,
                    error,
                )
            self.write_error, self.disk_full = str(error), full
            return None
        if self.write_error is not None:
            _LOGGER.warning("outbox: writes succeed again")
        self.write_error, self.disk_full = None, False
        return count

    def put(self, envelope: Envelope) -> bool:
        """Store a message durably; returns False if one with its id is already waiting.

        When it cannot be written it is kept in memory instead (and still returns True): it is
        sent like any other and written back by :meth:`flush` once the disk has room.
        """
        msg_id = envelope.msg_id
        if msg_id in self._memory:
            return False
        priority = priority_of(envelope.kind)
        count = self._write(
            "store a message",
            "INSERT OR IGNORE INTO outbox (msg_id, payload, priority) VALUES (?, ?, ?)",
            [(msg_id, encode_envelope(envelope), int(priority))],
        )
        if count is not None:
            return count == 1
        self._hold(OutboxEntry(envelope, 0))
        return True

    def _hold(self, entry: OutboxEntry) -> None:
        self._memory[entry.envelope.msg_id] = entry
        if entry.priority is Priority.ALERT:
            return
        routine = [i for i, e in self._memory.items() if e.priority is Priority.ROUTINE]
        if len(routine) > MAX_ROUTINE_IN_MEMORY:
            oldest = routine[0]
            del self._memory[oldest]
            self.dropped_routine += 1
            _LOGGER.warning("outbox: memory full, dropped routine message %s", oldest)

    def record_attempt(self, msg_id: str, next_try_s: float) -> None:
        """Count a publish of ``msg_id`` and hold it back until ``next_try_s`` (monotonic)."""
        if msg_id in self._memory:
            entry = self._memory[msg_id]
            self._memory[msg_id] = OutboxEntry(entry.envelope, entry.attempts + 1)
            return
        count = self._write(
            "count an attempt",
            "UPDATE outbox SET attempts = attempts + 1, next_try_s = ? WHERE msg_id = ?",
            [(next_try_s, msg_id)],
        )
        if count is None:
            self._attempts[msg_id] = self._attempts.get(msg_id, 0) + 1

    def record_attempts(self, msg_ids: Iterable[str]) -> None:
        """Count one publish of each of ``msg_ids``, in one transaction."""
        on_disk: list[str] = []
        for msg_id in msg_ids:
            if msg_id in self._memory:
                self.record_attempt(msg_id, 0.0)
            else:
                on_disk.append(msg_id)
        if not on_disk:
            return
        for msg_id in on_disk:
            self._attempts[msg_id] = self._attempts.get(msg_id, 0) + 1
        self._write_attempts()

    def _write_attempts(self) -> None:
        pending = dict(self._attempts)
        count = self._write(
            "count attempts",
            "UPDATE outbox SET attempts = attempts + ? WHERE msg_id = ?",
            [(n, msg_id) for msg_id, n in pending.items()],
        )
        if count is not None:
            for msg_id in pending:
                self._attempts.pop(msg_id, None)

    def delete(self, msg_id: str) -> bool:
        """Forget a message the server has acknowledged; False if it was not waiting."""
        return self.delete_many([msg_id]) == 1

    def ack(self, msg_id: str) -> None:
        """The server acked ``msg_id``: it is gone from now on; :meth:`commit_acks` deletes it.

        Acks arrive one by one, often hundreds a second; deleting them in one transaction
        later saves an fsync per message.
        """
        if self._memory.pop(msg_id, None) is None and msg_id in self:
            self._acks.add(msg_id)

    def commit_acks(self) -> int:
        """Delete every acked message in one transaction; returns how many."""
        if not self._acks:
            return 0
        acks, self._acks = self._acks, set()
        return self.delete_many(acks)

    def delete_many(self, msg_ids: Iterable[str]) -> int:
        """Forget messages the server has acknowledged, in one transaction; returns how many.

        A delete that cannot be written is remembered: the message is no longer handed out and
        :meth:`flush` deletes it later (a message delivered twice is stored once by the server).
        """
        ids = list(dict.fromkeys(msg_ids))
        self._acks.difference_update(ids)
        gone = 0
        on_disk: list[str] = []
        for msg_id in ids:
            if self._memory.pop(msg_id, None) is not None:
                gone += 1
            elif msg_id not in self._acked:
                on_disk.append(msg_id)
        if not on_disk:
            return gone
        waiting = self._existing(on_disk)
        count = self._write(
            "delete acked messages", "DELETE FROM outbox WHERE msg_id = ?", [(i,) for i in waiting]
        )
        for msg_id in waiting:
            self._attempts.pop(msg_id, None)
        if count is None:
            self._acked.update(waiting)
        return gone + len(waiting)

    def _existing(self, msg_ids: list[str]) -> list[str]:
        found: set[str] = set()
        for start in range(0, len(msg_ids), _UNBOUND_VARIABLES):
            chunk = msg_ids[start : start + _UNBOUND_VARIABLES]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT msg_id FROM outbox WHERE msg_id IN ({marks})"
            found.update(row[0] for row in self._db.execute(query, chunk))
        return [msg_id for msg_id in msg_ids if msg_id in found]

    def flush(self) -> bool:
        """Write back what is held in memory; returns True when nothing is left there."""
        if self._acked:
            acked = sorted(self._acked)
            if (
                self._write(
                    "delete acked messages",
                    "DELETE FROM outbox WHERE msg_id = ?",
                    [(i,) for i in acked],
                )
                is not None
            ):
                self._acked.difference_update(acked)
        if self._attempts:
            self._write_attempts()
        if self._memory:
            held = sorted(self._memory.values(), key=lambda e: e.envelope.msg_id)
            count = self._write(
                "write back messages held in memory",
                "INSERT OR IGNORE INTO outbox (msg_id, payload, attempts, priority)"
                " VALUES (?, ?, ?, ?)",
                [
                    (e.envelope.msg_id, encode_envelope(e.envelope), e.attempts, int(e.priority))
                    for e in held
                ],
            )
            if count is not None:
                for entry in held:
                    self._memory.pop(entry.envelope.msg_id, None)
                _LOGGER.warning("outbox: %d message(s) held in memory are on disk again", len(held))
        return not self.degraded

    # -- reads ---------------------------------------------------------------------------------

    def due(
        self,
        now_s: float,
        limit: int = 50,
        *,
        skip: frozenset[str] | set[str] = frozenset(),
        priority: Priority = Priority.ROUTINE,
    ) -> list[OutboxEntry]:
        """Messages whose next attempt is due at monotonic time ``now_s``, alerts first.

        Within a priority the oldest comes first. ``skip`` leaves out ids the caller already
        has in flight; ``priority=Priority.ALERT`` returns alert traffic only.
        """
        hidden = self._acked | self._acks
        extra = len(skip) + len(hidden)
        rows = self._db.execute(
            "SELECT msg_id, payload, attempts, priority FROM outbox"
            " WHERE next_try_s <= ? AND priority <= ? ORDER BY priority, msg_id LIMIT ?",
            (now_s, int(priority), limit + extra),
        ).fetchall()
        keyed: list[tuple[int, str, bytes | None, OutboxEntry | None, int]] = [
            (priority, msg_id, payload, None, attempts)
            for msg_id, payload, attempts, priority in rows
            if msg_id not in skip and msg_id not in hidden
        ]
        keyed += [
            (int(e.priority), i, None, e, e.attempts)
            for i, e in self._memory.items()
            if i not in skip and e.priority <= priority
        ]
        keyed.sort(key=lambda item: (item[0], item[1]))
        due: list[OutboxEntry] = []
        for _, msg_id, payload, entry, attempts in keyed[:limit]:
            if entry is None:
                assert payload is not None
                entry = OutboxEntry(
                    decode_envelope(payload), attempts + self._attempts.get(msg_id, 0)
                )
            due.append(entry)
        return due

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count) - len(self._acked) - len(self._acks) + len(self._memory)

    def __contains__(self, msg_id: object) -> bool:
        if msg_id in self._memory:
            return True
        if msg_id in self._acked or msg_id in self._acks:
            return False
        row = self._db.execute("SELECT 1 FROM outbox WHERE msg_id = ?", (msg_id,)).fetchone()
        return row is not None
