"""The check-in state machine: a transition table and a Hypothesis model of its invariants."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from edge import checkin
from edge.checkin import ANSWER_REPEAT_S, CheckIn, Phase, Step
from firmware_bridge.wire import AlertKind, AlertUpdate, Severity

WINDOW_S = 20.0
A, B = "01M822MFWZRGS44KZ3EFG9HD4A", "01M822MFWZRGS44KZ3EFG9HD4B"
IDLE = CheckIn()
CHECKING_A = CheckIn(Phase.CHECKING, (A,), 120.0)
CHECKING_AB = CheckIn(Phase.CHECKING, (A, B), 120.0)
ANSWERED_AT_100 = CheckIn(Phase.ANSWERED, closed_s=100.0)
CANCELLED = AlertUpdate.CANCELLED_BY_WEARER
EXPIRED = AlertUpdate.CHECKIN_EXPIRED


def warn(state: CheckIn, alert: str = A, now_s: float = 100.0, **kw: object) -> Step:
    kind = kw.get("kind", AlertKind.APNOEA)
    severity = kw.get("severity", Severity.WARNING)
    window_s = kw.get("window_s", WINDOW_S)
    assert isinstance(kind, AlertKind)
    assert isinstance(severity, Severity)
    assert isinstance(window_s, float)
    return checkin.alert_raised(state, alert, kind, severity, window_s, now_s)


@pytest.mark.parametrize(
    ("name", "step", "expected"),
    [
        (
            "paging warning opens a window and buzzes",
            warn(IDLE),
            Step(CHECKING_A, checkin_s=WINDOW_S, buzz=True),
        ),
        (
            "a window opened after an answer keeps when that was",
            warn(ANSWERED_AT_100, now_s=110.0),
            Step(CheckIn(Phase.CHECKING, (A,), 130.0, 100.0), checkin_s=WINDOW_S, buzz=True),
        ),
        (
            "another warning joins with the time left",
            warn(CHECKING_A, B, now_s=115.0),
            Step(CHECKING_AB, checkin_s=5.0),
        ),
        (
            "critical pages at once and expires the open window",
            warn(CHECKING_AB, B, now_s=110.0, severity=Severity.CRITICAL),
            Step(
                CheckIn(Phase.EXPIRED, closed_s=110.0),
                updates=((A, EXPIRED), (B, EXPIRED)),
                buzz=False,
            ),
        ),
        (
            "critical with nothing open changes nothing",
            warn(IDLE, severity=Severity.CRITICAL),
            Step(IDLE),
        ),
        ("stillness never checks in", warn(IDLE, kind=AlertKind.STILLNESS), Step(IDLE)),
        ("recovery never checks in", warn(IDLE, kind=AlertKind.RECOVERED), Step(IDLE)),
        ("window 0 turns check-ins off", warn(IDLE, window_s=0.0), Step(IDLE)),
        (
            "button in the window cancels every alert of it",
            checkin.button_pressed(CHECKING_AB, 110.0),
            Step(
                CheckIn(Phase.ANSWERED, closed_s=110.0),
                updates=((A, CANCELLED), (B, CANCELLED)),
                buzz=False,
            ),
        ),
        (
            "button with no window calls for help",
            checkin.button_pressed(IDLE, 5.0),
            Step(IDLE, help_alert=True),
        ),
        (
            "a second press just after answering is the same answer",
            checkin.button_pressed(ANSWERED_AT_100, 100.0 + ANSWER_REPEAT_S / 2),
            Step(ANSWERED_AT_100),
        ),
        (
            "a press well after answering calls for help",
            checkin.button_pressed(ANSWERED_AT_100, 100.0 + ANSWER_REPEAT_S),
            Step(ANSWERED_AT_100, help_alert=True),
        ),
        (
            "a press after the deadline is too late: expired, then a call for help",
            checkin.button_pressed(CHECKING_A, 120.0),
            Step(
                CheckIn(Phase.EXPIRED, closed_s=120.0),
                updates=((A, EXPIRED),),
                buzz=False,
                help_alert=True,
            ),
        ),
        ("tick before the deadline waits", checkin.tick(CHECKING_A, 119.9), Step(CHECKING_A)),
        (
            "tick at the deadline expires",
            checkin.tick(CHECKING_A, 120.0),
            Step(CheckIn(Phase.EXPIRED, closed_s=120.0), updates=((A, EXPIRED),), buzz=False),
        ),
        (
            "a warning after a due deadline expires the old window first",
            warn(CHECKING_A, B, now_s=121.0),
            Step(
                CheckIn(Phase.CHECKING, (B,), 141.0, 121.0),
                checkin_s=WINDOW_S,
                updates=((A, EXPIRED),),
                buzz=True,
            ),
        ),
        (
            "staff cancel of the last alert ends the window without an update",
            checkin.staff_cancelled(CHECKING_A, A, 105.0),
            Step(CheckIn(Phase.CANCELLED_BY_STAFF, closed_s=105.0), buzz=False),
        ),
        (
            "staff cancel of one of two keeps buzzing for the other",
            checkin.staff_cancelled(CHECKING_AB, A, 105.0),
            Step(CheckIn(Phase.CHECKING, (B,), 120.0)),
        ),
        (
            "staff cancel of an unknown alert is ignored",
            checkin.staff_cancelled(CHECKING_A, B, 105.0),
            Step(CHECKING_A),
        ),
        (
            "consent stops an open window quietly",
            checkin.stopped(CHECKING_A, 105.0),
            Step(CheckIn(Phase.IDLE, closed_s=105.0), buzz=False),
        ),
        (
            "consent stop with nothing open",
            checkin.stopped(ANSWERED_AT_100, 105.0),
            Step(CheckIn(closed_s=100.0)),
        ),
    ],
)
def test_checkin_transition_table(name: str, step: Step, expected: Step) -> None:
    assert step == expected, name


def test_checkin_rejects_an_inconsistent_state_and_window() -> None:
    with pytest.raises(ValueError, match="cannot have alerts"):
        CheckIn(Phase.CHECKING)
    with pytest.raises(ValueError, match="cannot have alerts"):
        CheckIn(Phase.IDLE, (A,), 1.0)
    with pytest.raises(ValueError, match="window_s"):
        warn(IDLE, window_s=-1.0)
    assert CHECKING_A.open
    assert not IDLE.open


class CheckInModel(RuleBasedStateMachine):
    """Random inputs: the buzz follows the window, and every alert is settled at most once."""

    def __init__(self) -> None:
        super().__init__()
        self.state = CheckIn()
        self.now_s = 0.0
        self.buzzing = False
        self.alerts = 0
        self.windowed: set[str] = set()
        self.settled: dict[str, AlertUpdate] = {}

    def _apply(self, step: Step) -> Step:
        self.state = step.state
        if step.buzz is not None:
            self.buzzing = step.buzz
        for alert, update in step.updates:
            assert alert in self.windowed, "an update only for an alert that checked in"
            assert alert not in self.settled, "each alert is settled once"
            self.settled[alert] = update
        return step

    @rule(dt=st.floats(0.0, 30.0))
    def wait(self, dt: float) -> None:
        self.now_s += dt
        self._apply(checkin.tick(self.state, self.now_s))

    @rule(
        kind=st.sampled_from(AlertKind),
        severity=st.sampled_from(Severity),
    )
    def alert(self, kind: AlertKind, severity: Severity) -> None:
        window_s = WINDOW_S  # one site setting: it does not change under an open window
        self.alerts += 1
        alert = f"alert-{self.alerts}"
        was_open = self.state.open
        step = self._apply(
            checkin.alert_raised(self.state, alert, kind, severity, window_s, self.now_s)
        )
        if step.checkin_s is not None:
            self.windowed.add(alert)
            assert 0 < step.checkin_s <= window_s
            assert severity is Severity.WARNING
        if severity is Severity.CRITICAL:
            assert step.checkin_s is None
            assert not self.state.open
            if was_open:
                assert all(u is AlertUpdate.CHECKIN_EXPIRED for _, u in step.updates)

    @rule()
    def press(self) -> None:
        was_open = checkin.tick(self.state, self.now_s).state.open
        step = self._apply(checkin.button_pressed(self.state, self.now_s))
        assert not (was_open and step.help_alert), "an answer is never a call for help"
        if was_open:
            assert self.state.phase is Phase.ANSWERED

    @precondition(lambda self: self.state.open)
    @rule(data=st.data())
    def staff_cancel(self, data: st.DataObject) -> None:
        alert = data.draw(st.sampled_from(self.state.alerts))
        step = self._apply(checkin.staff_cancelled(self.state, alert, self.now_s))
        assert step.updates == ()
        self.windowed.discard(alert)

    @rule()
    def consent_stops(self) -> None:
        step = self._apply(checkin.stopped(self.state, self.now_s))
        assert step.updates == ()
        self.windowed.difference_update(self.windowed - set(self.settled))

    @invariant()
    def buzz_follows_the_window(self) -> None:
        assert self.buzzing == self.state.open

    @invariant()
    def open_window_has_a_future_or_due_deadline(self) -> None:
        if self.state.open:
            assert self.state.deadline_s is not None
            assert self.state.deadline_s <= self.now_s + 20.0


test_checkin_model = CheckInModel.TestCase
