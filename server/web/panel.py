"""The staff panel's pages: the live board and the alert view; they render client-side (shell).

Other pages live in their own routers (:mod:`server.web.history`, :mod:`server.web.admin`, ...).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from firmware_bridge.wire import ID_PATTERN
from server.web.deps import AnyUser
from server.web.templating import render

router = APIRouter()


@router.get("/")
async def board(request: Request, user: AnyUser) -> Response:
    """The live board (every role)."""
    del user
    return render(request, "board.html")


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, alert_id: str, user: AnyUser) -> Response:
    """One alert, made for a phone (every role; the data comes from the audited JSON API)."""
    del user
    safe = alert_id if ID_PATTERN.fullmatch(alert_id.lower()) else ""
    return render(request, "alert.html", {"alert_id": safe})
