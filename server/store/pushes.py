"""The durable send queue: pushes wait here, written with the transition causing them (shell).

:meth:`PushQueue.enqueue` runs inside the caller's transaction (an alert's insert or a lifecycle
compare-and-set), so a committed transition always has its pushes on disk. The sender takes
pending rows oldest first and :meth:`PushQueue.finish` records every channel attempt and the
row's result together. A row still pending at start-up was cut off by a crash: it is sent again
(at least once; its stable ``key`` lets a phone show it once).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

import sqlite_utils

from firmware_bridge.wire import format_utc, parse_utc
from server.domain.alerts import Push, PushAction
from server.notify.base import Delivery

MAX_BATCH: Final = 64
"""Pending rows read per pass; a larger backlog is read in the next pass."""


class Purpose(StrEnum):
    """Why a push is sent."""

    PAGE = "page"
    """An escalation level (or a repeat) is paged."""
    CLAIM = "claim"
    """Someone took the alert: the others are told."""
    NOTICE = "notice"
    """A technical alert for staff (device health, nobody reachable)."""
    DRILL = "drill"
    """A drill's test alert came back: the site's drill channel is told (never a responder)."""


class PushState(StrEnum):
    """Where a queued push is."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class QueuedPush:
    """One push to one responder, as it waits in the queue."""

    key: str
    alert_id: str
    responder_id: str
    purpose: Purpose
    level: int
    cycle: int
    push: Push
    seq: int = 0
    attempts: int = 0
    queued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LevelOutcome:
    """How the pages of one (alert, level, cycle) fared so far."""

    total: int
    pending: int
    failed: int

    @property
    def nobody_reached(self) -> bool:
        """Every page at the level was tried and every one failed on every channel."""
        return self.total > 0 and self.pending == 0 and self.failed == self.total


def push_key(
    alert_id: str, purpose: Purpose, level: int, cycle: int, responder_id: str, about: str = ""
) -> str:
    """The stable key of a push: the same page to the same person is the same key."""
    parts = [alert_id, purpose.value, str(level), str(cycle), responder_id]
    return ".".join([*parts, about] if about else parts)


class PushQueue:
    """The ``pushes`` table.

    Args:
        db: the server database (migrated).
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def enqueue(self, pushes: Iterable[QueuedPush], at: datetime) -> int:
        """Queue ``pushes``; the CALLER holds the transaction. A key already queued is skipped.

        Returns:
            How many rows were added.
        """
        added = 0
        for queued in pushes:
            push = queued.push
            actions = [[a.label, a.url, a.post] for a in push.actions]
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO pushes (key, alert_id, responder_id, purpose, level, cycle, "
                "title, body, actions, click_url, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    queued.key,
                    queued.alert_id,
                    queued.responder_id,
                    queued.purpose.value,
                    queued.level,
                    queued.cycle,
                    push.title,
                    push.body,
                    json.dumps(actions),
                    push.click_url,
                    format_utc(at),
                ],
            )
            added += cursor.rowcount
        return added

    def pending(self, skip: Sequence[int] = (), limit: int = MAX_BATCH) -> list[QueuedPush]:
        """Pending pushes oldest first, leaving out the ``skip`` sequence numbers (in flight)."""
        marks = ", ".join("?" for _ in skip)
        query = (
            "SELECT * FROM pushes WHERE state = 'pending'"
            + (f" AND seq NOT IN ({marks})" if skip else "")
            + " ORDER BY seq LIMIT ?"
        )
        return self._rows(query, [*skip, limit])

    def finish(self, queued: QueuedPush, attempts: Sequence[Delivery], at: datetime) -> PushState:
        """Record every channel attempt and the push's result in one transaction.

        Returns:
            SENT if a channel accepted it, otherwise FAILED.
        """
        state = PushState.SENT if any(a.ok for a in attempts) else PushState.FAILED
        detail = "; ".join(f"{a.channel}: {a.detail}" for a in attempts if not a.ok)
        when = format_utc(at)
        with self._db.conn:
            for attempt in attempts:
                outcome = "delivered" if attempt.ok else "failed"
                self._db.execute(
                    "INSERT INTO deliveries (alert_id, responder_id, channel, outcome, at, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        queued.alert_id,
                        queued.responder_id,
                        attempt.channel,
                        outcome,
                        when,
                        attempt.detail,
                    ],
                )
                # The alert's timeline, as server.store.db.Store writes it.
                self._db.execute(
                    "INSERT INTO alert_timeline (alert_id, at, event, detail) VALUES (?, ?, ?, ?)",
                    [
                        queued.alert_id,
                        when,
                        f"notification_{outcome}",
                        f"{queued.responder_id} via {attempt.channel}",
                    ],
                )
            self._db.execute(
                "UPDATE pushes SET state = ?, attempts = attempts + 1, done_at = ?, detail = ? "
                "WHERE seq = ?",
                [state.value, when, detail or ("no channel" if not attempts else ""), queued.seq],
            )
        return state

    def level_outcome(self, alert_id: str, level: int, cycle: int) -> LevelOutcome:
        """How the pages of ``alert_id`` at (``level``, ``cycle``) fared."""
        row = self._db.execute(
            "SELECT COUNT(*), SUM(state = 'pending'), SUM(state = 'failed') FROM pushes "
            "WHERE alert_id = ? AND purpose = 'page' AND level = ? AND cycle = ?",
            [alert_id, level, cycle],
        ).fetchone()
        return LevelOutcome(int(row[0]), int(row[1] or 0), int(row[2] or 0))

    def counts(self) -> dict[str, int]:
        """Queued pushes by state (pending is the queue depth)."""
        counts = {state.value: 0 for state in PushState}
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM pushes GROUP BY state"):
            counts[str(state)] = int(n)
        return counts

    def of_alert(self, alert_id: str) -> list[QueuedPush]:
        """Every push queued for an alert, in send order."""
        return self._rows("SELECT * FROM pushes WHERE alert_id = ? ORDER BY seq", [alert_id])

    def _rows(self, query: str, params: list[object]) -> list[QueuedPush]:
        # A plain cursor, not sqlite-utils' query(): that wraps each read in a named savepoint,
        # which a second thread on the same connection (a test, the demo) can release under it.
        cursor = self._db.execute(query, params)
        names = [d[0] for d in cursor.description]
        return [_from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _from_row(row: dict[str, object]) -> QueuedPush:
    actions = tuple(
        PushAction(str(label), str(url), bool(post))
        for label, url, post in json.loads(str(row["actions"]))
    )
    click = row["click_url"]
    return QueuedPush(
        key=str(row["key"]),
        alert_id=str(row["alert_id"]),
        responder_id=str(row["responder_id"]),
        purpose=Purpose(str(row["purpose"])),
        level=int(str(row["level"])),
        cycle=int(str(row["cycle"])),
        push=Push(
            str(row["title"]),
            str(row["body"]),
            actions,
            None if click is None else str(click),
            key=str(row["key"]),
        ),
        seq=int(str(row["seq"])),
        attempts=int(str(row["attempts"])),
        queued_at=parse_utc(str(row["queued_at"])),
    )
