"""The alert timeline: each event of an alert's life, written in the caller's transaction (shell).

Alert writes and delivery records both put an entry on it, inside their own transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from firmware_bridge.wire import format_utc
from server.store.connection import Connection


class TimelineRows(Connection):
    """The ``alert_timeline`` table: one row per event in an alert's life."""

    def _timeline(self, alert_id: str, at: datetime, event: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO alert_timeline (alert_id, at, event, detail) VALUES (?, ?, ?, ?)",
            [alert_id, format_utc(at), event, detail],
        )

    def timeline(self, alert_id: str) -> list[dict[str, Any]]:
        """Everything that happened to an alert, oldest first."""
        query = "SELECT at, event, detail FROM alert_timeline WHERE alert_id = ? ORDER BY id"
        return list(self.db.query(query, [alert_id]))
