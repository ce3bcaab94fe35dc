"""The FastAPI app: wiring only; the lifespan owns the database, MQTT ingest and sends (shell)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from server.audit import AuditError, AuditLog
from server.auth.ratelimit import LoginLimiter
from server.auth.sessions import SessionPolicy
from server.config import Settings
from server.device_lists import DeviceLists
from server.dispatch import Dispatcher
from server.domain.alerts import is_drill
from server.drills import Drills
from server.escalation import Escalator
from server.health import Health
from server.ingest import Ingest
from server.live import LiveHub
from server.notify import AppriseNotifier, Notifier
from server.privacy.gate import ConsentGate
from server.privacy.retention import Purger
from server.secret_file import read_key_file
from server.store.consents import Consents
from server.store.db import Store
from server.store.enrolments import Enrolments
from server.store.mfa import SecondFactors
from server.store.users import Users
from server.web import (
    actions,
    admin,
    api,
    board,
    consent,
    devices,
    history,
    login,
    mfa,
    panel,
    sharing,
)
from server.web.deps import LoginRequired, SecondFactorRequired, audit_failed_handler
from server.web.errors import http_error_handler, validation_error_handler
from server.web.security import SecurityHeaders
from server.web.templating import STATIC_DIR

_LOGGER = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 10.0
"""Shutdown waits this long for ingest and the timer loop to stop; a restart must not hang."""


def create_app(
    settings: Settings,
    *,
    notifier: Notifier | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    store: Store | None = None,
) -> FastAPI:
    """Build the app. Start-up opens the store, starts ingest, and resends unsent alerts.

    Args:
        settings: validated settings.
        notifier: how pushes are sent (apprise unless a test passes another real one).
        now: the wall clock.
        store: an already-open store (tests); by default the settings' database file.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store or Store(settings.database)
        app.state.hub = LiveHub()
        db: Store = app.state.store
        app.state.audit = AuditLog(db.db, now)
        app.state.users = Users(
            db.db,
            now,
            SessionPolicy(settings.http.session_idle_s, settings.http.session_absolute_s),
        )
        app.state.second_factors = SecondFactors(db.db, now)
        key = (
            settings.secret_key
            or (settings.secret_key_file and read_key_file(settings.secret_key_file))
            or db.secret("action_links", lambda: secrets.token_hex(32))
        )
        dispatcher = Dispatcher(
            settings, db, app.state.hub, notifier or AppriseNotifier(), key.encode(), now
        )
        escalator = Escalator(settings, db, app.state.hub, dispatcher, now=now)
        health = Health(settings, db, escalator, now)
        escalator.also_tick(health.tick)
        purger = Purger(db.db, app.state.audit, settings.retention_days, now)
        escalator.also_tick(purger.tick)
        gate = ConsentGate(
            Consents(db.db, now), now, refuse_unenrolled=settings.privacy.refuse_unenrolled
        )
        escalator.also_tick(gate.tick)
        app.state.consent_gate = gate
        device_lists = DeviceLists(Enrolments(db.db, now), now)
        escalator.also_tick(device_lists.tick)
        app.state.device_lists = device_lists

        async def on_connect() -> None:
            await gate.publish_all()
            await device_lists.publish_all()

        async def on_edge_online(site_id: str, edge_id: str) -> None:
            await gate.edge_online(site_id, edge_id)
            await device_lists.edge_online(site_id, edge_id)

        ingest = Ingest(
            settings.mqtt,
            db,
            app.state.hub,
            escalator.admit,
            escalator.edge_update,
            now,
            sites=[site.id for site in settings.sites],
            health=health,
            gate=gate.admits,
            on_connect=on_connect,
            on_edge_online=on_edge_online,
        )
        gate.set_sender(ingest.send_state)
        device_lists.set_sender(ingest.send_state)
        escalator.set_command_sender(ingest.send_command)
        drills = Drills(settings, db, dispatcher.notifier, ingest.send_command, now)
        escalator.also_tick(drills.tick)
        escalator.also_on_admit(lambda alert: drills.received(alert) if is_drill(alert) else None)
        app.state.drills = drills
        app.state.dispatcher, app.state.escalator, app.state.ingest = dispatcher, escalator, ingest
        app.state.link_key = key.encode()
        escalator.resume()
        tasks = [
            asyncio.create_task(ingest.run(), name="ingest"),
            asyncio.create_task(escalator.run(), name="escalation"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_TIMEOUT_S)
            for task in stuck:  # pragma: no cover - only if a library ignores cancellation
                _LOGGER.error(
                    "task %s did not stop within %.0f s", task.get_name(), SHUTDOWN_TIMEOUT_S
                )
            await dispatcher.aclose()
            if store is None:
                app.state.store.close()

    # No /docs, /redoc or /openapi.json: nothing the public need (ASVS 13.4.5).
    app = FastAPI(
        title="ODART server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    app.state.now = now
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(SecurityHeaders, https=str(settings.http.public_url).startswith("https://"))
    app.add_exception_handler(LoginRequired, login.login_required_handler)
    app.add_exception_handler(SecondFactorRequired, mfa.second_factor_handler)
    app.add_exception_handler(AuditError, audit_failed_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(login.router)
    app.include_router(mfa.router)
    app.include_router(api.router)
    app.include_router(actions.router)
    app.include_router(panel.router)
    for router in (board.router, history.router, devices.router, admin.router):
        app.include_router(router)
    app.include_router(consent.router)
    app.include_router(sharing.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
