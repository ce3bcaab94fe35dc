"""Acting on alerts: panel buttons (JSON), action links from pushes, and test alerts (shell)."""

from __future__ import annotations

import html
import os
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_bridge.wire import ID_PATTERN, AlertKind, IdMinter, Severity
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Action, Outcome
from server.domain.tokens import TokenError, verify
from server.escalation import ActResult
from server.web.api import alert_summary
from server.web.deps import AnyUser, StaffUser, context_of, services_of

router = APIRouter()
_minter = IdMinter()


class ActionRequest(BaseModel):
    """An action from the panel. Resolving needs an outcome; naloxone needs the doses.

    The actor is always the logged-in user; ``actor``, if sent at all, must be that user.
    """

    model_config = ConfigDict(extra="forbid")

    action: Action
    actor: Annotated[str, Field(pattern=ID_PATTERN.pattern)] | None = None
    outcome: Outcome | None = None
    naloxone_doses: int | None = Field(default=None, ge=1, le=20)
    text: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _outcome_rules(self) -> ActionRequest:
        if self.action is Action.RESOLVE and self.outcome is None:
            message = "resolving needs an outcome"
            raise ValueError(message)
        if self.outcome is Outcome.NALOXONE_GIVEN and self.naloxone_doses is None:
            message = "naloxone_given needs naloxone_doses"
            raise ValueError(message)
        if self.outcome is Outcome.OTHER and not self.text:
            message = "outcome 'other' needs a text"
            raise ValueError(message)
        return self


def _answer(result: ActResult) -> JSONResponse:
    body: dict[str, Any] = {"ok": result.ok, "message": result.message}
    if result.alert is not None:
        body["alert"] = alert_summary(result.alert)
    return JSONResponse(body, status_code=result.status)


@router.post("/api/alerts/{alert_id}/actions")
async def post_action(
    alert_id: str, body: ActionRequest, request: Request, user: AnyUser
) -> JSONResponse:
    """Acknowledge, say on my way, on scene, resolve with an outcome, or cancel a check-in.

    Any role may act; the action is recorded as the logged-in user.
    """
    if body.actor is not None and body.actor != user.username:
        raise HTTPException(status_code=403, detail="you can only act as yourself")
    detail = {
        key: value
        for key, value in (("naloxone_doses", body.naloxone_doses), ("text", body.text))
        if value is not None
    }
    result = services_of(request).escalator.act(
        alert_id, body.action, user.username, outcome=body.outcome, detail=detail
    )
    return _answer(result)


_LABELS = {Action.ACK: "Acknowledge", Action.EN_ROUTE: "I'm on my way"}


def _page(title: str, text: str, button: str | None = None, status: int = 200) -> HTMLResponse:
    form = (
        f'<form method="post"><button class="big" type="submit">{html.escape(button)}</button>'
        "</form>"
        if button
        else ""
    )
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel='stylesheet' href='/static/panel.css'>"
        f"</head><body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}"
        "</main></body></html>",
        status_code=status,
    )


@router.get("/act/{token}", response_class=HTMLResponse)
async def confirm_link(token: str, request: Request) -> HTMLResponse:
    """Show what a push's link does; only the POST acts (link previews must not act)."""
    try:
        claim = verify(token, services_of(request).link_key, _now_s(request))
    except TokenError as error:
        return _page("Link not valid", error.reason, status=400)
    return _page(
        _LABELS.get(claim.action, claim.action.value),
        "Tap to confirm.",
        button=_LABELS.get(claim.action, claim.action.value),
    )


@router.post("/act/{token}")
async def use_link(token: str, request: Request) -> HTMLResponse:
    """Act on a push's link: signed, expiring, and working once."""
    try:
        claim = verify(token, services_of(request).link_key, _now_s(request))
    except TokenError as error:
        return _page("Link not valid", error.reason, status=400)
    result = services_of(request).escalator.act(
        claim.alert_id, claim.action, claim.responder_id, token_nonce=claim.nonce
    )
    if result.ok:
        return _page("Thank you", f"Recorded: {result.message}. Others have been told.")
    return _page("Not recorded", result.message, status=result.status)


def _now_s(request: Request) -> float:
    return float(context_of(request).now().timestamp())


class TestAlertRequest(BaseModel):
    """A training alert for one room."""

    model_config = ConfigDict(extra="forbid")

    room: Annotated[str, Field(pattern=ID_PATTERN.pattern)]


@router.post("/api/sites/{site_id}/test-alert")
async def send_test_alert(
    site_id: str, body: TestAlertRequest, request: Request, user: StaffUser
) -> JSONResponse:
    """Send a clearly marked TEST alert for a room through the whole paging path (staff)."""
    del user
    context = context_of(request)
    settings = context.settings
    if not ID_PATTERN.fullmatch(site_id) or all(site.id != site_id for site in settings.sites):
        raise HTTPException(status_code=404, detail=f"no site {site_id!r}")
    now = context.now()
    alert = Alert(
        alert_id=_minter.mint(int(now.timestamp() * 1000), os.urandom(10)),
        site_id=site_id,
        edge_id="server",
        kind=AlertKind.TEST,
        severity=Severity.CRITICAL,
        detected_at=now,
        onset_at=now - timedelta(seconds=0),
        stored_at=now,
        room_id=body.room,
        state=AlertState.TRIGGERED,
        origin="test",
    )
    services_of(request).escalator.admit(alert)
    return JSONResponse({"ok": True, "alert": alert_summary(alert)}, status_code=201)
