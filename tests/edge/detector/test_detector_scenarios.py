"""Behaviour on simulated people with known truth: alarms when breathing stops or slows, silence
for breath-holds, sighs, talking, sleep and movement, and a removed sensor is never an apnoea."""

from __future__ import annotations

import pytest

from edge.detector import EventKind, Severity
from simulators.physiology import Episode, EpisodeKind, Label, Posture, SubjectParams

from .simulated import simulate

ALARMS = {EventKind.APNOEA, EventKind.RESPIRATORY_DEPRESSION, EventKind.DESATURATION}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_detector_abrupt_apnoea_fires_15_to_17_s_after_the_last_breath(seed: int) -> None:
    events, truth = simulate([Episode(EpisodeKind.ABRUPT_APNOEA, 150.0, 45.0)], 260.0, seed=seed)
    onset = next(a.onset_s for a in truth if a.cause is Label.APNOEA)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert apnoea[0].severity is Severity.CRITICAL
    assert 14.0 <= apnoea[0].t_s - onset <= 17.0
    assert abs(apnoea[0].onset_s - onset) <= 2.5
    recovered = [e for e in events if e.kind is EventKind.RECOVERED]
    assert "apnoea" in [e.evidence["cleared"] for e in recovered]


def test_detector_gradual_overdose_warns_of_slowing_before_the_apnoea() -> None:
    events, _ = simulate([Episode(EpisodeKind.GRADUAL_OVERDOSE, 200.0, 180.0)], 460.0)
    kinds = [e.kind for e in events]
    assert EventKind.RESPIRATORY_DEPRESSION in kinds
    assert EventKind.APNOEA in kinds
    assert kinds.index(EventKind.RESPIRATORY_DEPRESSION) < kinds.index(EventKind.APNOEA)
    desat = [e for e in events if e.kind is EventKind.DESATURATION]
    assert desat
    assert desat[0].evidence["spo2_pct"] is not None


@pytest.mark.parametrize(
    ("name", "episodes", "params"),
    [
        (
            "breath holds and sighs",
            [
                Episode(EpisodeKind.BREATH_HOLD, 100.0, 6.0),
                Episode(EpisodeKind.BREATH_HOLD, 200.0, 8.0),
            ],
            SubjectParams(),
        ),
        (
            "talking",
            [Episode(EpisodeKind.TALKING, 60.0, 200.0)],
            SubjectParams(posture=Posture.SITTING),
        ),
        ("motion bursts", [Episode(EpisodeKind.MOVEMENT, 60.0, 200.0)], SubjectParams()),
        ("sleep", [Episode(EpisodeKind.SLEEP, 30.0, 300.0, posture=Posture.SIDE)], SubjectParams()),
        ("slow normal breather", [], SubjectParams(rate_bpm=10.0, depth=1.3)),
        ("shallow fast breather", [], SubjectParams(rate_bpm=22.0, depth=0.6)),
    ],
)
def test_detector_raises_no_alarm_without_a_respiratory_event(
    name: str, episodes: list[Episode], params: SubjectParams
) -> None:
    events, _ = simulate(episodes, 320.0, params=params, seed=5)
    assert not ALARMS & {e.kind for e in events}, name
    assert EventKind.NO_SIGNAL not in {e.kind for e in events}, name


def test_detector_removed_sensor_is_no_signal_not_apnoea() -> None:
    events, _ = simulate([Episode(EpisodeKind.SENSOR_REMOVED, 100.0, 120.0)], 320.0)
    kinds = [e.kind for e in events]
    assert EventKind.APNOEA not in kinds
    no_signal = [e for e in events if e.kind is EventKind.NO_SIGNAL]
    assert len(no_signal) == 1
    assert no_signal[0].severity is Severity.WARNING
    assert 100.0 <= no_signal[0].onset_s <= 110.0
    recovered = [
        e for e in events if e.kind is EventKind.RECOVERED and e.evidence["cleared"] == "no_signal"
    ]
    assert len(recovered) == 1
    # Back on the chest at 220 s: recovered from then, told once it has held for a minute.
    assert 220.0 <= recovered[0].onset_s <= 235.0
    assert recovered[0].t_s >= recovered[0].onset_s + 60.0


def test_detector_radar_alone_needs_20_s() -> None:
    events, truth = simulate(
        [Episode(EpisodeKind.ABRUPT_APNOEA, 150.0, 50.0)], 260.0, wearable=False, room=True
    )
    onset = next(a.onset_s for a in truth if a.cause is Label.APNOEA)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert 19.0 <= apnoea[0].t_s - onset <= 22.5
    assert apnoea[0].evidence["channels"] == "radar"


def test_detector_radar_subject_leaving_the_room_is_not_an_apnoea() -> None:
    events, _ = simulate(
        [Episode(EpisodeKind.LEAVE_ROOM, 100.0, 150.0)], 300.0, wearable=False, room=True
    )
    assert not ALARMS & {e.kind for e in events}
    assert EventKind.NO_SIGNAL not in {e.kind for e in events}


def test_detector_wearable_and_radar_agree_on_an_overdose() -> None:
    events, _ = simulate([Episode(EpisodeKind.ABRUPT_APNOEA, 150.0)], 230.0, room=True)
    apnoea = next(e for e in events if e.kind is EventKind.APNOEA)
    assert apnoea.evidence["channels"] == "radar+wearable"
    assert apnoea.evidence["agreement"] == 2.0


def test_detector_prolonged_occupancy_per_room_setting() -> None:
    from edge.detector import DetectorSettings

    settings = DetectorSettings(occupancy_s=120.0)
    events, _ = simulate([], 200.0, wearable=False, room=True, settings=settings)
    occupancy = [e for e in events if e.kind is EventKind.PROLONGED_OCCUPANCY]
    assert occupancy[0].severity is Severity.WARNING
    assert 120.0 <= occupancy[0].t_s <= 125.0
    # A still occupant after the limit (no movement for a minute) raises it to critical.
    assert [e.severity for e in occupancy[1:]] in ([], [Severity.CRITICAL])
