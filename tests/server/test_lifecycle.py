"""The alert lifecycle: the transition table, timers, and invariants under random event orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmware_bridge.wire import AlertUpdate
from server.domain.alerts import AlertState
from server.domain.lifecycle import (
    ALLOWED_FROM,
    OPEN_STATES,
    Action,
    EscalationPolicy,
    Lifecycle,
    Rejection,
    TimerKind,
    Transition,
    act,
    expire,
    start,
    update,
)

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
POLICY = EscalationPolicy()


def _s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _ok(result: Transition | Rejection) -> Transition:
    assert isinstance(result, Transition), result
    return result


def test_lifecycle_new_critical_alert_pages_level_zero_with_its_timeout() -> None:
    t = start(pages=True, checkin_s=None, policy=POLICY, now=T0)
    assert t.after == Lifecycle(AlertState.TRIGGERED, 0, 0, _s(60), TimerKind.ESCALATE)
    assert t.page is not None
    assert (t.page.level, t.page.everyone_up_to) == (0, False)


def test_lifecycle_warning_with_checkin_pages_nobody_until_it_runs_out() -> None:
    t = start(pages=True, checkin_s=20, policy=POLICY, now=T0)
    assert t.page is None
    assert t.after.state is AlertState.CHECKING_IN
    assert t.after.deadline == _s(20 + POLICY.checkin_grace_s)
    assert isinstance(expire(t.after, POLICY, _s(29)), Rejection)
    paged = _ok(expire(t.after, POLICY, _s(30)))
    assert paged.after.state is AlertState.TRIGGERED
    assert paged.page is not None


def test_lifecycle_wearer_cancel_ends_checkin_without_paging() -> None:
    checking = start(pages=True, checkin_s=20, policy=POLICY, now=T0).after
    t = _ok(update(checking, AlertUpdate.CANCELLED_BY_WEARER, POLICY, _s(5)))
    assert t.after == Lifecycle(AlertState.CANCELLED)
    assert t.page is None
    # A late cancel after paging began changes nothing.
    triggered = _ok(update(checking, AlertUpdate.CHECKIN_EXPIRED, POLICY, _s(20))).after
    assert isinstance(update(triggered, AlertUpdate.CANCELLED_BY_WEARER, POLICY, _s(21)), Rejection)


def test_lifecycle_escalates_through_levels_then_repeats_the_last() -> None:
    life = start(pages=True, checkin_s=None, policy=POLICY, now=T0).after
    pages = []
    now = 0.0
    for _ in range(5):
        assert life.deadline is not None
        now = (life.deadline - T0).total_seconds()
        t = _ok(expire(life, POLICY, _s(now)))
        assert t.page is not None
        pages.append((now, t.page.level, t.page.everyone_up_to))
        life = t.after
    # 60 s level 0, +60 s level 1, +90 s level 2, then level 2 again every 90 s, cumulatively.
    assert pages == [
        (60, 1, False),
        (120, 2, False),
        (210, 2, True),
        (300, 2, True),
        (390, 2, True),
    ]
    assert life.cycle == 3


def test_lifecycle_stalled_acknowledgement_escalates_again() -> None:
    life = start(pages=True, checkin_s=None, policy=POLICY, now=T0).after
    acked = _ok(act(life, Action.ACK, POLICY, _s(10))).after
    assert (acked.timer, acked.deadline) == (TimerKind.EN_ROUTE_STALL, _s(70))
    t = _ok(expire(acked, POLICY, _s(70)))
    assert t.after.state is AlertState.TRIGGERED
    assert t.page is not None
    assert t.page.level == 1
    on_way = _ok(act(t.after, Action.EN_ROUTE, POLICY, _s(80))).after
    assert (on_way.timer, on_way.deadline) == (TimerKind.ON_SCENE_STALL, _s(260))
    arrived = _ok(act(on_way, Action.ON_SCENE, POLICY, _s(200))).after
    assert (arrived.state, arrived.deadline) == (AlertState.ON_SCENE, None)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(AlertState))
def test_lifecycle_transition_table(action: Action, state: AlertState) -> None:
    current = Lifecycle(state)
    result = act(current, action, POLICY, T0)
    if state in ALLOWED_FROM[action]:
        assert isinstance(result, Transition)
        assert (
            result.after.state.value
            == {
                Action.ACK: "acknowledged",
                Action.EN_ROUTE: "en_route",
                Action.ON_SCENE: "on_scene",
                Action.RESOLVE: "resolved",
                Action.CANCEL: "cancelled",
            }[action]
        )
    else:
        assert isinstance(result, Rejection)
        assert state.value in result.reason


def test_lifecycle_late_ack_after_resolve_is_rejected() -> None:
    resolved = Lifecycle(AlertState.RESOLVED)
    result = act(resolved, Action.ACK, POLICY, T0)
    assert isinstance(result, Rejection)
    assert "resolved" in result.reason


def test_lifecycle_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one level"):
        EscalationPolicy(level_timeouts_s=())
    with pytest.raises(ValueError, match="positive"):
        EscalationPolicy(level_timeouts_s=(60.0, 0.0))


class LifecycleMachine(RuleBasedStateMachine):
    """Random interleavings of taps, timers and edge updates keep the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.life = start(pages=True, checkin_s=20, policy=POLICY, now=T0).after
        self.ever_closed_by_person = False

    @rule(action=st.sampled_from(list(Action)), wait_s=st.floats(0, 400))
    def tap(self, action: Action, wait_s: float) -> None:
        self.now += timedelta(seconds=wait_s)
        before = self.life
        result = act(before, action, POLICY, self.now)
        if isinstance(result, Transition):
            self.life = result.after
        else:
            assert self.life == before

    @rule(wait_s=st.floats(0, 400))
    def tick(self, wait_s: float) -> None:
        self.now += timedelta(seconds=wait_s)
        before = self.life
        result = expire(before, POLICY, self.now)
        if isinstance(result, Transition):
            # A timer never closes an alert, never lowers the level.
            assert result.after.state in OPEN_STATES
            assert result.after.level >= before.level or before.state is AlertState.CHECKING_IN
            self.life = result.after

    @rule(change=st.sampled_from(list(AlertUpdate)))
    def edge_update(self, change: AlertUpdate) -> None:
        before = self.life
        result = update(before, change, POLICY, self.now)
        if isinstance(result, Transition):
            if result.after.state is not before.state:
                # Only the check-in can be ended by the edge; nothing else changes state.
                assert before.state is AlertState.CHECKING_IN
            self.life = result.after

    @invariant()
    def closed_states_are_final_and_timerless(self) -> None:
        if self.life.state in (AlertState.RESOLVED, AlertState.CANCELLED):
            assert self.life.deadline is None
            for action in Action:
                assert isinstance(act(self.life, action, POLICY, self.now), Rejection)

    @invariant()
    def an_unclaimed_alert_always_has_a_timer(self) -> None:
        if self.life.state in (
            AlertState.CHECKING_IN,
            AlertState.TRIGGERED,
            AlertState.ACKNOWLEDGED,
            AlertState.EN_ROUTE,
        ):
            assert self.life.deadline is not None

    @invariant()
    def level_stays_within_policy(self) -> None:
        assert 0 <= self.life.level <= POLICY.last_level


TestLifecycleMachine = LifecycleMachine.TestCase
