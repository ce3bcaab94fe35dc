"""The scenario library through the whole real stack: every expectation of every scenario holds."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from odart.simulate_library import library
from tests.scenarios.conftest import LIBRARY, RUN_TIMEOUT_S

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_library_has_at_least_ten_scenarios_each_with_expectations() -> None:
    scenarios = library()
    assert len(scenarios) >= 10
    assert all(len(s.expect) > 0 for s in scenarios.values())


def test_library_covers_the_trajectories_and_confounders() -> None:
    events = {e.event for s in library().values() for e in s.timeline}
    wanted = {
        "gradual_overdose",
        "abrupt_apnoea",
        "naloxone",
        "breath_hold",
        "talking",
        "sleep",
        "phone_still",
        "shower",
        "sensor_removed",
        "sensor_swapped",
        "leave_room",
        "edge_offline",
    }
    assert wanted <= events
    responders = [r for s in library().values() for r in s.responders]
    assert any(r.ack_after_s is None and r.level == 0 for r in responders)  # never answers
    assert any(p.answers_checkin and s.checkin_s > 0 for s in library().values() for p in s.people)


@pytest.mark.timeout(RUN_TIMEOUT_S * 2)
@pytest.mark.parametrize("name", LIBRARY)
def test_library_scenario_meets_every_expectation(
    name: str, library_runs: dict[str, Future[tuple[int, dict[str, Any] | None, str]]]
) -> None:
    code, report, stderr = library_runs[name].result(timeout=RUN_TIMEOUT_S * 2)
    assert report is not None, stderr
    failed = [e for e in report["expectations"] if not e["passed"]]
    assert failed == [], f"{name}: {failed}"
    assert report["passed"] is True
    assert len(report["expectations"]) == len(library()[name].expect)
    assert code == 0, stderr
