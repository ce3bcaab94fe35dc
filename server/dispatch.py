"""Sends each new alert to responders after its commit, recording every attempt (shell).

Sends run as tracked tasks (never fire-and-forget): shutdown waits for them. An alert stored but
never sent to anyone (the server died in between) is sent on the next start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from server.config import Settings
from server.domain.alerts import Alert, compose_push, should_page
from server.live import LiveHub
from server.notify.base import Notifier
from server.store.db import Store

_LOGGER = logging.getLogger(__name__)

SHUTDOWN_GRACE_S: Final = 10.0
"""How long shutdown waits for sends already under way before cancelling them."""


class Dispatcher:
    """Notifies the first-level responders of every new alert."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        hub: LiveHub,
        notifier: Notifier,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._hub = hub
        self._notifier = notifier
        self._now = now
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, alert: Alert) -> None:
        """Start notifying about ``alert`` if its kind pages anyone; returns at once."""
        if not should_page(alert):
            return
        task = asyncio.get_running_loop().create_task(self._notify(alert), name=alert.alert_id)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def resume_unsent(self) -> int:
        """Submit every stored alert that has no delivery attempt yet; returns how many."""
        pending = [a for a in self._store.alerts_without_deliveries() if should_page(a)]
        for alert in pending:
            _LOGGER.warning("alert %s was stored but never sent; sending now", alert.alert_id)
            self.submit(alert)
        return len(pending)

    async def _notify(self, alert: Alert) -> None:
        try:
            room = self._settings.room_label(alert.site_id, alert.room_id)
            url = f"{self._settings.http.public_url.rstrip('/')}/alerts/{alert.alert_id}"
            push = compose_push(alert, room, url)
            first_level = [r for r in self._settings.responders if r.level == 0]
            if not first_level:
                _LOGGER.error("alert %s: no level-0 responder is configured", alert.alert_id)
            for responder in first_level:
                for delivery in await self._notifier.send(responder, push):
                    self._store.record_delivery(
                        alert.alert_id,
                        delivery.responder_id,
                        delivery.channel,
                        delivery.ok,
                        self._now(),
                        delivery.detail,
                    )
                    self._hub.publish({"type": "delivery", "id": alert.alert_id, "ok": delivery.ok})
        except Exception:  # task root: one alert's failure must not stop the others
            _LOGGER.exception("notifying about alert %s failed", alert.alert_id)

    async def aclose(self) -> None:
        """Wait briefly for sends under way, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
