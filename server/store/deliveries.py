"""Notification attempts in the server database: recorded, counted, put on the timeline (shell)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from firmware_bridge.wire import format_utc
from server.store.timeline import TimelineRows


class DeliveryRows(TimelineRows):
    """The ``deliveries`` table: one row per attempt to notify a responder."""

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
