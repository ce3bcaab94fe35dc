"""Admin pages: accounts, the audit log, and the sites/responders/hours settings view (shell).

Accounts and the audit log are admin-only; the settings view is open to staff too. Every account
change and every read of the audit log writes an audit row first.

Sites, rooms, responders, escalation policies and operating hours are a **read-only view of the
TOML settings**: the escalator, dispatcher and health monitor hold the validated, frozen
``Settings`` for the life of the process, so an edit here could not take effect without a
restart, and a settings file under change control keeps the review trail an escalation policy
deserves. Editing them in the panel needs those modules to read settings through a provider.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from firmware_bridge.wire import ID_PATTERN
from server.auth.models import AuthError, Role
from server.web.deps import AdminUser, AuditDep, StaffUser, UsersDep, context_of
from server.web.templating import render

router = APIRouter()

AUDIT_PAGE: Final = 200
"""Audit entries on one page: a day of a busy hostel; filter by subject for older ones."""

UsernameForm = Annotated[str, Form(max_length=64)]


def _users_page(
    request: Request, users: UsersDep, error: str | None = None, status: int = 200
) -> Response:
    context = {"accounts": users.accounts(), "roles": [r.value for r in Role], "error": error}
    return render(request, "users.html", context, status=status)


@router.get("/users")
async def users_page(request: Request, users: UsersDep, user: AdminUser) -> Response:
    """Accounts: create, change role, reset a password, disable."""
    del user
    return _users_page(request, users)


@router.post("/users")
async def create_user(
    request: Request,
    users: UsersDep,
    user: AdminUser,
    audit: AuditDep,
    username: UsernameForm,
    role: Annotated[Role, Form()],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Make an account (the password policy applies)."""
    username = username.strip().lower()
    try:
        made = users.create(username, role, password)
    except AuthError as error:
        return _users_page(request, users, str(error), status=400)
    audit.record(user.username, user.role.value, "account.create", made.username, {"role": role})
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}")
async def change_user(
    request: Request,
    username: str,
    users: UsersDep,
    user: AdminUser,
    audit: AuditDep,
    change: Annotated[str, Form(pattern="^(role|disable|enable|password)$")],
    role: Annotated[Role | None, Form()] = None,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change one account; every change ends the account's live sessions."""
    target = users.get(username) if ID_PATTERN.fullmatch(username) else None
    if target is None:
        return _users_page(request, users, f"no account {username!r}", status=404)
    removes_admin = target["role"] == Role.ADMIN.value and (
        change == "disable" or (change == "role" and role is not Role.ADMIN)
    )
    if removes_admin and users.count(Role.ADMIN) <= 1:
        return _users_page(request, users, "keep at least one enabled admin", status=409)
    detail: dict[str, Any] = {}
    try:
        if change == "role":
            if role is None:
                return _users_page(request, users, "choose a role", status=400)
            users.set_role(username, role)
            detail = {"role": role.value}
        elif change == "password":
            users.set_password(username, password)
        else:
            users.set_disabled(username, change == "disable")
    except AuthError as error:
        return _users_page(request, users, str(error), status=400)
    audit.record(user.username, user.role.value, f"account.{change}", username, detail)
    return RedirectResponse("/users", status_code=303)


@router.get("/audit")
async def audit_page(
    request: Request,
    user: AdminUser,
    audit: AuditDep,
    subject: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The newest audit entries (reading them is itself audited)."""
    audit.record(user.username, user.role.value, "read.audit", subject or "audit_log")
    check = audit.verify()
    entries = audit.entries(subject or None, limit=AUDIT_PAGE)
    context = {"entries": entries, "subject": subject or "", "check": check}
    return render(request, "audit.html", context)


def channel(url: str) -> str:
    """An apprise URL shown as its scheme only: the rest holds tokens and phone numbers."""
    return urlsplit(url).scheme or "?"


@router.get("/sites")
async def sites_page(request: Request, user: StaffUser) -> Response:
    """Sites, rooms, escalation policies, operating hours and responders (from the settings)."""
    del user
    settings = context_of(request).settings
    responders = [
        {
            "id": r.id,
            "name": r.name,
            "level": r.level,
            "sites": r.sites or ["every site"],
            "channels": [channel(url) for url in r.urls],
        }
        for r in sorted(settings.responders, key=lambda r: (r.level, r.id))
    ]
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    return render(
        request,
        "sites.html",
        {"sites": settings.sites, "responders": responders, "weekdays": weekdays},
    )
