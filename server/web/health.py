"""Health and metrics: ``/api/health`` for probes, details for staff, ``/metrics`` (shell).


``/api/health`` answers 503 whenever ingest, the database or the sender is not doing its job,
and names which; ``/api/health/details`` (staff) gives each component's reason and the
supervisor's view of every loop.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from server.metrics import CONTENT_TYPE
from server.status import report
from server.web.deps import ServicesDep, StaffUser

router = APIRouter()


@router.get("/api/health")
async def health(services: ServicesDep) -> JSONResponse:
    """Whether the server can take and send alerts now: 200, or 503 naming what is down."""
    status, body = report(services.conditions())
    try:
        alerts: int | None = services.store.count_alerts()
    except sqlite3.Error:
        alerts = None
    return JSONResponse(
        {
            "status": body["status"],
            "down": [name for name, c in body["components"].items() if not c["ok"]],
            "mqtt_connected": services.ingest.connected.is_set(),
            "alerts": alerts,
            "ingest": dict(services.ingest.counts),
            "loop_lag_ms": {
                "worst": round(services.loop_lag.worst_s * 1000, 1),
                "recent": round(services.loop_lag.recent_worst_s() * 1000, 1),
            },
        },
        status_code=status,
    )


@router.get("/api/health/details")
async def health_details(services: ServicesDep, user: StaffUser) -> dict[str, Any]:
    """Each component with its reason, every supervised loop, and the send queue."""
    del user
    _status, body = report(services.conditions())
    loops = {
        name: {"state": loop.state.value, "restarts": loop.restarts, "reason": loop.reason}
        for name, loop in services.supervisor.status.items()
    }
    return {
        **body,
        "loops": loops,
        "send_queue": services.store.pushes.counts(),
        "sending_now": services.sender.in_flight,
        "ingest": dict(services.ingest.counts),
    }


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format: alerts by state, ingest, pushes, queue depth, edges, latencies."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
