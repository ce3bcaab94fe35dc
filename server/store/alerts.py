"""Alert rows in the server database: stored once, moved through their lifecycle, read back (shell).

An alert is inserted once per edge-minted id, then changes only by compare-and-set on its
version, with its timeline entry and the pushes it causes in the same transaction. A row that
cannot be read back is skipped with a logged reason, never raised.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from firmware_bridge.wire import AlertKind, Severity, WireError, format_utc, parse_utc
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle, TimerKind
from server.store.pushes import QueuedPush
from server.store.timeline import TimelineRows

_CLOSED = (AlertState.RESOLVED.value, AlertState.CANCELLED.value)
_LOGGER = logging.getLogger(__name__)

_UNREADABLE = (WireError, ValueError, TypeError, KeyError)
"""What reading a bad row raises: a bad time (WireError), an unknown enum value or bad JSON
(ValueError), a wrongly typed or missing column (TypeError, KeyError)."""


class TokenAlreadyUsed(Exception):
    """An action link was used before; each works once."""


class AlertRows(TimelineRows):
    """The ``alerts`` table (and the ``used_tokens`` a transition claims)."""

    def insert_alert(
        self,
        alert: Alert,
        life: Lifecycle | None = None,
        note: str = "",
        pushes: Sequence[QueuedPush] = (),
    ) -> bool:
        """Store ``alert`` with its starting lifecycle and the pushes it causes, and commit.

        Returns:
            False (and nothing written) if an alert with its id is already stored.
        """
        life = life or Lifecycle(alert.state)
        row = {
            "id": alert.alert_id,
            "site_id": alert.site_id,
            "edge_id": alert.edge_id,
            "device_id": alert.device_id,
            "participant_id": alert.participant_id,
            "room_id": alert.room_id,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "detected_at": format_utc(alert.detected_at),
            "onset_at": format_utc(alert.onset_at),
            "published_at": None if alert.published_at is None else format_utc(alert.published_at),
            "stored_at": format_utc(alert.stored_at),
            "evidence": json.dumps(alert.evidence),
            "checkin_s": alert.checkin_s,
            "origin": alert.origin,
            **_life_columns(life),
        }
        with self.db.conn:
            cursor = self.db.execute(
                f"INSERT OR IGNORE INTO alerts ({', '.join(row)}) "
                f"VALUES ({', '.join('?' for _ in row)})",
                list(row.values()),
            )
            inserted = cursor.rowcount == 1
            if inserted:
                self._timeline(alert.alert_id, alert.stored_at, "stored", "")
                if note:
                    self._timeline(alert.alert_id, alert.stored_at, life.state.value, note)
                self.pushes.enqueue(pushes, alert.stored_at)
        return inserted

    # -- lifecycle ------------------------------------------------------------------------------

    def lifecycle(self, alert_id: str) -> tuple[Lifecycle, int] | None:
        """An alert's lifecycle and its version (for compare-and-set)."""
        rows = list(
            self.db.query(
                "SELECT state, level, cycle, deadline, timer, version FROM alerts WHERE id = ?",
                [alert_id],
            )
        )
        if not rows:
            return None
        row = rows[0]
        try:
            deadline = None if row["deadline"] is None else parse_utc(row["deadline"])
            timer = None if row["timer"] is None else TimerKind(row["timer"])
            life = Lifecycle(AlertState(row["state"]), row["level"], row["cycle"], deadline, timer)
            return life, int(row["version"])
        except _UNREADABLE as error:
            self._skip(alert_id, error)
            return None

    def commit_transition(
        self,
        alert_id: str,
        version: int,
        after: Lifecycle,
        at: datetime,
        event: str,
        detail: str = "",
        *,
        assignee: str | None = None,
        outcome: str | None = None,
        outcome_detail: dict[str, Any] | None = None,
        token_nonce: str | None = None,
        pushes: Sequence[QueuedPush] = (),
    ) -> bool:
        """Compare-and-set: apply ``after`` only if the alert is still at ``version``.

        The timeline entry, the claim of a single-use token, the pushes the change causes and
        the change itself commit together.

        Returns:
            False if another transition got there first (nothing written).

        Raises:
            TokenAlreadyUsed: ``token_nonce`` was used before (nothing written).
        """
        columns = _life_columns(after)
        if assignee is not None:
            columns["assignee"] = assignee
        if outcome is not None:
            columns["outcome"] = outcome
            columns["outcome_detail"] = json.dumps(outcome_detail or {})
        if after.state.value in _CLOSED:
            columns["closed_at"] = format_utc(at)
        sets = ", ".join(f"{name} = ?" for name in columns)
        with self.db.conn:
            if token_nonce is not None:
                try:
                    self.db.execute(
                        "INSERT INTO used_tokens (nonce, alert_id, used_at) VALUES (?, ?, ?)",
                        [token_nonce, alert_id, format_utc(at)],
                    )
                except sqlite3.IntegrityError:
                    raise TokenAlreadyUsed(token_nonce) from None
            cursor = self.db.execute(
                f"UPDATE alerts SET {sets}, version = version + 1 WHERE id = ? AND version = ?",
                [*columns.values(), alert_id, version],
            )
            if cursor.rowcount != 1:
                self.db.conn.rollback()
                return False
            self._timeline(alert_id, at, event, detail)
            self.pushes.enqueue(pushes, at)
        return True

    def note(
        self,
        alert_id: str,
        at: datetime,
        event: str,
        detail: str = "",
        pushes: Sequence[QueuedPush] = (),
    ) -> None:
        """Put an entry on an alert's timeline without changing it, with any pushes it causes."""
        with self.db.conn:
            self._timeline(alert_id, at, event, detail)
            self.pushes.enqueue(pushes, at)

    def due_alert_ids(self, now: datetime) -> list[str]:
        """Alerts whose pending timer is due at ``now``, most overdue first."""
        query = (
            "SELECT id FROM alerts WHERE deadline IS NOT NULL AND deadline <= ? ORDER BY deadline"
        )
        return [row["id"] for row in self.db.query(query, [format_utc(now)])]

    def open_alerts(self, kind: str, **match: str) -> list[Alert]:
        """Open alerts of ``kind`` whose columns equal ``match`` (e.g. edge_id="pi-1")."""
        where = " AND ".join(f"{name} = ?" for name in match)
        query = (
            f"SELECT * FROM alerts WHERE kind = ? AND state NOT IN (?, ?)"
            f"{' AND ' + where if where else ''} ORDER BY id"
        )
        return self._readable(self.db.query(query, [kind, *_CLOSED, *match.values()]))

    def signal_alerts(self, participant_id: str, since: datetime) -> list[Alert]:
        """One resident's ``no_signal`` and ``recovered`` alerts that may matter from ``since``
        on: those detected since, and warnings detected before that were still open then (open
        now, or closed since). Oldest first."""
        at = format_utc(since)
        query = (
            "SELECT * FROM alerts WHERE participant_id = ? AND kind IN ('no_signal', 'recovered') "
            "AND (detected_at >= ? OR (kind = 'no_signal' AND (closed_at >= ? "
            "OR state NOT IN (?, ?)))) ORDER BY detected_at, id"
        )
        return self._readable(self.db.query(query, [participant_id, at, at, *_CLOSED]))

    def alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        found = self._readable(self.db.query("SELECT * FROM alerts WHERE id = ?", [alert_id]))
        return found[0] if found else None

    def alert_owner(self, alert_id: str) -> tuple[str, str, str] | None:
        """Who raised an alert: (site, edge, origin), or None if no such alert is stored."""
        row = self.db.execute(
            "SELECT site_id, edge_id, origin FROM alerts WHERE id = ?", [alert_id]
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    def alerts(self, limit: int = 100) -> list[Alert]:
        """Newest alerts first."""
        query = "SELECT * FROM alerts ORDER BY id DESC LIMIT ?"
        return self._readable(self.db.query(query, [limit]))

    def alerts_without_deliveries(self) -> list[Alert]:
        """Triggered alerts with no push ever queued or attempted (stored before the queue)."""
        query = (
            "SELECT * FROM alerts WHERE state = 'triggered' AND id NOT IN "
            "(SELECT DISTINCT alert_id FROM deliveries) AND id NOT IN "
            "(SELECT DISTINCT alert_id FROM pushes) ORDER BY id"
        )
        return self._readable(self.db.query(query))

    def count_alerts(self) -> int:
        """How many alerts are stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])

    def _readable(self, rows: Iterable[dict[str, Any]]) -> list[Alert]:
        """The alerts these rows hold; a row that cannot be read is skipped with a reason."""
        alerts = []
        for row in rows:
            try:
                alerts.append(_alert_from_row(row))
            except _UNREADABLE as error:
                self._skip(row.get("id"), error)
        return alerts

    def _skip(self, alert_id: object, error: Exception) -> None:
        if alert_id in self._unreadable:
            return
        self._unreadable.add(alert_id)
        # The reason names the field (WireError) or the error type, never the stored value.
        reason = str(error) if isinstance(error, WireError) else type(error).__name__
        _LOGGER.warning("alert %r cannot be read back (%s); skipped", alert_id, reason)


def _alert_from_row(row: dict[str, Any]) -> Alert:
    published = row["published_at"]
    return Alert(
        alert_id=row["id"],
        site_id=row["site_id"],
        edge_id=row["edge_id"],
        kind=AlertKind(row["kind"]),
        severity=Severity(row["severity"]),
        detected_at=parse_utc(row["detected_at"]),
        onset_at=parse_utc(row["onset_at"]),
        stored_at=parse_utc(row["stored_at"]),
        device_id=row["device_id"],
        participant_id=row["participant_id"],
        room_id=row["room_id"],
        published_at=None if published is None else parse_utc(published),
        evidence=json.loads(row["evidence"]),
        state=AlertState(row["state"]),
        checkin_s=row["checkin_s"],
        level=row["level"],
        deadline=None if row["deadline"] is None else parse_utc(row["deadline"]),
        assignee=row["assignee"],
        outcome=row["outcome"],
        origin=row["origin"],
    )


def _life_columns(life: Lifecycle) -> dict[str, Any]:
    return {
        "state": life.state.value,
        "level": life.level,
        "cycle": life.cycle,
        "deadline": None if life.deadline is None else format_utc(life.deadline),
        "timer": None if life.timer is None else life.timer.value,
    }
