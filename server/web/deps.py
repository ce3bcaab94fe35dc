"""FastAPI dependencies: the lifespan's objects, the logged-in user, role checks and CSRF (shell).

The accessors here are the only readers of ``app.state``, each with a typed answer:
:func:`services_of` (what the lifespan started, :class:`~server.services.Services`) and
:func:`context_of` (the settings, clock and login throttle, :class:`~server.services.AppContext`).

Every route declares who may use it with :func:`require_role`::

    from server.auth import Role, User
    from server.web.deps import require_role

    @router.get("/consent/{pseudonym}")
    async def consent_page(user: Annotated[User, Depends(require_role(Role.STAFF, Role.ADMIN))]):
        ...

or with the ready-made aliases ``AnyUser``, ``StaffUser`` (staff or admin) and ``AdminUser``.

What the dependency does, in order:

1. No live session cookie: :class:`LoginRequired` — a page GET is redirected to ``/login``,
   anything else gets 401 JSON.
2. A role not in ``roles``: 403 (and the refusal is logged, ASVS 16.3.2).
2a. A role that must have a second factor (``[http] mfa_roles``, admin and staff by default)
   but has none set up yet: :class:`SecondFactorRequired` — a page GET goes to
   ``/account/mfa``, anything else gets 403. Only ``SignedIn`` routes (set-up, ``/api/me``,
   logout) skip this step.
3. A state-changing method (POST, PUT, PATCH, DELETE): the request must come from our own origin
   (``Origin`` / ``Sec-Fetch-Site``) and carry the session's CSRF token, either in the
   ``X-CSRF-Token`` header (the panel's JavaScript sends it) or in a ``csrf_token`` form field
   (every HTML form includes ``{{ csrf_field() }}``). Otherwise 403.

The session is left on ``request.state.session`` so templates can show the user and embed the
token (:func:`server.web.templating.render`).

Who may do what (ASVS 8.1.1; ``tests/server/test_routes.py`` walks every route for every role):

===========================================  =====  =====  =========  =========
route                                        admin  staff  responder  anonymous
===========================================  =====  =====  =========  =========
board, alert view, act on an alert, stream   yes    yes    yes (1)    login
history, reports, devices, enrol, settings   yes    yes    no         login
test alert for a room                        yes    yes    no         login
accounts, audit log                          yes    no     no         login
health details                               yes    yes    no         login
``/login``, ``/api/health``, ``/act/{token}``  open (the action link carries its own signed token)
``/metrics``                                 open (counts only, for a Prometheus scraper)
===========================================  =====  =====  =========  =========

(1) a responder never sees a resident's pseudonym; lists and the board carry no personal fields
for anyone, and an alert's own view writes an audit row before it answers.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Final
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.applications import Starlette

from server.audit import AuditLog
from server.auth.models import Role, User
from server.live import LiveHub
from server.services import AppContext, Services
from server.store.db import Store
from server.store.mfa import SecondFactors
from server.store.users import Session, Users

_LOGGER = logging.getLogger(__name__)

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
LOGIN_CSRF_COOKIE: Final = "odart_login_csrf"
"""Double-submit cookie for the one form used before there is a session: the login form."""
MFA_SETUP_PATH: Final = "/account/mfa"
"""Where an account that must have a second factor is sent until it has one."""


class SecondFactorRequired(HTTPException):
    """The account's role needs a second factor and none is set up yet."""

    def __init__(self) -> None:
        super().__init__(
            status_code=403,
            detail=f"set up two-factor login first ({MFA_SETUP_PATH})",
        )


class LoginRequired(HTTPException):
    """No live session; the app turns this into a redirect for pages and 401 for the API."""

    def __init__(self) -> None:
        super().__init__(status_code=401, detail="log in first")


async def audit_failed_handler(request: Request, exc: Exception) -> JSONResponse:
    """The audit log could not be written: refuse (fail closed), never show the data."""
    _LOGGER.error("audit log write failed on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the audit log cannot be written, so this is refused; tell an admin"},
        status_code=503,
    )


def app_services(app: Starlette) -> Services:
    """``app``'s running services (built by its lifespan), for code that holds the app itself."""
    services: Services = app.state.services
    return services


