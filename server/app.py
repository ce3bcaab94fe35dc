"""The FastAPI app: wiring only; the lifespan builds the services and supervises them (shell)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Final

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
from server.drills import Drills
from server.escalation import Escalator
from server.health import Health
from server.ingest import Ingest
from server.live import LiveHub
from server.loop_lag import LoopLag
from server.metrics import Metrics
from server.notify import AppriseNotifier, Notifier
from server.privacy.gate import ConsentGate
from server.privacy.retention import Purger
from server.secret_file import read_key_file
from server.sender import Sender
from server.services import AppContext, Services
from server.signal_watch import SignalWatch
from server.status import StoreCondition
from server.store.consents import Consents
from server.store.db import Store
from server.store.enrolments import Enrolments
from server.store.mfa import SecondFactors
from server.store.pushes import Purpose, PushState, QueuedPush
from server.store.users import Users
from server.supervisor import Supervisor
from server.web import (
    actions,
    admin,
    api,
    board,
    consent,
    devices,
    health,
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

SHUTDOWN_TIMEOUT_S: Final = 15.0
"""Shutdown waits this long for the supervisor to stop everything; a restart must not hang."""

TICK_S: Final = 1.0
"""Timer resolution: escalation timeouts are tens of seconds, so 1 s is ample and cheap."""


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
        services = _start(
            settings, notifier or AppriseNotifier(), now, store or Store(settings.database)
        )
        app.state.services = services  # read only through server.web.deps' accessors
        services.escalator.resume()
        running = asyncio.create_task(services.supervisor.run(), name="supervisor")
        # What start-up built (modules, settings, services) lives as long as the server: keep it
        # out of the cyclic collector's full passes, which walked all of it and stalled the loop
        # for up to 200 ms under load (issue 15, measured with `odart bench load`).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            running.cancel()
            _, stuck = await asyncio.wait([running], timeout=SHUTDOWN_TIMEOUT_S)
            if stuck:  # pragma: no cover - only if a library ignores cancellation
                _LOGGER.error("background work did not stop within %.0f s", SHUTDOWN_TIMEOUT_S)
            if store is None:
                services.store.close()

    # No /docs, /redoc or /openapi.json: nothing the public need (ASVS 13.4.5).
    app = FastAPI(
        title="ODART server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    # Read only through server.web.deps' accessors; there before (and without) the lifespan.
    app.state.context = AppContext(settings=settings, now=now, login_limiter=LoginLimiter())
    app.add_middleware(SecurityHeaders, https=str(settings.http.public_url).startswith("https://"))
    app.add_exception_handler(LoginRequired, login.login_required_handler)
    app.add_exception_handler(SecondFactorRequired, mfa.second_factor_handler)
    app.add_exception_handler(AuditError, audit_failed_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(login.router)
    app.include_router(mfa.router)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(actions.router)
    app.include_router(panel.router)
    for router in (board.router, history.router, devices.router, admin.router):
        app.include_router(router)
    app.include_router(consent.router)
    app.include_router(sharing.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _start(
    settings: Settings, notifier: Notifier, now: Callable[[], datetime], db: Store
) -> Services:
    """Build every service and hand each background loop and job to one supervisor."""
    supervisor = Supervisor()
    hub = LiveHub()
    audit = AuditLog(db.db, now)
    users = Users(
        db.db, now, SessionPolicy(settings.http.session_idle_s, settings.http.session_absolute_s)
    )
    key = (
        settings.secret_key
        or (settings.secret_key_file and read_key_file(settings.secret_key_file))
        or db.secret("action_links", lambda: secrets.token_hex(32))
    ).encode()
    dispatcher = Dispatcher(settings, key, now)
    metrics = Metrics(db.db)

    def pushed(queued: QueuedPush, state: PushState) -> None:
        metrics.push_result(queued, state, now())
        if queued.purpose is Purpose.DRILL:
            drills.settle()

    sender = Sender(db.pushes, dispatcher, notifier, hub, now, on_result=pushed)
    escalator = Escalator(
        settings, db, hub, dispatcher, spawn=supervisor.spawn, wake_sender=sender.wake, now=now
    )
    device_health = Health(settings, db, escalator, now)
    sender.on_nobody_reached = device_health.nobody_reachable
    condition = StoreCondition(
        db.db,
        lambda reason: supervisor.spawn(
            sender.send_now(dispatcher.server_notice(reason)), "server notice"
        ),
        now,
    )
    purger = Purger(db.db, audit, settings.retention_days, now)
    gate = ConsentGate(
        Consents(db.db, now), now, refuse_unenrolled=settings.privacy.refuse_unenrolled
    )
    device_lists = DeviceLists(Enrolments(db.db, now), now)

    async def on_connect() -> None:
        await gate.publish_all()
        await device_lists.publish_all()

    async def on_edge_online(site_id: str, edge_id: str) -> None:
        await gate.edge_online(site_id, edge_id)
        await device_lists.edge_online(site_id, edge_id)

    ingest = Ingest(
        settings.mqtt,
        db,
        hub,
        escalator.admit,
        escalator.edge_update,
        now,
        sites=[site.id for site in settings.sites],
        health=device_health,
        gate=gate.admits,
        gate_batch=gate.batch,
        on_connect=on_connect,
        on_edge_online=on_edge_online,
    )
    ingest.on_store_error = condition.failed
    metrics.read_ingest(lambda: ingest.counts)
    gate.set_sender(ingest.send_state)
    device_lists.set_sender(ingest.send_state)
    escalator.set_command_sender(ingest.send_command)
    drills = Drills(settings, db, ingest.send_command, now, spawn=supervisor.spawn)
    escalator.also_plan(drills.plan)
    escalator.also_on_admit(drills.received)
    escalator.also_on_admit(metrics.alert_stored)
    signal_watch = SignalWatch(db, escalator, now)
    escalator.also_on_admit(signal_watch.received)
    signal_watch.reconcile(now())
    loop_lag = LoopLag()
    metrics.read_loop_lag(loop_lag)
    supervisor.loop("loop lag", loop_lag.run)
    supervisor.loop("ingest", ingest.run)
    supervisor.loop("sender", sender.run)
    supervisor.every("timers", escalator.tick, TICK_S)
    for name, job in (
        ("write probe", condition.probe),
        ("device health", device_health.tick),
        ("purge", purger.tick),
        ("consent", gate.tick),
        ("drills", drills.tick),
        ("device lists", device_lists.tick),
        ("signal warnings", signal_watch.tick),
    ):
        supervisor.job(name, job)
    return Services(
        settings=settings,
        store=db,
        hub=hub,
        audit=audit,
        users=users,
        dispatcher=dispatcher,
        sender=sender,
        escalator=escalator,
        health=device_health,
        ingest=ingest,
        drills=drills,
        consent_gate=gate,
        device_lists=device_lists,
        second_factors=SecondFactors(db.db, now),
        supervisor=supervisor,
        store_condition=condition,
        metrics=metrics,
        link_key=key,
        loop_lag=loop_lag,
    )
