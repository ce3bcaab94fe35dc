"""The "are you OK?" check-in with the wearer: one small state machine per person (pure).

A warning that would page responders first asks the wearer: the edge sends the alert with
``checkin_s`` (the server holds its pages that long, plus a grace), buzzes the person's
wearables and opens a window. The wearer's button answers it; otherwise it runs out. Every
input returns a :class:`Step`: the new state plus what the shell must do (buzz on or off,
send updates, raise a help alert). Time is passed in as monotonic seconds; nothing here
sleeps, buzzes or sends.

Transitions (``alerts`` is the ids the window covers)::

    idle/closed --warning, paging kind, window on--> checking (buzz on, deadline = now + window)
    checking    --another such warning--> checking (joins: sent with the time left)
    checking    --button--> answered (buzz off, cancelled_by_wearer for each alert)
    checking    --deadline passes--> expired (buzz off, checkin_expired for each alert)
    checking    --critical alert--> expired (buzz off, checkin_expired; the critical pages now)
    checking    --staff cancel of its last alert--> cancelled_by_staff (buzz off, no update)
    checking    --monitoring stops (consent)--> idle (buzz off, no update: the server's own
                                                 check-in timer decides)
    not checking --button--> unchanged, help alert (a button press with no question is a call
                                                 for help), unless it repeats an answer
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from firmware_bridge.wire import MAX_CHECKIN_S, PAGING_KINDS, AlertKind, AlertUpdate, Severity

DEFAULT_CHECKIN_S: Final = 20.0
"""Window before responders are paged for a warning: Apple Watch fall detection counts down 30 s
after a minute of stillness, Brave's app 10 s; 20 s answers a drowsy wearer without leaving a
slowing breather unattended much longer (alerting_mqtt.md §1.6, §1.8 T_local = 20 s)."""

ANSWER_REPEAT_S: Final = 3.0
"""A press this soon after answering a check-in is the same answer pressed twice (a nervous
double tap), not a call for help; Brave treats a burst of presses as one message."""

MIN_JOIN_S: Final = 0.001
"""A warning joining a window sends at least this ``checkin_s`` (the wire needs it positive)."""


class Phase(StrEnum):
    """Where a person's check-in stands."""

    IDLE = "idle"
    """No window open and none closed yet (or monitoring stopped)."""
    CHECKING = "checking"
    """Buzzing; waiting for the button until the deadline."""
    ANSWERED = "answered"
    """The wearer pressed the button in time."""
    EXPIRED = "expired"
    """Nobody answered in time, or a critical alert overtook the window."""
    CANCELLED_BY_STAFF = "cancelled_by_staff"
    """Staff cancelled every alert of the window on the panel."""


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One person's check-in state.

    Attributes:
        phase: where it stands.
        alerts: ids of the alerts the open window covers (empty unless checking).
        deadline_s: when the open window runs out, monotonic seconds (None unless checking).
        closed_s: when the last window closed, monotonic seconds.
    """

    phase: Phase = Phase.IDLE
    alerts: tuple[str, ...] = ()
    deadline_s: float | None = None
    closed_s: float | None = None

    def __post_init__(self) -> None:
        checking = self.phase is Phase.CHECKING
        if checking != bool(self.alerts) or checking != (self.deadline_s is not None):
            message = f"a {self.phase} check-in cannot have alerts {self.alerts!r}"
            raise ValueError(message)

    @property
    def open(self) -> bool:
        """Whether a window is open."""
        return self.phase is Phase.CHECKING


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one input: the new state and what the shell must do, in this order.

    Attributes:
        state: the new check-in state.
        checkin_s: for :func:`alert_raised`, the ``checkin_s`` to send the alert with.
        updates: ``(alert id, update)`` messages to queue for the server.
        buzz: ``True`` start buzzing the wearables, ``False`` stop, ``None`` leave as is.
        help_alert: raise a ``button`` alert (critical): the wearer is calling for help.
    """

    state: CheckIn
    checkin_s: float | None = None
    updates: tuple[tuple[str, AlertUpdate], ...] = ()
    buzz: bool | None = None
    help_alert: bool = False


