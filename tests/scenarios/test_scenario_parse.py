"""Scenario files: the library parses, and bad files fail naming the file, the key and why."""

from __future__ import annotations

import math
import tomllib

import pytest

from odart.simulate_library import LIBRARY_DIR, library, load, resolve
from simulators.scenario import DeviceKind, SystemEvent, parse_scenario, parse_scenario_text
from simulators.scenario_expect import (
    Expectations,
    Observation,
    ObservedAlert,
    ObservedPage,
    check,
)
from simulators.scenario_fields import ScenarioError

GOOD = (LIBRARY_DIR / "abrupt-apnoea.toml").read_text()


def _data() -> dict:
    return tomllib.loads(GOOD)


def test_scenario_parse_reads_the_library_example() -> None:
    scenario = parse_scenario_text(GOOD, "abrupt-apnoea.toml")
    assert scenario.name == "abrupt-apnoea"
    assert [d.kind for d in scenario.devices_of("A")] == [DeviceKind.WEARABLE, DeviceKind.RADAR]
    assert [e.event for e in scenario.episodes_of("A")] == ["abrupt_apnoea", "naloxone"]
    assert scenario.person("A").participant == "p-a"
    assert scenario.responders[1].ack_after_s is None  # answers = false
    assert len(scenario.expect) == 3


def test_scenario_parse_every_library_file_by_name_and_path() -> None:
    scenarios = library()
    assert len(scenarios) >= 10
    for name, scenario in scenarios.items():
        assert resolve(name) == scenario
        assert resolve(scenario.source) == scenario


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (lambda d: d.pop("duration_s"), "duration_s", "required"),
        (lambda d: d.update(duration_s="long"), "duration_s", "must be a number"),
        (lambda d: d.update(speed=0), "speed", "must be within"),
        (lambda d: d.update(colour="red"), "colour", "unknown key"),
        (lambda d: d.update(name="Abrupt Apnoea"), "name", "a-z, 0-9"),
        (lambda d: d["timeline"][0].update(event="explode"), "timeline.0.event", "unknown event"),
        (lambda d: d["timeline"][0].update(person="Z"), "timeline.0.person", "needs a person"),
        (lambda d: d["timeline"][0].update(at=9999), "timeline.0.at", "must be within"),
        (
            lambda d: d["timeline"].append({"at": 10, "event": "edge_offline"}),
            "timeline.2.duration_s",
            "needs a duration_s",
        ),
        (lambda d: d["devices"][0].update(kind="toaster"), "devices.0.kind", "must be one of"),
        (lambda d: d["devices"][1].update(model="hal9000"), "devices.1.model", "model is one of"),
        (lambda d: d["people"][0].update(room="attic"), "people.0.room", "no room"),
        (lambda d: d["people"][0].update(rate_bpm=200), "people.0.(person)", "rate_bpm"),
        (lambda d: d.update(responders=[]), "responders", "at least one responder"),
        (
            lambda d: d["responders"][0].pop("naloxone_doses"),
            "responders.0.naloxone_doses",
            "needs naloxone_doses",
        ),
        (lambda d: d.update(expect={}), "expect.(table)", "must expect something"),
        (lambda d: d["expect"]["alert"][0].update(kind="fire"), "expect.alert.0.kind", "unknown"),
        (lambda d: d["expect"]["alert"][0].update(by=10), "expect.alert.0.by", "must be within"),
        (lambda d: d["expect"]["never"][0].update(level=5), "expect.never.0.level", "no responder"),
        (
            lambda d: d["expect"].update(page=[{"by": 10}]),
            "expect.page.0.level",
            "exactly one of level and responder",
        ),
    ],
)
def test_scenario_parse_refuses_bad_files_naming_the_key(change, key: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    data = _data()
    change(data)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "bad.toml")
    assert caught.value.source == "bad.toml"
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad.toml: {key}: ")


def test_scenario_parse_refuses_text_that_is_not_toml() -> None:
    with pytest.raises(ScenarioError, match="not valid TOML") as caught:
        parse_scenario_text("name = ", "broken.toml")
    assert caught.value.key == "(file)"


def test_scenario_load_names_a_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScenarioError, match="file not found"):
        load(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="no such file or library scenario"):
        resolve("no-such-scenario")


def test_scenario_system_events_are_not_episodes() -> None:
    scenario = resolve("edge-network-loss")
    kinds = {e.event: e.is_episode for e in scenario.timeline}
    assert kinds == {SystemEvent.EDGE_OFFLINE.value: False, "abrupt_apnoea": True}


def _alert(kind: str, detected: float, *, paged: bool = False, **hops: float) -> ObservedAlert:
    return ObservedAlert(
        "01J0000000000000000000000" + kind[0].upper(),
        kind,
        "critical",
        "A",
        "resolved",
        "naloxone_given",
        {"detected": detected, **hops},
        paged=paged,
    )


def test_scenario_check_passes_and_fails_each_kind_of_expectation() -> None:
    expect = parse_scenario_text(GOOD, "x.toml").expect
    good = Observation((_alert("apnoea", 136.0, paged=True, notified=140.0),), ())
    assert [v.passed for v in check(expect, good)] == [True, True, True]
    late = Observation((_alert("apnoea", 151.0, paged=True, notified=155.0),), ())
    assert [v.passed for v in check(expect, late)] == [False, True, True]
    early = Observation(
        (_alert("apnoea", 100.0), _alert("apnoea", 136.0, notified=170.0)),
        (ObservedPage("manager", 1, 200.0, None),),
    )
    verdicts = check(expect, early)
    assert [v.passed for v in verdicts] == [False, False, False]
    assert "notified at 170.0 s" in verdicts[0].detail
    assert "manager paged at 200.0 s" in verdicts[1].detail
    assert check(Expectations(), good) == ()
    assert math.isinf(expect.never[1].until_s) is False
