"""The staff panel's pages; they render client-side from the JSON API (shell)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from firmware_bridge.wire import ID_PATTERN

TEMPLATES: Final = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR: Final = Path(__file__).parent / "static"

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def board(request: Request) -> HTMLResponse:
    """The live board."""
    return TEMPLATES.TemplateResponse(request, "board.html")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, alert_id: str) -> HTMLResponse:
    """One alert, made for a phone."""
    safe = alert_id if ID_PATTERN.match(alert_id.lower()) else ""
    return TEMPLATES.TemplateResponse(request, "alert.html", {"alert_id": safe})
