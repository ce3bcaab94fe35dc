"""The server's SQLite store through sqlite-utils: alerts, device events, edges, deliveries (shell).

All access happens on the server's event-loop thread, so there is exactly one writer. Every
insert that de-duplicates does so on the edge-minted message id (a primary key), so a redelivered
message is one row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from firmware_bridge.wire import AlertKind, Severity, format_utc, parse_utc
from server.domain.alerts import Alert, AlertState
from server.store.migrations import migrate


class Store:
    """The database, opened and migrated.

    Args:
        path: the SQLite file, or None for an in-memory database (tests).
    """

    def __init__(self, path: Path | None) -> None:
        # One writer (the event loop), but tests and the demo read from their own threads.
        if path is None:
            self.db = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(sqlite3.connect(str(path), check_same_thread=False))
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: an ack goes to the edge only after the alert is on disk, so it must really be.
            self.db.execute("PRAGMA synchronous=FULL")
        migrate(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- alerts -------------------------------------------------------------------------------

    def insert_alert(self, alert: Alert) -> bool:
        """Store ``alert`` and commit; False (and nothing written) if its id is already stored."""
        row = {
            "id": alert.alert_id,
            "site_id": alert.site_id,
            "edge_id": alert.edge_id,
            "device_id": alert.device_id,
            "participant_id": alert.participant_id,
            "room_id": alert.room_id,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "state": alert.state.value,
            "detected_at": format_utc(alert.detected_at),
            "onset_at": format_utc(alert.onset_at),
            "published_at": None if alert.published_at is None else format_utc(alert.published_at),
            "stored_at": format_utc(alert.stored_at),
            "evidence": json.dumps(alert.evidence),
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
        return inserted

    def alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        rows = list(self.db.query("SELECT * FROM alerts WHERE id = ?", [alert_id]))
        return _alert_from_row(rows[0]) if rows else None

    def alerts(self, limit: int = 100) -> list[Alert]:
        """Newest alerts first."""
        query = "SELECT * FROM alerts ORDER BY id DESC LIMIT ?"
        return [_alert_from_row(row) for row in self.db.query(query, [limit])]

    def alerts_without_deliveries(self) -> list[Alert]:
        """Open alerts that no notification was ever attempted for (oldest first)."""
        query = (
            "SELECT * FROM alerts WHERE state = 'triggered' AND id NOT IN "
            "(SELECT DISTINCT alert_id FROM deliveries) ORDER BY id"
        )
        return [_alert_from_row(row) for row in self.db.query(query)]

    def count_alerts(self) -> int:
        """How many alerts are stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])

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
        with self.db.conn:
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
                "SELECT state, conn FROM edges WHERE site_id = ? AND edge_id = ?",
                [site_id, edge_id],
            )
        )
        if rows and state == "offline" and rows[0]["conn"] > conn:
            return False  # the will of a connection older than the one now online
        if rows and (rows[0]["state"], rows[0]["conn"]) == (state, conn):
            return False
        with self.db.conn:
            self.db["edges"].upsert(  # type: ignore[union-attr]
                {
                    "site_id": site_id,
                    "edge_id": edge_id,
                    "state": state,
                    "conn": conn,
                    "updated_at": format_utc(at),
                },
                pk=("site_id", "edge_id"),
            )
        return True

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
    )
