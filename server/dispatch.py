"""Sends pushes after each committed transition and records every attempt (shell).

Sends run as tracked tasks (never fire-and-forget): shutdown waits for them. Who is paged comes
from the escalation level: the responders added at that level, or everyone up to it when the
last level repeats. Each push carries signed, single-use links to acknowledge and to say "on my
way".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Final

from server.config import ResponderConfig, Settings
from server.domain.alerts import (
    Alert,
    AlertState,
    Push,
    PushAction,
    compose_claim,
    compose_push,
)
from server.domain.lifecycle import Action, Page
from server.domain.tokens import ActionClaim, sign
from server.live import LiveHub
from server.notify.base import Notifier
from server.store.db import Store

_LOGGER = logging.getLogger(__name__)

SHUTDOWN_GRACE_S: Final = 10.0
"""How long shutdown waits for sends already under way before cancelling them."""

LINK_ACTIONS: Final = ((Action.ACK, "Acknowledge"), (Action.EN_ROUTE, "On my way"))
"""The buttons a page carries; arriving and resolving happen on the alert page."""


class Dispatcher:
    """Turns pages and claims into pushes, and records each delivery on the alert's timeline."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        hub: LiveHub,
        notifier: Notifier,
        link_key: bytes,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._hub = hub
        self._notifier = notifier
        self._key = link_key
        self._now = now
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def notifier(self) -> Notifier:
        """The notifier pushes go through."""
        return self._notifier

    def targets(self, alert: Alert, page: Page) -> list[ResponderConfig]:
        """Who ``page`` reaches at the alert's site.

        A level nobody is configured at falls back to everyone up to it: someone is always paged.
        """
        serving = self._settings.responders_for(alert.site_id)
        if page.everyone_up_to:
            chosen = [r for r in serving if r.level <= page.level]
        else:
            chosen = [r for r in serving if r.level == page.level]
            if not chosen:
                chosen = [r for r in serving if r.level <= page.level]
        return chosen or serving

    def paged_so_far(self, alert: Alert) -> list[ResponderConfig]:
        """Everyone the alert has reached up to its current level."""
        serving = self._settings.responders_for(alert.site_id)
        return [r for r in serving if r.level <= alert.level] or serving

    def _alert_url(self, alert: Alert) -> str:
        return f"{self._settings.http.public_url.rstrip('/')}/alerts/{alert.alert_id}"

    def _links(self, alert: Alert, responder: ResponderConfig) -> tuple[PushAction, ...]:
        expires = int(self._now().timestamp() + self._settings.action_link_ttl_s)
        base = self._settings.http.public_url.rstrip("/")
        return tuple(
            PushAction(
                label,
                f"{base}/act/"
                + sign(
                    ActionClaim(
                        alert.alert_id, responder.id, action, expires, secrets.token_urlsafe(9)
                    ),
                    self._key,
                ),
            )
            for action, label in LINK_ACTIONS
        )

    def page(self, alert: Alert, page: Page) -> None:
        """Send the page for ``alert`` to its targets; returns at once."""
        room = self._settings.room_label(alert.site_id, alert.room_id)
        targets = self.targets(alert, page)
        if not targets:
            _LOGGER.error(
                "alert %s: no responder is configured for %s", alert.alert_id, alert.site_id
            )
            self._store.note(
                alert.alert_id,
                self._now(),
                "no_responder",
                "no responder is configured for this site",
            )
            return
        for responder in targets:
            # A noted (technical) alert has nothing to acknowledge: no action buttons.
            links = () if alert.state is AlertState.NOTED else self._links(alert, responder)
            push = compose_push(
                alert, room, self._alert_url(alert), links, repeat=page.everyone_up_to
            )
            self._spawn(self._send(alert, responder, push), alert.alert_id)

    def claim(self, alert: Alert, claimant_id: str) -> None:
        """Tell everyone else already paged who is going."""
        names = {r.id: r.name for r in self._settings.responders}
        name = names.get(claimant_id, claimant_id)
        room = self._settings.room_label(alert.site_id, alert.room_id)
        push = compose_claim(room, name, self._alert_url(alert))
        for responder in self.paged_so_far(alert):
            if responder.id != claimant_id:
                self._spawn(self._send(alert, responder, push), alert.alert_id)

    def send_to(self, alert: Alert, responders: list[ResponderConfig], push: Push) -> None:
        """Send a prepared push (device-health and drill messages)."""
        for responder in responders:
            self._spawn(self._send(alert, responder, push), alert.alert_id)

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, alert: Alert, responder: ResponderConfig, push: Push) -> None:
        try:
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
        except Exception:  # task root: one failed send must not stop the others
            _LOGGER.exception("sending about alert %s to %s failed", alert.alert_id, responder.id)

    async def drain(self) -> None:
        """Wait until every send under way has finished (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Wait briefly for sends under way, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
