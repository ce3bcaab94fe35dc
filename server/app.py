"""The FastAPI app: wiring only; the lifespan owns the database, MQTT ingest and sends (shell)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from server.config import Settings
from server.dispatch import Dispatcher
from server.ingest import Ingest
from server.live import LiveHub
from server.notify import AppriseNotifier, Notifier
from server.store.db import Store
from server.web import api, panel

_LOGGER = logging.getLogger(__name__)


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
        dispatcher = Dispatcher(
            settings, app.state.store, app.state.hub, notifier or AppriseNotifier(), now
        )
        app.state.dispatcher = dispatcher
        app.state.ingest = Ingest(
            settings.mqtt, app.state.store, app.state.hub, dispatcher.submit, now
        )
        dispatcher.resume_unsent()
        ingest_task = asyncio.create_task(app.state.ingest.run(), name="ingest")
        try:
            yield
        finally:
            ingest_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ingest_task
            await dispatcher.aclose()
            if store is None:
                app.state.store.close()

    app = FastAPI(title="ODART server", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(panel.router)
    app.mount("/static", StaticFiles(directory=panel.STATIC_DIR), name="static")
    return app
