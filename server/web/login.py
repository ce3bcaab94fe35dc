"""Logging in and out: the login form, throttling, session cookies and auth audit rows (shell).

Routes: ``GET/POST /login`` (anonymous), ``POST /logout`` and ``GET /api/me`` (any role).
Every login, failed login and logout is written to the audit log (ASVS 16.3.1); if the audit
log cannot be written, nobody is let in (fail closed).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from server.audit import AuditError
from server.auth.models import USERNAME_PATTERN
from server.store.users import Users
from server.web.deps import (
    LOGIN_CSRF_COOKIE,
    MFA_SETUP_PATH,
    LoginRequired,
    SignedIn,
    audit_of,
    client_address,
    context_of,
    needs_second_factor,
    same_origin,
    second_factors_of,
    secure_cookies,
    session_cookie_name,
    users_of,
)
from server.web.templating import render

router = APIRouter()

LOGIN_FORM_TTL_S: Final = 3600
"""The login form's CSRF cookie lives an hour: a form left open longer is reloaded."""


def safe_next(target: str | None) -> str:
    """Where to go after login: a local path only (no open redirect to another site)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return "/"
    return target


def _login_form(
    request: Request, next_path: str, error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"csrf": token, "next": safe_next(next_path), "error": error},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_FORM_TTL_S,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/login",
    )
    return response


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    """The login form; also how a shared desk switches user (the old session ends at login)."""
    return _login_form(request, next)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password and, when set up, the second factor (throttled); start a session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not expected or not secrets.compare_digest(expected, csrf_token):
        return _login_form(request, next, "The form expired; please try again.", status=403)
    username = username.strip().lower()
    address = client_address(request)
    context = context_of(request)
    limiter = context.login_limiter
    now_s = context.now().timestamp()
    wait = limiter.begin(username, address, now_s)  # counted before the slow hash: no race
    if wait:
        response = _login_form(
            request, next, f"Too many attempts; try again in {wait} s.", status=429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    users: Users = users_of(request)
    user = await users.authenticate(username, password)
    audit = audit_of(request)
    name = username if USERNAME_PATTERN.fullmatch(username) else "(invalid)"
    try:
        if user is None:
            audit.record(name, "anonymous", "auth.login_failed", name, {"address": address})
            return _login_form(request, next, "Wrong username or password.", status=401)
        if user.mfa and not second_factors_of(request).check(user.username, code):
            audit.record(name, "anonymous", "auth.mfa_failed", name, {"address": address})
            message = (
                "Enter the 6-digit code from your authenticator app."
                if not code.strip()
                else "Wrong or already used code; wait for the next one."
            )
            return _login_form(request, next, message, status=401)
        audit.record(
            user.username, user.role.value, "auth.login", user.username, {"address": address}
        )
    except AuditError:
        return _login_form(request, next, "Logging in is not possible right now.", status=503)
    limiter.succeeded(username, address, now_s)
    cookie = session_cookie_name(request)
    token = users.start_session(user, address, replaces=request.cookies.get(cookie))
    target = safe_next(next)
    if needs_second_factor(request, user):
        target = MFA_SETUP_PATH
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        cookie,
        token,
        max_age=int(users.policy.absolute_s),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: SignedIn) -> Response:
    """End the session on the server and clear the cookie."""
    cookie = session_cookie_name(request)
    token = request.cookies.get(cookie)
    if token:
        users_of(request).end_session(token)
    audit_of(request).record(user.username, user.role.value, "auth.logout", user.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(cookie, path="/", secure=secure_cookies(request), httponly=True)
    return response


@router.get("/api/me")
async def me(request: Request, user: SignedIn) -> dict[str, Any]:
    """Who is logged in, the CSRF token the panel's JavaScript sends back, and whether a second
    factor must be set up before anything else works."""
    return {
        "username": user.username,
        "role": user.role.value,
        "csrf": request.state.session.csrf,
        "mfa": user.mfa,
        "mfa_setup_required": needs_second_factor(request, user),
    }


async def login_required_handler(request: Request, exc: Exception) -> Response:
    """No session: a page GET goes to the login form, anything else gets 401 JSON."""
    del exc
    wants_page = request.method == "GET" and not request.url.path.startswith("/api/")
    if wants_page:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    return JSONResponse({"detail": LoginRequired().detail}, status_code=401)
