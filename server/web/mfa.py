"""Two-factor login: setting up an authenticator app, as a page and as JSON (shell; any role).

An account whose role needs a second factor (``[http] mfa_roles``) is sent here after its first
login and can use nothing else until a code from its app has been confirmed. Losing the phone:
an admin runs ``odart admin mfa-reset``. Every set-up is written to the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from server.auth.models import AccountError, User
from server.auth.totp import provisioning_uri
from server.web.deps import (
    MFA_SETUP_PATH,
    SignedIn,
    audit_of,
    needs_second_factor,
    second_factors_of,
)
from server.web.errors import wants_page
from server.web.templating import render

router = APIRouter()


class CodeIn(BaseModel):
    """A code typed from the authenticator app."""

    code: str = Field(min_length=1, max_length=20)


def _offer(request: Request, user: User) -> dict[str, Any]:
    if user.mfa:
        return {"enabled": True}
    try:
        secret = second_factors_of(request).offer(user.username)
    except AccountError as error:
        raise HTTPException(status_code=409, detail=error.reason) from None
    uri = provisioning_uri(secret, user.username)
    return {"enabled": False, "secret": secret, "uri": uri}


def _qr(offer: dict[str, Any]) -> str | None:
    """The set-up QR code as a data URI: black on white whatever the panel's theme, with the
    quiet zone a phone camera needs."""
    if offer["enabled"]:
        return None
    code = segno.make(offer["uri"])
    uri: str = code.svg_data_uri(scale=5, border=4, dark="black", light="white")
    return uri


def _confirm(request: Request, user: User, code: str) -> bool:
    if not second_factors_of(request).confirm(user.username, code):
        return False
    audit_of(request).record(user.username, user.role.value, "auth.mfa_enabled", user.username)
    return True


@router.get(MFA_SETUP_PATH)
async def mfa_page(request: Request, user: SignedIn) -> Response:
    """The set-up page: a QR code and the secret to type by hand, then a code to confirm."""
    offer = _offer(request, user)
    qr = _qr(offer)
    required = needs_second_factor(request, user)
    context = {"offer": offer, "qr": qr, "mfa_setup_required": required}
    return render(request, "mfa.html", context)


@router.post(MFA_SETUP_PATH)
async def mfa_confirm_form(
    request: Request, user: SignedIn, code: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    """Confirm the set-up from the page's form."""
    if _confirm(request, user, code):
        return RedirectResponse("/", status_code=303)
    offer = _offer(request, user)
    qr = _qr(offer)
    context = {
        "offer": offer,
        "qr": qr,
        "mfa_setup_required": needs_second_factor(request, user),
        "error": "That code did not match; type the one your app shows now.",
    }
    return render(request, "mfa.html", context, status=400)


@router.get("/api/account/mfa")
async def mfa_offer(request: Request, user: SignedIn) -> dict[str, Any]:
    """Whether two-factor login is on; if not, the secret and ``otpauth://`` URI to set it up."""
    return _offer(request, user)


@router.post("/api/account/mfa")
async def mfa_confirm(request: Request, user: SignedIn, body: CodeIn) -> JSONResponse:
    """Turn two-factor login on with a code from the offered secret (400 if it does not match)."""
    if not _confirm(request, user, body.code):
        return JSONResponse({"detail": "the code does not match the offered secret"}, 400)
    return JSONResponse({"enabled": True})


async def second_factor_handler(request: Request, exc: Exception) -> Response:
    """A page GET goes to the set-up page; anything else gets the 403 JSON."""
    assert isinstance(exc, HTTPException)
    if wants_page(request):
        return RedirectResponse(MFA_SETUP_PATH, status_code=303)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
