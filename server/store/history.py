"""Closed and open alerts for the history page and reports, with their response times (shell).

Read-only queries over ``alerts`` and ``alert_timeline``; the times come from the timeline the
escalator writes (``ack``, ``en_route``, ``on_scene``) and the alert's ``closed_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlite_utils

from firmware_bridge.wire import format_utc

HISTORY_LIMIT: Final = 500
"""Rows on one history page: a month of a busy hostel; narrow the filters for more."""


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which alerts to list; None means any.

    Attributes:
        site: a site id.
        kind: an alert kind.
        outcome: a resolve outcome, or ``open`` for alerts still open.
        since: detected at or after (UTC).
        until: detected before (UTC).
    """

    site: str | None = None
    kind: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_ACK_AT: Final = (
    "(SELECT MIN(t.at) FROM alert_timeline t "
    "WHERE t.alert_id = a.id AND t.event IN ('ack', 'en_route', 'on_scene')) AS ack_at"
)
_ON_SCENE_AT: Final = (
    "(SELECT MIN(t.at) FROM alert_timeline t "
    "WHERE t.alert_id = a.id AND t.event = 'on_scene') AS on_scene_at"
)


def history(
    db: sqlite_utils.Database, wanted: HistoryFilter, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """Alerts matching ``wanted``, newest first, each with ``ack_at``, ``on_scene_at``.

    ``ack_at`` is the first of acknowledge, on my way or on scene: whoever answered first.
    """
    where, params = [], []
    for column, value in (("a.site_id", wanted.site), ("a.kind", wanted.kind)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if wanted.outcome == "open":
        where.append("a.closed_at IS NULL")
    elif wanted.outcome:
        where.append("a.outcome = ?")
        params.append(wanted.outcome)
    if wanted.since is not None:
        where.append("a.detected_at >= ?")
        params.append(format_utc(wanted.since))
    if wanted.until is not None:
        where.append("a.detected_at < ?")
        params.append(format_utc(wanted.until))
    query = (
        "SELECT a.id, a.site_id, a.room_id, a.kind, a.severity, a.state, a.outcome, a.origin, "
        f"a.assignee, a.detected_at, a.closed_at, {_ACK_AT}, {_ON_SCENE_AT} "
        f"FROM alerts a {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY a.detected_at DESC, a.id DESC LIMIT ?"
    )
    return list(db.query(query, [*params, limit]))


def open_alerts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every alert not yet resolved or cancelled, oldest first (for the live board)."""
    query = (
        "SELECT id, site_id, edge_id, device_id, room_id, kind, severity, state, detected_at "
        "FROM alerts WHERE state NOT IN ('resolved', 'cancelled') ORDER BY detected_at"
    )
    return list(db.query(query))
