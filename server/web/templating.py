"""Page rendering: Jinja templates with the user, the CSRF token and the nav (shell).

Use :func:`render` for every page so each gets the same context:

- ``user``: the logged-in :class:`~server.auth.User` (None on the login page),
- ``csrf``: the session's token (the ``<meta name="csrf-token">`` the JavaScript reads),
- ``csrf_field()``: the hidden ``<input>`` every ``<form method="post">`` must include,
- ``nav``: the links the user's role may follow.

Templates extend ``base.html`` and fill ``{% block main %}``; they must not use inline scripts
or styles (the Content-Security-Policy refuses them); put code in ``static/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from server.auth.models import Role, User
from server.web.deps import CSRF_FIELD

TEMPLATES: Final = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR: Final = Path(__file__).parent / "static"


def duration(seconds: float | None) -> str:
    """``95.2`` -> ``1 min 35 s``; None -> an em dash."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def moment(iso: str | None) -> str:
    """A wire timestamp as ``2026-11-22 16:35:59 UTC`` (pages state the zone, never guess it)."""
    if not iso:
        return "—"
    return f"{iso[:10]} {iso[11:19]} UTC"


TEMPLATES.env.filters["duration"] = duration
TEMPLATES.env.filters["moment"] = moment

NAV: Final[tuple[tuple[str, str, frozenset[Role]], ...]] = (
    ("/", "Board", frozenset(Role)),
    ("/history", "History", frozenset({Role.STAFF, Role.ADMIN})),
    ("/reports", "Reports", frozenset({Role.STAFF, Role.ADMIN})),
    ("/devices", "Devices", frozenset({Role.STAFF, Role.ADMIN})),
    ("/residents", "Residents", frozenset({Role.STAFF, Role.ADMIN})),
    ("/sites", "Sites", frozenset({Role.STAFF, Role.ADMIN})),
    ("/users", "Accounts", frozenset({Role.ADMIN})),
    ("/audit", "Audit log", frozenset({Role.ADMIN})),
)
"""Path, label and the roles that see the link (the routes check the role themselves too)."""


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """Render ``name`` with the common context (user, csrf, csrf_field, nav)."""
    session = getattr(request.state, "session", None)
    user: User | None = None if session is None else session.user
    token = "" if session is None else session.csrf
    token = context.pop("csrf", token) if context else token
    nav = [] if user is None else [(p, label) for p, label, roles in NAV if user.role in roles]

    def csrf_field() -> Markup:
        return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')

    full = {"user": user, "csrf": token, "csrf_field": csrf_field, "nav": nav, **(context or {})}
    return TEMPLATES.TemplateResponse(request, name, full, status_code=status)
