"""Device events and edge states in the server database: stored once, the latest state kept (shell).

These are the routine writes a :meth:`~server.store.connection.Connection.batch` holds: each goes
through :meth:`~server.store.connection.Connection.write`, so inside a batch it does not commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from firmware_bridge.wire import format_utc
from server.store.connection import Connection


class DeviceRows(Connection):
    """The ``device_events`` and ``edges`` tables."""

    def stored_device_events(self, ids: Sequence[str]) -> int:
        """How many of these device-event ids are stored (checked after a batch's commit)."""
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        query = f"SELECT COUNT(*) FROM device_events WHERE id IN ({marks})"
        return int(self.db.execute(query, list(ids)).fetchone()[0])

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