def _close(state: CheckIn, phase: Phase, update: AlertUpdate | None, now_s: float) -> Step:
    updates = () if update is None else tuple((alert, update) for alert in state.alerts)
    return Step(CheckIn(phase, closed_s=now_s), updates=updates, buzz=False)


def _then(first: Step, second: Step) -> Step:
    """``second`` applied after ``first``: updates in order, the later buzz wins."""
    return replace(
        second,
        updates=first.updates + second.updates,
        buzz=first.buzz if second.buzz is None else second.buzz,
    )


def tick(state: CheckIn, now_s: float) -> Step:
    """Time passes: an open window whose deadline is due expires."""
    if state.open and state.deadline_s is not None and now_s >= state.deadline_s:
        return _close(state, Phase.EXPIRED, AlertUpdate.CHECKIN_EXPIRED, now_s)
    return Step(state)


def alert_raised(
    state: CheckIn,
    alert_id: str,
    kind: AlertKind,
    severity: Severity,
    window_s: float,
    now_s: float,
) -> Step:
    """An alert with id ``alert_id`` is about to be sent; decide its ``checkin_s``.

    Args:
        state: the person's check-in.
        alert_id: the id the alert will be sent with.
        kind: what was detected.
        severity: how urgent it is.
        window_s: the site's check-in window in seconds; 0 turns check-ins off.
        now_s: monotonic seconds.
    """
    if not 0 <= window_s <= MAX_CHECKIN_S:
        message = f"window_s must be 0-{MAX_CHECKIN_S:.0f} s, got {window_s!r}"
        raise ValueError(message)
    due = tick(state, now_s)
    state = due.state
    if severity is Severity.CRITICAL:
        if state.open:
            return _then(due, _close(state, Phase.EXPIRED, AlertUpdate.CHECKIN_EXPIRED, now_s))
        return due
    if severity is not Severity.WARNING or kind not in PAGING_KINDS or window_s == 0:
        return due
    if state.open and state.deadline_s is not None:
        # Clamped to the window: (now + window) - now can come out a hair above window.
        left_s = min(max(state.deadline_s - now_s, MIN_JOIN_S), window_s)
        joined = replace(state, alerts=(*state.alerts, alert_id))
        return _then(due, Step(joined, checkin_s=left_s))
    opened = CheckIn(Phase.CHECKING, (alert_id,), now_s + window_s, state.closed_s)
    return _then(due, Step(opened, checkin_s=window_s, buzz=True))


def button_pressed(state: CheckIn, now_s: float) -> Step:
    """The wearer pressed their button: an answer if a window is open, else a call for help."""
    due = tick(state, now_s)
    state = due.state
    if state.open:
        return _then(due, _close(state, Phase.ANSWERED, AlertUpdate.CANCELLED_BY_WEARER, now_s))
    answered_just_now = (
        state.phase is Phase.ANSWERED
        and state.closed_s is not None
        and now_s - state.closed_s < ANSWER_REPEAT_S
    )
    if answered_just_now:
        return due
    return _then(due, Step(state, help_alert=True))


def staff_cancelled(state: CheckIn, alert_id: str, now_s: float) -> Step:
    """Staff cancelled alert ``alert_id`` on the panel; the window ends with its last alert."""
    if not state.open or alert_id not in state.alerts:
        return Step(state)
    left = tuple(alert for alert in state.alerts if alert != alert_id)
    if left:
        return Step(replace(state, alerts=left))
    return _close(state, Phase.CANCELLED_BY_STAFF, None, now_s)


def stopped(state: CheckIn, now_s: float) -> Step:
    """Monitoring of the person stops (consent withdrawn or paused): end any window quietly."""
    if not state.open:
        return Step(CheckIn(closed_s=state.closed_s))
    return _close(state, Phase.IDLE, None, now_s)
