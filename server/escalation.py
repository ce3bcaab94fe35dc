"""Applies lifecycle transitions: compare-and-set, with the pushes they cause queued (shell).

Timers are rows (``alerts.deadline``), fired by :meth:`Escalator.tick` once a second, so a
server killed mid-escalation resumes on schedule when it starts again. The pushes a transition
causes are queued in the same transaction (:mod:`server.store.pushes`) and the sender is woken:
a crash between the commit and the send cannot lose a page. People's actions and the edge's
updates go through the same path. Every rejected (late or duplicate) action is recorded on the
alert's timeline. Commands to edges run as supervised tasks, awaited at shutdown.
"""

from __future__ import annotations

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
    unreachable,
    update,
)
from server.live import LiveHub
from server.store.db import Store, TokenAlreadyUsed
from server.store.pushes import QueuedPush

_LOGGER = logging.getLogger(__name__)

SYSTEM_ACTOR: Final = "system"
"""Who closes an alert whose cause went away by itself (no person acted)."""
CAS_RETRIES: Final = 3
"""Attempts before a contended transition gives up (two taps in the same millisecond)."""

CommandSender = Callable[[str, str, CommandBody], Awaitable[None]]
Spawn = Callable[[Awaitable[None], str], None]


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
        spawn: Spawn,
        wake_sender: Callable[[], None] = lambda: None,
        send_command: CommandSender | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._hub = hub
        self._dispatcher = dispatcher
        self._spawn = spawn
        self._wake_sender = wake_sender
        self._send_command = send_command
        self._now = now
        self._on_admit: list[Callable[[Alert], None]] = []
        self._planners: list[Callable[[Alert], list[QueuedPush]]] = []

    def also_plan(self, planner: Callable[[Alert], list[QueuedPush]]) -> None:
        """Queue ``planner(alert)``'s pushes with every new alert, in its insert (drills)."""
        self._planners.append(planner)

    def also_on_admit(self, hook: Callable[[Alert], None]) -> None:
        """Call ``hook`` with every newly stored alert, after its commit (drills)."""
        self._on_admit.append(hook)

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
        pushes = self._plan(alert, first.page, first.after)
        for planner in self._planners:
            pushes += planner(alert)
        if not self._store.insert_alert(alert, first.after, first.note, pushes):
            return False
        self._after_commit(alert.alert_id, first.page, pushes)
        for hook in self._on_admit:
            hook(alert)
        return True

    def resume(self) -> int:
        """At start-up: page any triggered alert with no push ever queued (stored before the queue).

        Pushes still pending in the queue need nothing here: the sender sends them again.
        """
        unsent = self._store.alerts_without_deliveries()  # triggered ones only
        for alert in unsent:
            _LOGGER.warning(
                "alert %s was never sent; paging level %d now", alert.alert_id, alert.level
            )
            self.page_now(
                alert.alert_id,
                Page(alert.level, everyone_up_to=True, reason="resumed after a restart"),
            )
        return len(unsent)

    # -- timers -----------------------------------------------------------------------------------

    def tick(self) -> int:
        """Fire every timer due now; returns how many transitions were committed."""
        now = self._now()
        fired = 0
        for alert_id in self._store.due_alert_ids(now):
            fired += self._apply(alert_id, lambda life, policy: expire(life, policy, now), now)
        return fired

    # -- people and edges -------------------------------------------------------------------------

    def resolve_by_system(self, alert_id: str, outcome: Outcome, text: str, **detail: str) -> bool:
        """Close an alert whose cause went away by itself; False (and logged) if it could not
        be closed. A database error is raised, for the caller to retry."""
        result = self.act(
            alert_id, Action.RESOLVE, SYSTEM_ACTOR, outcome=outcome, detail={"text": text, **detail}
        )
        if not result.ok:
            _LOGGER.warning("could not close alert %s: %s", alert_id, result.message)
        return result.ok

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
            tells = action is Action.ACK or (action is Action.EN_ROUTE and alert.assignee is None)
            pushes = self._dispatcher.plan_claim(alert, actor, life.cycle) if tells else []
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
                    pushes=pushes,
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
            if pushes:
                self._wake_sender()
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

    def nobody_reachable(self, failed: QueuedPush) -> bool:
        """Every page of ``failed``'s level failed on every channel: escalate now, not later.

        Returns:
            True if the alert escalated (it was still waiting at that level).
        """
        now = self._now()
        return (
            self._apply(
                failed.alert_id,
                lambda life, policy: unreachable(life, policy, now, failed.level, failed.cycle),
                now,
            )
            > 0
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
            pushes = self._plan(alert, result.page, result.after)
            if self._store.commit_transition(
                alert_id, version, result.after, now, event, result.note, pushes=pushes
            ):
                self._after_commit(alert_id, result.page, pushes)
                return 1
        return 0

    def page_now(self, alert_id: str, page: Page) -> None:
        """Queue a page for an alert without changing its state (technical alerts)."""
        alert = self._store.alert(alert_id)
        loaded = self._store.lifecycle(alert_id)
        if alert is None or loaded is None:
            return
        life = loaded[0]
        pushes = self._plan(alert, page, life)
        self._store.note(alert_id, self._now(), "notifying", page.reason, pushes)
        self._after_commit(alert_id, page, pushes)

    def _plan(self, alert: Alert, page: Page | None, after: Lifecycle) -> list[QueuedPush]:
        if page is None:
            return []
        return self._dispatcher.plan_page(alert, page, state=after.state, cycle=after.cycle)

    def _after_commit(self, alert_id: str, page: Page | None, pushes: list[QueuedPush]) -> None:
        self._hub.publish({"type": "alert", "id": alert_id})
        if pushes:
            self._wake_sender()
        elif page is not None:
            self._store.note(
                alert_id, self._now(), "no_responder", "no responder is configured for this site"
            )

    def _command(self, alert: Alert, body: CommandBody) -> None:
        if self._send_command is None:
            return
        self._spawn(
            self._send_command(alert.site_id, alert.edge_id, body),
            f"command {body.command} to {alert.site_id}/{alert.edge_id}",
        )
