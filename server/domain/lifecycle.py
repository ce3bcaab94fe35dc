"""The alert lifecycle as a table-driven state machine with durable timers (pure).

An alert's lifecycle is a small value, :class:`Lifecycle` (state, escalation level and cycle,
the one pending timer). Every event — a new alert, a responder's tap, a timer running out, an
update from the edge — is a pure function from the current value to a :class:`Transition` or a
:class:`Rejection`. The shell stores the new value with a compare-and-set and only then sends
what the transition asks for. Nothing here closes an alert by itself: only a person resolves.

States::

    checking_in --wearer/staff cancel--> cancelled
        | no answer (edge update, or the window + grace runs out)
        v
    triggered --ack--> acknowledged --en_route--> en_route --on_scene--> on_scene
        ^  | a level times out: page the next level (the last repeats)
        |  v
        +-- acknowledged or en_route stalls: back to triggered, next level
    any open state --resolve (with an outcome)--> resolved

    noted: recorded for staff, nobody paged (stillness alone, recovery, device health)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from firmware_bridge.wire import AlertUpdate
from server.domain.alerts import AlertState


class Action(StrEnum):
    """What a person can do to an alert."""

    ACK = "ack"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVE = "resolve"
    CANCEL = "cancel"


class Outcome(StrEnum):
    """How an alert ended; required to resolve."""

    NALOXONE_GIVEN = "naloxone_given"
    AMBULANCE_CALLED = "ambulance_called"
    BREATHING_RESTORED = "breathing_restored"
    OCCUPANT_OK = "occupant_ok"
    FALSE_ALARM = "false_alarm"
    SPACE_EMPTY = "space_empty"
    RECONNECTED = "reconnected"
    """A technical alert whose cause went away (an edge came back online)."""
    OTHER = "other"


class TimerKind(StrEnum):
    """What the single pending timer of an alert is waiting for."""

    CHECKIN = "checkin"
    """The wearer's check-in window (plus grace for the edge's update to arrive)."""
    ESCALATE = "escalate"
    """Nobody acknowledged at this level in time."""
    EN_ROUTE_STALL = "en_route_stall"
    """Acknowledged, but nobody said they were on their way in time."""
    ON_SCENE_STALL = "on_scene_stall"
    """On the way, but nobody arrived in time."""
    NOTIFY_LATER = "notify_later"
    """A non-urgent message held until the site's operating hours."""


OPEN_STATES: Final = frozenset(
    {
        AlertState.CHECKING_IN,
        AlertState.TRIGGERED,
        AlertState.ACKNOWLEDGED,
        AlertState.EN_ROUTE,
        AlertState.ON_SCENE,
        AlertState.NOTED,
    }
)

ALLOWED_FROM: Final[dict[Action, frozenset[AlertState]]] = {
    Action.ACK: frozenset({AlertState.TRIGGERED}),
    Action.EN_ROUTE: frozenset({AlertState.TRIGGERED, AlertState.ACKNOWLEDGED}),
    Action.ON_SCENE: frozenset(
        {AlertState.TRIGGERED, AlertState.ACKNOWLEDGED, AlertState.EN_ROUTE}
    ),
    Action.RESOLVE: OPEN_STATES,
    Action.CANCEL: frozenset({AlertState.CHECKING_IN}),
}
"""Which states each action may be taken from; anything else is a rejected (late) tap."""

