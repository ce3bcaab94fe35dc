"""JSON API and the live event stream (shell)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Final

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from firmware_bridge.wire import format_utc
from server.auth.models import Role, User
from server.domain.alerts import KIND_LABELS, Alert
from server.web.deps import AnyUser, AuditDep, StoreDep, context_of, hub_of, users_of

router = APIRouter(prefix="/api")

HEARTBEAT_S: Final = 15.0
"""An SSE comment this often keeps proxies from closing an idle stream and reveals dead panels."""


PERSONAL_FIELDS: Final = frozenset({"participant", "evidence"})
"""Fields that are personal data: only in an alert's own view, and only after an audit row."""
STAFF_ONLY_FIELDS: Final = frozenset({"participant"})
"""Fields a responder never sees: they go to a room, not to a pseudonym."""


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert with every field (pseudonymous ids only); callers trim it for the reader."""
    return {
        "id": alert.alert_id,
        "site": alert.site_id,
        "edge": alert.edge_id,
        "device": alert.device_id,
        "participant": alert.participant_id,
        "room": alert.room_id,
        "kind": alert.kind.value,
        "label": KIND_LABELS[alert.kind],
        "severity": alert.severity.value,
        "state": alert.state.value,
        "detected_at": format_utc(alert.detected_at),
        "onset_at": format_utc(alert.onset_at),
        "published_at": None if alert.published_at is None else format_utc(alert.published_at),
        "stored_at": format_utc(alert.stored_at),
        "evidence": alert.evidence,
        "level": alert.level,
        "deadline": None if alert.deadline is None else format_utc(alert.deadline),
        "assignee": alert.assignee,
        "outcome": alert.outcome,
        "origin": alert.origin,
        "checkin_s": alert.checkin_s,
    }


def alert_summary(alert: Alert) -> dict[str, Any]:
    """An alert for lists and live updates: no personal fields, so no audit row is needed."""
    return {k: v for k, v in alert_json(alert).items() if k not in PERSONAL_FIELDS}


def alert_for(user: User, alert: Alert) -> dict[str, Any]:
    """An alert's own view as ``user`` may see it."""
    hidden = STAFF_ONLY_FIELDS if user.role is Role.RESPONDER else frozenset()
    return {k: v for k, v in alert_json(alert).items() if k not in hidden}


@router.get("/alerts")
async def list_alerts(
    request: Request,
    store: StoreDep,
    user: AnyUser,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Newest alerts first, each with its count of delivered and failed notifications."""
    del user
    alerts = store.alerts(limit)
    counts = store.delivery_counts([alert.alert_id for alert in alerts])
    empty = {"delivered": 0, "failed": 0}
    return [
        {
            **alert_summary(alert),
            "room_label": _room_label(request, alert),
            "notifications": counts.get(alert.alert_id, empty),
        }
        for alert in alerts
    ]


def _room_label(request: Request, alert: Alert) -> str:
    return context_of(request).settings.room_label(alert.site_id, alert.room_id)


@router.get("/alerts/{alert_id}")
async def get_alert(
    request: Request, alert_id: str, store: StoreDep, user: AnyUser, audit: AuditDep
) -> dict[str, Any]:
    """One alert with its evidence, timeline and delivery attempts (audited before it is sent)."""
    alert = store.alert(alert_id)
    if alert is None:
        raise HTTPException(status_code=404, detail=f"no alert with id {alert_id!r}")
    audit.record(user.username, user.role.value, "read.alert", alert_id)
    return {
        **alert_for(user, alert),
        "room_label": _room_label(request, alert),
        "timeline": store.timeline(alert_id),
        "deliveries": store.deliveries(alert_id),
    }


@router.get("/edges")
async def list_edges(store: StoreDep, user: AnyUser) -> list[dict[str, Any]]:
    """Edges and their last known state."""
    del user
    return list(store.edges())


@router.get("/stream")
async def stream(request: Request, user: AnyUser) -> StreamingResponse:
    """Server-sent events: one ``data:`` line per change, and a heartbeat comment when idle.

    The session is re-checked at every heartbeat: a logged-out or disabled account's open
    board stops receiving.
    """
    del user
    hub = hub_of(request)
    users = users_of(request)
    token_hash = request.state.session.token_hash

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        subscription = hub.subscribe()
        try:
            while True:
                try:
                    async with asyncio.timeout(HEARTBEAT_S):
                        event = await anext(subscription)
                except TimeoutError:
                    if not users.still_live(token_hash):
                        return
                    yield ": heartbeat\n\n"
                    continue
                except StopAsyncIteration:
                    return
                yield f"data: {json.dumps(event)}\n\n"
        finally:
            await subscription.aclose()  # type: ignore[attr-defined]

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
