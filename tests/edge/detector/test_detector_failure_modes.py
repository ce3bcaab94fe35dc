"""Recordings that defeated the detector (issue 12), kept as regression tests: shallow breathing
after an artefact or deep breaths, breathing buried in accelerometer noise, posture changes, and
breathing slowed three-fold."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.detector import DetectionEvent, Detector, EventKind
from simulators.physiology import AccSensor, Episode, EpisodeKind, Posture, SubjectParams

from .simulated import simulate

Arr = npt.NDArray[np.float64]
_FS = 25.0
_NOT_MEASURABLE = "breathing not measurable"


def _belt(depths: list[tuple[float, float]], *, rate_bpm: float = 15.0, seed: int = 0) -> Arr:
    """A belt: ``(seconds, depth)`` stretches of breathing at ``rate_bpm``, 2 % noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for seconds, depth in depths:
        parts.append(np.full(round(seconds * _FS), depth))
    amp = np.concatenate(parts)
    t = np.arange(amp.size) / _FS
    phase = np.cumsum(rate_bpm / 60.0 * (1 + 0.08 * np.sin(2 * np.pi * t / 41.0)) / _FS)
    wave = 0.5 - 0.5 * np.cos(2 * np.pi * phase)
    x: Arr = amp * wave + rng.normal(0.0, 0.02, t.size)
    return x


def _kinds(events: list[DetectionEvent]) -> list[EventKind]:
    return [e.kind for e in events]


def test_detector_counts_shallow_breathing_after_a_movement_artefact_on_a_belt() -> None:
    x = _belt([(300.0, 1.0), (300.0, 0.25)])
    # A movement artefact: ten seconds of swings five times a breath, then shallow breathing.
    t = np.arange(x.size) / _FS
    burst = (t >= 290.0) & (t < 300.0)
    x[burst] += 5.0 * np.sin(2 * np.pi * 0.7 * t[burst])
    events = Detector().detect({"resp": x}, t)
    assert EventKind.APNOEA not in _kinds(events)


def test_detector_counts_shallow_breathing_after_a_run_of_deep_breaths_on_a_belt() -> None:
    x = _belt([(240.0, 1.0), (120.0, 3.0), (240.0, 0.7)])
    events = Detector().detect({"resp": x}, np.arange(x.size) / _FS)
    assert EventKind.APNOEA not in _kinds(events)


def test_detector_counts_shallow_breathing_after_movement_on_the_accelerometer() -> None:
    episodes = [
        Episode(EpisodeKind.MOVEMENT, 200.0, 20.0),
        Episode(EpisodeKind.HYPOVENTILATION, 220.0, 200.0, params={"depth_x": 0.3}),
    ]
    sensor = AccSensor(tilt_g_per_depth=0.02, noise_g=0.001, lsb_g=0.001, noise_taps=2)
    events, _ = simulate(episodes, 450.0, channels="acc", sensor=sensor)
    assert EventKind.APNOEA not in _kinds(events)


def test_detector_says_breathing_is_not_measurable_instead_of_calling_apnoea_on_noise() -> None:
    # 3 mg of breathing tilt under 3 mg of coloured, quantised sensor noise: unmeasurable.
    sensor = AccSensor(tilt_g_per_depth=0.003, noise_g=0.003, lsb_g=0.001, noise_taps=3)
    apnoea = Episode(EpisodeKind.ABRUPT_APNOEA, 300.0, 60.0)
    events, truth = simulate([apnoea], 420.0, channels="acc", sensor=sensor, seed=3)
    onset = truth[0].onset_s
    assert not [e for e in events if e.kind is EventKind.APNOEA and e.t_s < onset]
    warnings = [e for e in events if e.kind is EventKind.NO_SIGNAL]
    assert warnings
    assert warnings[0].evidence["detail"] == _NOT_MEASURABLE
    assert warnings[0].t_s < 120.0


def test_detector_is_never_silent_through_an_apnoea_on_a_side_lying_shallow_breather() -> None:
    sensor = AccSensor(tilt_g_per_depth=0.004, noise_g=0.001, lsb_g=0.001, noise_taps=3)
    params = SubjectParams(posture=Posture.SIDE, depth=0.8)
    apnoea = Episode(EpisodeKind.ABRUPT_APNOEA, 300.0, 45.0)
    events, truth = simulate([apnoea], 420.0, params=params, channels="acc", sensor=sensor)
    onset = truth[0].onset_s
    assert not [e for e in events if e.kind is EventKind.APNOEA and e.t_s < onset]
    during = [e for e in events if onset <= e.t_s <= onset + 47.0]
    warned = [e for e in events if e.kind is EventKind.NO_SIGNAL and e.t_s <= onset]
    cleared = [e for e in events if e.kind is EventKind.RECOVERED and e.t_s <= onset]
    assert during or (warned and len(warned) > len(cleared))


def test_detector_calls_apnoea_after_a_posture_change_without_false_alarms() -> None:
    sensor = AccSensor(tilt_g_per_depth=0.015, noise_g=0.001, lsb_g=0.001, noise_taps=2)
    episodes = [
        Episode(EpisodeKind.SLEEP, 150.0, None, posture=Posture.SIDE),
        Episode(EpisodeKind.ABRUPT_APNOEA, 300.0, 40.0),
    ]
    events, truth = simulate(episodes, 400.0, channels="acc", sensor=sensor)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    # Cardiac micro-motion on the breathing axis (side-lying) can confirm one stray extreme
    # early in the pause, which restarts the 15 s clock once: a known limit (docs/detector.md).
    assert 13.0 <= apnoea[0].t_s - truth[0].onset_s <= 30.0


def test_detector_flags_breathing_slowed_three_fold() -> None:
    slowed = Episode(EpisodeKind.HYPOVENTILATION, 200.0, 200.0, params={"rate_x": 0.34})
    events, _ = simulate([slowed], 420.0, params=SubjectParams(rate_bpm=19.0))
    flagged = [e for e in events if e.kind is EventKind.RESPIRATORY_DEPRESSION]
    assert flagged
    assert 200.0 < flagged[0].t_s < 300.0


def test_detector_reports_slowed_breathing_as_well_as_apnoea_when_breaths_are_far_apart() -> None:
    # 4 s breaths every 18 s (3.3 a minute): each pause is an apnoea (and is called), and the
    # breathing is slowed too (which must be called as well).
    x = _belt([(240.0, 1.0)], rate_bpm=15.0)
    t = np.arange(round(240.0 * _FS)) / _FS
    u = np.clip((t % 18.0) / 4.0, 0.0, 1.0)
    slow = 0.5 - 0.5 * np.cos(2 * np.pi * u) + np.random.default_rng(1).normal(0, 0.02, t.size)
    x = np.concatenate([x, slow])
    events = Detector().detect({"resp": x}, np.arange(x.size) / _FS)
    kinds = _kinds(events)
    assert EventKind.APNOEA in kinds
    assert EventKind.RESPIRATORY_DEPRESSION in kinds