TARGET_OF: Final[dict[Action, AlertState]] = {
    Action.ACK: AlertState.ACKNOWLEDGED,
    Action.EN_ROUTE: AlertState.EN_ROUTE,
    Action.ON_SCENE: AlertState.ON_SCENE,
    Action.RESOLVE: AlertState.RESOLVED,
    Action.CANCEL: AlertState.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """How fast an alert climbs the levels; all durations in seconds.

    Attributes:
        level_timeouts_s: time each level has to acknowledge before the next is added. The last
            level repeats until someone acknowledges.
        ack_to_en_route_s: an acknowledged alert with nobody on the way escalates again after this.
        en_route_to_on_scene_s: an alert with somebody on the way but not there escalates again.
        checkin_grace_s: extra wait past the edge's check-in window for its update to arrive.
    """

    level_timeouts_s: tuple[float, ...] = (60.0, 60.0, 90.0)
    ack_to_en_route_s: float = 60.0
    en_route_to_on_scene_s: float = 180.0
    checkin_grace_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.level_timeouts_s:
            message = "an escalation policy needs at least one level"
            raise ValueError(message)
        durations = (*self.level_timeouts_s, self.ack_to_en_route_s, self.en_route_to_on_scene_s)
        if any(d <= 0 for d in durations) or self.checkin_grace_s < 0:
            message = "escalation timeouts must be positive"
            raise ValueError(message)

    @property
    def last_level(self) -> int:
        """Index of the last level, the one that repeats."""
        return len(self.level_timeouts_s) - 1

    def timeout_s(self, level: int) -> float:
        """How long ``level`` has to acknowledge."""
        return self.level_timeouts_s[min(level, self.last_level)]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where one alert is: its state, escalation position and its one pending timer."""

    state: AlertState
    level: int = 0
    cycle: int = 0
    deadline: datetime | None = None
    timer: TimerKind | None = None

    def __post_init__(self) -> None:
        if (self.deadline is None) != (self.timer is None):
            message = "a deadline and its timer kind go together"
            raise ValueError(message)


@dataclass(frozen=True, slots=True)
class Page:
    """Responders to page: everyone at ``level`` or, when ``everyone_up_to``, all levels to it."""

    level: int
    everyone_up_to: bool
    reason: str
    repeat: bool = False
    """Whether this page goes round the levels again: its text says "(still unanswered)"."""


@dataclass(frozen=True, slots=True)
class Transition:
    """The lifecycle after an event, what to record, and whom to page once it is committed."""

    after: Lifecycle
    note: str
    page: Page | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event that does not apply in the current state (a late or duplicate tap)."""

    reason: str


def _at(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)


def _trigger(policy: EscalationPolicy, now: datetime, reason: str) -> Transition:
    after = Lifecycle(AlertState.TRIGGERED, 0, 0, _at(now, policy.timeout_s(0)), TimerKind.ESCALATE)
    return Transition(after, reason, Page(0, everyone_up_to=False, reason=reason))


def start(
    *, pages: bool, checkin_s: float | None, policy: EscalationPolicy, now: datetime
) -> Transition:
    """The lifecycle of a newly stored alert.

    Args:
        pages: whether the alert's kind pages responders at all.
        checkin_s: the edge's check-in window, if it is asking the wearer first.
        policy: the site's escalation policy.
        now: the time it was stored.
    """
    if not pages:
        return Transition(Lifecycle(AlertState.NOTED), "noted: shown to staff, nobody paged")
    if checkin_s is not None:
        deadline = _at(now, checkin_s + policy.checkin_grace_s)
        after = Lifecycle(AlertState.CHECKING_IN, 0, 0, deadline, TimerKind.CHECKIN)
        return Transition(after, f"checking in with the wearer for {checkin_s:.0f} s")
    return _trigger(policy, now, "paging level 0")


def act(
    current: Lifecycle, action: Action, policy: EscalationPolicy, now: datetime
) -> Transition | Rejection:
    """A person's action (tap, panel button) on an alert in ``current``."""
    if current.state not in ALLOWED_FROM[action]:
        return Rejection(f"{action.value} is not possible when the alert is {current.state.value}")
    target = TARGET_OF[action]
    match action:
        case Action.ACK:
            after = replace(
                current,
                state=target,
                deadline=_at(now, policy.ack_to_en_route_s),
                timer=TimerKind.EN_ROUTE_STALL,
            )
        case Action.EN_ROUTE:
            after = replace(
                current,
                state=target,
                deadline=_at(now, policy.en_route_to_on_scene_s),
                timer=TimerKind.ON_SCENE_STALL,
            )
        case _:
            after = replace(current, state=target, deadline=None, timer=None)
    return Transition(after, action.value)


def _escalate(current: Lifecycle, policy: EscalationPolicy, now: datetime, why: str) -> Transition:
    if current.level >= policy.last_level:
        level, cycle, everyone = policy.last_level, current.cycle + 1, True
    else:
        level, cycle, everyone = current.level + 1, current.cycle, False
    after = Lifecycle(
        AlertState.TRIGGERED, level, cycle, _at(now, policy.timeout_s(level)), TimerKind.ESCALATE
    )
    note = f"{why}: paging level {level}" + (f" again (repeat {cycle})" if everyone else "")
    return Transition(
        after, note, Page(level, everyone_up_to=everyone, reason=why, repeat=everyone)
    )


def unreachable(
    current: Lifecycle, policy: EscalationPolicy, now: datetime, level: int, cycle: int
) -> Transition | Rejection:
    """Every channel of every responder paged at (``level``, ``cycle``) failed: escalate now.

    Waiting out the level's timeout would only waste the minutes nobody can hear about.
    """
    if current.state is not AlertState.TRIGGERED:
        return Rejection(f"nobody reachable, but the alert is {current.state.value}")
    if (current.level, current.cycle) != (level, cycle):
        return Rejection("nobody reachable at a level the alert has already left")
    if current.level >= policy.last_level:
        # Repeating at once would loop as fast as the channels fail; the repeat keeps its wait.
        return Rejection("nobody reachable at the last level: it repeats when its time runs out")
    return _escalate(current, policy, now, f"nobody at level {level} could be reached")


def expire(current: Lifecycle, policy: EscalationPolicy, now: datetime) -> Transition | Rejection:
    """The alert's timer ran out at ``now``."""
    if current.deadline is None or current.timer is None:
        return Rejection("no timer is pending")
    if now < current.deadline:
        return Rejection("the timer is not due yet")
    match current.timer:
        case TimerKind.CHECKIN if current.state is AlertState.CHECKING_IN:
            return _trigger(policy, now, "no answer to the check-in")
        case TimerKind.ESCALATE if current.state is AlertState.TRIGGERED:
            return _escalate(current, policy, now, f"level {current.level} did not acknowledge")
        case TimerKind.EN_ROUTE_STALL if current.state is AlertState.ACKNOWLEDGED:
            return _escalate(current, policy, now, "acknowledged but nobody on the way")
        case TimerKind.ON_SCENE_STALL if current.state is AlertState.EN_ROUTE:
            return _escalate(current, policy, now, "on the way but not arrived")
        case TimerKind.NOTIFY_LATER if current.state is AlertState.NOTED:
            after = replace(current, deadline=None, timer=None)
            return Transition(
                after,
                "operating hours: notifying staff",
                Page(0, everyone_up_to=False, reason="within operating hours"),
            )
    return Rejection(f"a {current.timer.value} timer does not apply to {current.state.value}")


def update(
    current: Lifecycle, change: AlertUpdate, policy: EscalationPolicy, now: datetime
) -> Transition | Rejection:
    """The edge reports what became of the alert."""
    match change:
        case AlertUpdate.CANCELLED_BY_WEARER if current.state is AlertState.CHECKING_IN:
            after = Lifecycle(AlertState.CANCELLED)
            return Transition(after, "the wearer answered the check-in: cancelled")
        case AlertUpdate.CHECKIN_EXPIRED if current.state is AlertState.CHECKING_IN:
            return _trigger(policy, now, "no answer to the check-in")
        case AlertUpdate.CONDITION_CLEARED:
            return Transition(current, "the detector sees breathing again (alert stays open)")
    return Rejection(f"{change.value} does not apply to an alert that is {current.state.value}")


def hold_until(current: Lifecycle, opens_at: datetime) -> Lifecycle:
    """A noted alert whose staff notification waits for the site's operating hours."""
    return replace(current, deadline=opens_at, timer=TimerKind.NOTIFY_LATER)
