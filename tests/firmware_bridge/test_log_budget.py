"""The log budget: a flood of one kind of bad message logs a few lines and says what it left out."""

from __future__ import annotations

import logging

import pytest

from firmware_bridge.log_budget import BudgetedLog, LogBudget


def test_log_budget_logs_the_first_lines_then_says_how_many_it_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [100.0]
    log = BudgetedLog(logging.getLogger("test.budget"), LogBudget(3, 60.0, lambda: clock[0]))
    caplog.set_level(logging.WARNING, logger="test.budget")
    for n in range(10):
        log.warning("rejected message on %s: %s", "odart/v1/x/y/event", f"reason {n}")
    log.error("message on %s not handled", "odart/v1/x/y/event")  # another template: its own
    assert [r.getMessage() for r in caplog.records] == [
        "rejected message on odart/v1/x/y/event: reason 0",
        "rejected message on odart/v1/x/y/event: reason 1",
        "rejected message on odart/v1/x/y/event: reason 2",
        "message on odart/v1/x/y/event not handled",
    ]
    caplog.clear()
    clock[0] += 59.0
    log.warning("rejected message on %s: %s", "t", "still inside the window")
    assert caplog.records == []
    clock[0] += 1.0
    log.warning("rejected message on %s: %s", "t", "a new window")
    [line] = caplog.records
    assert line.getMessage() == (
        "rejected message on t: a new window [and 8 more like this in the 60 s before, "
        "not logged; all are counted]"
    )
    assert line.levelno == logging.WARNING
    assert line.funcName == "test_log_budget_logs_the_first_lines_then_says_how_many_it_left_out"
