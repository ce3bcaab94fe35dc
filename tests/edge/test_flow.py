"""Publishing flow: a bounded window, alerts' reserve, ack deadlines at the server's pace."""

from __future__ import annotations

import pytest

from edge.flow import ACK_TIMEOUT_MAX_S, ACK_TIMEOUT_MIN_S, RATE_FLOOR_HZ, Flow, ack_timeout_s


def test_flow_window_bounds_routine_messages_and_keeps_room_for_alerts() -> None:
    flow = Flow(window=3, alert_reserve=1)
    for n in range(3):
        flow.sent(f"m{n}", 0.0, alert=False)
    assert flow.free(alert=False) == 0
    assert flow.free(alert=True) == 1  # a full window of routine traffic never holds an alert
    flow.sent("a", 0.0, alert=True)
    assert flow.free(alert=True) == 0
    assert flow.acked("m0", 0.1) is not None
    assert flow.free(alert=False) == 0  # the alert took the freed slot's place
    assert flow.acked("m1", 0.2) is not None
    assert flow.free(alert=False) == 1


def test_flow_resends_only_overdue_messages_alerts_first() -> None:
    flow = Flow()
    flow.sent("m1", 0.0, alert=False)
    flow.sent("a1", 0.0, alert=True)
    assert flow.overdue(ACK_TIMEOUT_MIN_S - 0.01) == []
    late = flow.overdue(ACK_TIMEOUT_MIN_S + 1.0)
    assert [f.msg_id for f in late] == ["a1", "m1"]
    again = flow.sent("a1", ACK_TIMEOUT_MIN_S + 1.0, alert=True)
    assert again.resends == 1
    assert flow.resent == 1
    # The second wait is longer than the first: a server that stops acking is asked less often.
    assert again.deadline_s - again.sent_s > ACK_TIMEOUT_MIN_S * 1.9


def test_flow_deadline_grows_with_the_backlog_ahead_at_the_servers_pace() -> None:
    flow = Flow(window=500)
    for n in range(200):
        flow.acked(f"old{n}", 4.0 + n / 100)  # the server acks 200 in the last 2 s: 40/s
    assert flow.ack_rate_hz(6.0) == pytest.approx(200 / 5.0)
    for n in range(400):
        flight = flow.sent(f"m{n}", 6.0, alert=False)
    # 399 messages ahead at 40 acks/s is ~10 s of the server's work on top of the base wait.
    assert flight.deadline_s - 6.0 == pytest.approx(ACK_TIMEOUT_MIN_S + 399 / 40.0)
    assert flow.ack_rate_hz(20.0) == 0.0  # old acks age out


def test_flow_ack_timeout_is_floored_capped_and_doubles() -> None:
    assert ack_timeout_s(0, 0.0, 0) == ACK_TIMEOUT_MIN_S
    assert ack_timeout_s(100, 0.0, 0) == ACK_TIMEOUT_MIN_S + 100 / RATE_FLOOR_HZ
    assert ack_timeout_s(0, 1000.0, 1) == 2 * ACK_TIMEOUT_MIN_S
    assert ack_timeout_s(0, 1000.0, 60) == ACK_TIMEOUT_MAX_S
    with pytest.raises(ValueError, match="ahead"):
        ack_timeout_s(-1, 1.0, 0)


def test_flow_reset_on_reconnect_makes_everything_due_again() -> None:
    flow = Flow()
    flow.sent("m1", 0.0, alert=False)
    flow.reset()
    assert len(flow) == 0
    assert "m1" not in flow
    assert flow.next_deadline_s() is None
    with pytest.raises(ValueError, match="window"):
        Flow(window=0)
