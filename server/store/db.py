"""The server's SQLite store through sqlite-utils: alerts, device events, edges, deliveries (shell).

All access happens on the server's event-loop thread, so there is exactly one writer (ingest
still checks its rows are stored before it acks, in case another coroutine's rollback took
them). Reads run without sqlite-utils' per-query savepoint (:class:`_Database`). Every
insert that de-duplicates does so on the edge-minted message id (a primary key), so a redelivered
message is one row.

A row that cannot be read back (a time out of range, an unknown kind: written by an older build
or by hand) is skipped with a logged reason, never raised: one bad row must not stop the alert
list, the timers or start-up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from firmware_bridge.wire import AlertKind, Severity, WireError, format_utc, parse_utc
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle, TimerKind
from server.store.migrations import migrate
from server.store.pushes import PushQueue, QueuedPush

_CLOSED = (AlertState.RESOLVED.value, AlertState.CANCELLED.value)
_LOGGER = logging.getLogger(__name__)


def make_private(path: Path) -> None:
    """Create the database file 0600 (its folder 0700), or tighten one others can read.

    The database holds sessions, identities and perhaps the action-link key: nobody but the
    server's user may read it. SQLite gives its -wal and -shm files the main file's mode.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = each.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            _LOGGER.warning("%s was readable by others (%s); made 0600", each, stat.filemode(mode))
            each.chmod(0o600)


_UNREADABLE = (WireError, ValueError, TypeError, KeyError)
"""What reading a bad row raises: a bad time (WireError), an unknown enum value or bad JSON
(ValueError), a wrongly typed or missing column (TypeError, KeyError)."""


class TokenAlreadyUsed(Exception):
    """An action link was used before; each works once."""


class BatchLost(Exception):
    """A message's failure undid the whole open batch; none of its messages may be acked."""


class _Database(sqlite_utils.Database):
    """sqlite-utils' database with reads that open no transaction of their own.

    sqlite-utils 4 wraps every ``query()`` in ``SAVEPOINT``/``RELEASE`` to undo a statement that
    returns no rows. All of ours are ``SELECT``s, and the savepoint made a read from another
    thread (a test's, or a request run outside the loop) fail with "no such savepoint" whenever
    the loop committed between its two statements. It also cost two statements per read.
    """

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> Generator[dict[str, Any], None, None]:
        """Run a ``SELECT`` and yield each row as a dict (fetched lazily).

        Raises:
            ValueError: the statement returns no rows (use ``execute``).
        """
        cursor = self.conn.execute(sql, params if params is not None else ())
        if cursor.description is None:
            raise ValueError(f"query() needs SQL that returns rows: {sql[:60]!r}")
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)