def app_context(app: Starlette) -> AppContext:
    """``app``'s settings, clock and login throttle (set by ``create_app``)."""
    context: AppContext = app.state.context
    return context


def services_of(request: Request) -> Services:
    """The app's running services (built by the lifespan)."""
    return app_services(request.app)


def context_of(request: Request) -> AppContext:
    """The app's settings, clock and login throttle; there before the lifespan runs."""
    return app_context(request.app)


def store_of(request: Request) -> Store:
    """The app's store."""
    return services_of(request).store


def hub_of(request: Request) -> LiveHub:
    """The app's live hub."""
    return services_of(request).hub


def second_factors_of(request: Request) -> SecondFactors:
    """The app's second factors (TOTP)."""
    return services_of(request).second_factors


def needs_second_factor(request: Request, user: User) -> bool:
    """Whether ``user`` must still set up a second factor before using the panel."""
    return not user.mfa and user.role.value in context_of(request).settings.http.mfa_roles


def users_of(request: Request) -> Users:
    """The app's accounts and sessions."""
    return services_of(request).users


def audit_of(request: Request) -> AuditLog:
    """The app's audit log: record before returning personal data (it raises if it cannot)."""
    return services_of(request).audit


def session_cookie_name(request: Request) -> str:
    """``__Host-odart_session`` behind TLS (the prefix needs Secure), ``odart_session`` on http."""
    return "__Host-odart_session" if secure_cookies(request) else "odart_session"


def secure_cookies(request: Request) -> bool:
    """Whether cookies get ``Secure``: when the public URL is https."""
    return str(context_of(request).settings.http.public_url).startswith("https://")


def client_address(request: Request) -> str:
    """The peer's address (the reverse proxy's when there is one), for rate limits and audit."""
    return request.client.host if request.client else "unknown"


def current_session(request: Request) -> Session | None:
    """The request's live session, or None."""
    token = request.cookies.get(session_cookie_name(request))
    if not token or len(token) > 100:
        return None
    return users_of(request).session(token)


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from our own pages (ASVS 3.5.3)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None or (origin == "null" and fetch_site == "same-origin"):
        return True  # not a browser, or a privacy setting hid the origin: the token decides
    ours = {_origin(str(request.base_url)), _origin(context_of(request).settings.http.public_url)}
    return _origin(origin) in ours


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse a state-changing request without our origin and the expected token.

    Raises:
        HTTPException: 403 with the reason.
    """
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request):
        raise HTTPException(status_code=403, detail="cross-site request refused")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


def require_role(*roles: Role, second_factor: bool = True) -> Callable[[Request], Awaitable[User]]:
    """A dependency that admits only a logged-in user with one of ``roles`` (CSRF-checked).

    Args:
        roles: the roles allowed; none given means every role.
        second_factor: refuse an account that must set up a second factor and has not.

    Returns:
        The dependency; it resolves to the :class:`~server.auth.User`.
    """
    allowed = frozenset(roles or Role)

    async def dependency(request: Request) -> User:
        session = current_session(request)
        if session is None:
            raise LoginRequired
        request.state.session = session
        if session.user.role not in allowed:
            _LOGGER.warning(
                "refused %s %s to %s (%s)",
                request.method,
                request.url.path,
                session.user.username,
                session.user.role.value,
            )
            raise HTTPException(status_code=403, detail="your role may not do this")
        if second_factor and needs_second_factor(request, session.user):
            raise SecondFactorRequired
        await check_csrf(request, session.csrf)
        return session.user

    suffix = "" if second_factor else "_signed_in"
    dependency.__name__ = f"require_role_{'_'.join(sorted(r.value for r in allowed))}{suffix}"
    return dependency


AnyUser = Annotated[User, Depends(require_role())]
"""Admin, staff or responder."""
SignedIn = Annotated[User, Depends(require_role(second_factor=False))]
"""Any logged-in account, even one that must still set up its second factor."""
StaffUser = Annotated[User, Depends(require_role(Role.STAFF, Role.ADMIN))]
"""Staff or admin."""
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
"""Admin only."""
ServicesDep = Annotated[Services, Depends(services_of)]
StoreDep = Annotated[Store, Depends(store_of)]
UsersDep = Annotated[Users, Depends(users_of)]
AuditDep = Annotated[AuditLog, Depends(audit_of)]
