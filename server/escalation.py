"""Applies lifecycle transitions: compare-and-set in the database first, then the sends (shell).

Timers are rows (``alerts.deadline``), polled once a second, so a server killed mid-escalation
resumes on schedule when it starts again. People's actions and the edge's updates go through
the same path. Every rejected (late or duplicate) action is recorded on the alert's timeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from firmware_bridge.wire import AlertUpdate, CommandBody
from server.config import Settings
from server.dispatch import Dispatcher
from server.domain.alerts import Alert, should_page
from server.domain.lifecycle import (
    Action,
    EscalationPolicy,
    Lifecycle,
    Outcome,
    Page,
    Rejection,
    Transition,
    act,
    expire,
    start,
    update,
)
from server.live import LiveHub
from server.store.db import Store, TokenAlreadyUsed

_LOGGER = logging.getLogger(__name__)

TICK_S: Final = 1.0
"""Timer resolution: escalation timeouts are tens of seconds, so 1 s is ample and cheap."""

CAS_RETRIES: Final = 3
"""Attempts before a contended transition gives up (two taps in the same millisecond)."""

CommandSender = Callable[[str, str, CommandBody], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ActResult:
    """What became of an action: ``status`` is the HTTP status the API answers with."""

    ok: bool
    status: int
    message: str
    alert: Alert | None = None


class Escalator:
    """The one place alerts change state."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        hub: LiveHub,
        dispatcher: Dispatcher,
        *,
        send_command: CommandSender | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._hub = hub
        self._dispatcher = dispatcher
        self._send_command = send_command
        self._now = now
        self._commands: set[asyncio.Task[None]] = set()
        self._extra_ticks: list[Callable[[], object]] = []
        self._on_admit: list[Callable[[Alert], None]] = []

    def also_on_admit(self, hook: Callable[[Alert], None]) -> None:
        """Call ``hook`` with every newly stored alert, after its commit (drills)."""
        self._on_admit.append(hook)

    def also_tick(self, job: Callable[[], object]) -> None:
        """Run ``job`` on every tick too (device-health checks)."""
        self._extra_ticks.append(job)

    def set_command_sender(self, send_command: CommandSender) -> None:
        """Give the escalator a way to reach edges (the ingest's MQTT client)."""
        self._send_command = send_command

    def policy(self, site_id: str) -> EscalationPolicy:
        """The escalation policy of ``site_id``."""
        return self._settings.site(site_id).escalation.policy()

    # -- new alerts -------------------------------------------------------------------------------

    def admit(self, alert: Alert) -> bool:
        """Store a new alert with its starting lifecycle, then page if it asks to.

        Returns:
            False when the alert was already stored (a redelivery): nothing else happens.
        """
        first = start(
            pages=should_page(alert),
            checkin_s=alert.checkin_s,
            policy=self.policy(alert.site_id),
            now=alert.stored_at,
        )
        if not self._store.insert_alert(alert, first.after, first.note):
            return False
        self._hub.publish({"type": "alert", "id": alert.alert_id})
        if first.page is not None:
            self._page(alert.alert_id, first.page)
        for hook in self._on_admit:
            hook(alert)
        return True

    def resume(self) -> int:
        """At start-up: page again any triggered alert that no send was ever attempted for."""
        unsent = self._store.alerts_without_deliveries()  # triggered ones only
        for alert in unsent:
            _LOGGER.warning(
                "alert %s was never sent; paging level %d now", alert.alert_id, alert.level
            )
            self._page(
                alert.alert_id,
                Page(alert.level, everyone_up_to=True, reason="resumed after a restart"),
            )
        return len(unsent)

    # -- timers -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Fire due timers once a second until cancelled."""
        while True:
            for job in (self.tick, *self._extra_ticks):
                try:
                    job()
                except Exception:  # task root: one failure must not stop every other timer
                    _LOGGER.exception("tick %s failed", getattr(job, "__qualname__", job))
            await asyncio.sleep(TICK_S)

    def tick(self) -> int:
        """Fire every timer due now; returns how many transitions were committed."""
        now = self._now()
        fired = 0
        for alert_id in self._store.due_alert_ids(now):
            fired += self._apply(alert_id, lambda life, policy: expire(life, policy, now), now)
        return fired

    # -- people and edges -------------------------------------------------------------------------

    def act(
        self,
        alert_id: str,
        action: Action,
        actor: str,
        *,
        outcome: Outcome | None = None,
        detail: dict[str, Any] | None = None,
        token_nonce: str | None = None,
    ) -> ActResult:
        """A person takes ``action`` on an alert (a tapped link, or a button on the panel)."""
        if action is Action.RESOLVE and outcome is None:
            return ActResult(False, 422, "resolving needs an outcome")
        now = self._now()
        for _ in range(CAS_RETRIES):
            loaded = self._store.lifecycle(alert_id)
            if loaded is None:
                return ActResult(False, 404, f"no alert with id {alert_id!r}")
            life, version = loaded
            alert = self._store.alert(alert_id)
            assert alert is not None
            result = act(life, action, self.policy(alert.site_id), now)
            if isinstance(result, Rejection):
                self._store.note(
                    alert_id, now, "rejected", f"{action.value} by {actor}: {result.reason}"
                )
                self._hub.publish({"type": "alert", "id": alert_id})
                return ActResult(False, 409, result.reason, alert)
            claims = action in (Action.ACK, Action.EN_ROUTE, Action.ON_SCENE)
            try:
                committed = self._store.commit_transition(
                    alert_id,
                    version,
                    result.after,
                    now,
                    action.value,
                    f"by {actor}",
                    assignee=actor if claims and alert.assignee is None else None,
                    outcome=None if outcome is None else outcome.value,
                    outcome_detail=detail,
                    token_nonce=token_nonce,
                )
            except TokenAlreadyUsed:
                self._store.note(
                    alert_id, now, "rejected", f"{action.value} by {actor}: link already used"
                )
                return ActResult(False, 409, "this link was already used", alert)
            if not committed:
                continue
            after = self._store.alert(alert_id)
            assert after is not None
            self._hub.publish({"type": "alert", "id": alert_id})
            if action is Action.ACK or (action is Action.EN_ROUTE and alert.assignee is None):
                self._dispatcher.claim(after, actor)
            if action is Action.CANCEL and alert.origin == "edge":
                self._command(alert, CommandBody("checkin_cancel", {"alert": alert_id}))
            return ActResult(True, 200, result.note, after)
        return ActResult(False, 409, "the alert changed at the same moment; try again")

    def edge_update(self, alert_id: str, change: AlertUpdate) -> bool:
        """The edge reports a check-in answered or run out, or breathing seen again."""
        now = self._now()
        if self._store.lifecycle(alert_id) is None:
            _LOGGER.warning("update %s for unknown alert %s", change.value, alert_id)
            return False
        return (
            self._apply(alert_id, lambda life, policy: update(life, change, policy, now), now) > 0
        )

    # -- shared -----------------------------------------------------------------------------------

    def _apply(
        self,
        alert_id: str,
        step: Callable[[Lifecycle, EscalationPolicy], Transition | Rejection],
        now: datetime,
    ) -> int:
        for _ in range(CAS_RETRIES):
            loaded = self._store.lifecycle(alert_id)
            alert = self._store.alert(alert_id)
            if loaded is None or alert is None:
                return 0
            life, version = loaded
            result = step(life, self.policy(alert.site_id))
            if isinstance(result, Rejection):
                if life.deadline is not None and life.deadline <= now:
                    # A timer that no longer applies would fire every tick: clear it, say why.
                    self._store.commit_transition(
                        alert_id,
                        version,
                        Lifecycle(life.state, life.level, life.cycle),
                        now,
                        "timer_cleared",
                        result.reason,
                    )
                else:
                    self._store.note(alert_id, now, "ignored", result.reason)
                return 0
            if result.page is not None:
                event = "escalated"
            elif result.after.state is not life.state:
                event = result.after.state.value
            else:
                event = "note"
            if self._store.commit_transition(
                alert_id, version, result.after, now, event, result.note
            ):
                self._hub.publish({"type": "alert", "id": alert_id})
                if result.page is not None:
                    self._page(alert_id, result.page)
                return 1
        return 0

    def page_now(self, alert_id: str, page: Page) -> None:
        """Send a page for an alert without changing its state (technical alerts)."""
        self._store.note(alert_id, self._now(), "notifying", page.reason)
        self._page(alert_id, page)

    def _page(self, alert_id: str, page: Page) -> None:
        alert = self._store.alert(alert_id)
        if alert is not None:
            self._dispatcher.page(alert, page)

    def _command(self, alert: Alert, body: CommandBody) -> None:
        if self._send_command is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._send_command(alert.site_id, alert.edge_id, body)
        )
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)