class Store:
    """The database, opened and migrated.

    Args:
        path: the SQLite file, or None for an in-memory database (tests).
    """

    def __init__(self, path: Path | None) -> None:
        # One writer (the event loop), but tests and the demo read from their own threads.
        if path is None:
            self.db = _Database(sqlite3.connect(":memory:", check_same_thread=False))
        else:
            make_private(path)
            self.db = _Database(sqlite3.connect(str(path), check_same_thread=False))
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: an ack goes to the edge only after the alert is on disk, so it must really be.
            self.db.execute("PRAGMA synchronous=FULL")
        migrate(self.db)
        self.pushes = PushQueue(self.db)
        self._batching = False
        self._unreadable: set[object] = set()
        """Rows already reported as unreadable: each is logged once, not at every read."""

    # -- batches of writes ----------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes, one transaction: the routine writes inside (device events, edge states,
        device health) do not commit each. The transaction is left open for :meth:`commit`
        (off the event loop); on an exception it is rolled back.

        The body must not await: no other coroutine may write while it runs. Wrap each
        message in :meth:`one` so a failing one is undone alone.
        """
        self._batching = True
        try:
            yield
        except BaseException:
            # Nothing of the batch is acked then: undo it so nothing half-written stays.
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
            raise
        finally:
            self._batching = False

    async def commit(self) -> None:
        """Commit the open transaction on the loop's own thread.

        A worker-thread commit raced the loop's other statements on the one shared connection
        (committing them early, or "cannot commit - no transaction is active"); the fsync that
        ``synchronous=FULL`` costs is the price of the single writer.
        """
        if self.db.conn.in_transaction:
            self.db.conn.commit()

    def stored_device_events(self, ids: Sequence[str]) -> int:
        """How many of these device-event ids are stored (checked after a batch's commit)."""
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        query = f"SELECT COUNT(*) FROM device_events WHERE id IN ({marks})"
        return int(self.db.execute(query, list(ids)).fetchone()[0])

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        """One message inside a :meth:`batch`: on an exception its writes alone are undone.

        Raises:
            BatchLost: the exception also ended the batch's transaction (a nested commit then a
                rollback), so writes of earlier messages in the batch may be gone.
        """
        if not self.db.conn.in_transaction:
            # Begun here, so the savepoint is nested and its RELEASE does not commit.
            self.db.execute("BEGIN")
        self.db.execute("SAVEPOINT one_message")
        try:
            yield
        except BaseException:
            try:
                self.db.execute("ROLLBACK TO one_message")
                self.db.execute("RELEASE one_message")
            except sqlite3.OperationalError as error:
                raise BatchLost from error
            raise
        else:
            with contextlib.suppress(sqlite3.OperationalError):  # a nested commit released it
                self.db.execute("RELEASE one_message")

    def write(self) -> contextlib.AbstractContextManager[object]:
        """A transaction for one write: committed at once, or at the end of the batch."""
        return contextlib.nullcontext() if self._batching else self.db.conn

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- alerts -------------------------------------------------------------------------------

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

    def secret(self, name: str, make: Callable[[], str]) -> str:
        """A named secret kept in the database, made with ``make`` the first time."""
        with self.db.conn:
            self.db.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", [name, make()]
            )
        return str(
            self.db.execute("SELECT value FROM secrets WHERE name = ?", [name]).fetchone()[0]
        )

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

    # -- timeline and deliveries ----------------------------------------------------------------

    def _timeline(self, alert_id: str, at: datetime, event: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO alert_timeline (alert_id, at, event, detail) VALUES (?, ?, ?, ?)",
            [alert_id, format_utc(at), event, detail],
        )

    def record_delivery(
        self,
        alert_id: str,
        responder_id: str,
        channel: str,
        ok: bool,
        at: datetime,
        detail: str = "",
    ) -> None:
        """Record one notification attempt and put it on the alert's timeline."""
        outcome = "delivered" if ok else "failed"
        with self.db.conn:
            self.db.execute(
                "INSERT INTO deliveries (alert_id, responder_id, channel, outcome, at, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [alert_id, responder_id, channel, outcome, format_utc(at), detail],
            )
            self._timeline(alert_id, at, f"notification_{outcome}", f"{responder_id} via {channel}")

    def deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """Delivery attempts for an alert, oldest first."""
        query = "SELECT * FROM deliveries WHERE alert_id = ? ORDER BY id"
        return list(self.db.query(query, [alert_id]))

    def delivery_counts(self, alert_ids: list[str]) -> dict[str, dict[str, int]]:
        """Delivered and failed attempt counts per alert id."""
        if not alert_ids:
            return {}
        marks = ", ".join("?" for _ in alert_ids)
        query = (
            f"SELECT alert_id, outcome, COUNT(*) AS n FROM deliveries "
            f"WHERE alert_id IN ({marks}) GROUP BY alert_id, outcome"
        )
        counts: dict[str, dict[str, int]] = {}
        for row in self.db.query(query, alert_ids):
            entry = counts.setdefault(row["alert_id"], {"delivered": 0, "failed": 0})
            entry[row["outcome"]] = row["n"]
        return counts

    def timeline(self, alert_id: str) -> list[dict[str, Any]]:
        """Everything that happened to an alert, oldest first."""
        query = "SELECT at, event, detail FROM alert_timeline WHERE alert_id = ? ORDER BY id"
        return list(self.db.query(query, [alert_id]))

    # -- device events and edges ----------------------------------------------------------------

    def insert_device_event(
        self,
        msg_id: str,
        site_id: str,
        edge_id: str,
        device_id: str | None,
        state: str,
        battery_pct: float | None,
        rssi_dbm: float | None,
        created_at: datetime,
        stored_at: datetime,
    ) -> bool:
        """Store a device state change once per message id."""
        with self.write():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO device_events (id, site_id, edge_id, device_id, state, "
                "battery_pct, rssi_dbm, created_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    msg_id,
                    site_id,
                    edge_id,
                    device_id,
                    state,
                    battery_pct,
                    rssi_dbm,
                    format_utc(created_at),
                    format_utc(stored_at),
                ],
            )
        return cursor.rowcount == 1

    def set_edge_status(
        self, site_id: str, edge_id: str, state: str, conn: str, at: datetime
    ) -> bool:
        """Record an edge's online state; a Last Will from an older connection is ignored.

        Returns:
            True if the stored state changed.
        """
        rows = list(
            self.db.query(
                "SELECT state, conn, offline_since FROM edges WHERE site_id = ? AND edge_id = ?",
                [site_id, edge_id],
            )
        )
        if rows and state == "offline" and rows[0]["conn"] > conn:
            return False  # the will of a connection older than the one now online
        if rows and (rows[0]["state"], rows[0]["conn"]) == (state, conn):
            return False
        offline_since: str | None = None
        if state == "offline":
            # A second will while already offline keeps the time the silence began.
            earlier = rows[0]["offline_since"] if rows and rows[0]["state"] == "offline" else None
            offline_since = earlier or format_utc(at)
        with self.write():
            self.db["edges"].upsert(  # type: ignore[union-attr]
                {
                    "site_id": site_id,
                    "edge_id": edge_id,
                    "state": state,
                    "conn": conn,
                    "updated_at": format_utc(at),
                    "offline_since": offline_since,
                },
                pk=("site_id", "edge_id"),
            )
        return True

    def edge_state(self, site_id: str, edge_id: str) -> str | None:
        """The last known state of an edge, or None if never seen."""
        row = self.db.execute(
            "SELECT state FROM edges WHERE site_id = ? AND edge_id = ?", [site_id, edge_id]
        ).fetchone()
        return None if row is None else str(row[0])

    def edges_offline_since(self, before: datetime) -> list[dict[str, Any]]:
        """Edges offline since before ``before``."""
        query = (
            "SELECT * FROM edges WHERE state = 'offline' AND offline_since IS NOT NULL "
            "AND offline_since <= ? ORDER BY site_id, edge_id"
        )
        return list(self.db.query(query, [format_utc(before)]))

    def edges(self) -> Iterator[dict[str, Any]]:
        """Known edges and their last state."""
        return self.db.query("SELECT * FROM edges ORDER BY site_id, edge_id")


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
