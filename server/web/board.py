"""The live board's data: sites, rooms and wearables with their state (shell; every role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from server.store.enrolments import Enrolments
from server.store.history import open_alerts
from server.web.board_state import build_board
from server.web.deps import AnyUser, StoreDep, context_of

router = APIRouter()


@router.get("/api/board")
async def board_json(request: Request, store: StoreDep, user: AnyUser) -> dict[str, Any]:
    """Every site's rooms and wearables with a status each; no pseudonyms, no health values."""
    del user
    context = context_of(request)
    settings = context.settings
    enrolments = Enrolments(store.db, context.now)
    sites = [
        (site.id, site.name, [(room.id, room.label) for room in site.rooms])
        for site in settings.sites
    ]
    return {
        "sites": build_board(
            sites,
            enrolments.devices(),
            enrolments.live(),
            list(store.edges()),
            open_alerts(store.db),
        )
    }
