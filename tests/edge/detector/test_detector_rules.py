"""Rules on hand-built signals: desaturation, signal quality, no-signal and context."""

from __future__ import annotations

import numpy as np

from edge.detector import Detector, DetectorSettings, EventKind, Severity, Source
from edge.detector.breath_second import BreathSecond
from edge.detector.fusion import ChannelView, TickView
from edge.detector.rules import Rules

from .signals import chest_acc


def _spo2(t: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    """A step profile: value ``v`` from time ``t0`` on, for each (t0, v)."""
    out = np.full(t.size, 97.0)
    for t0, v in points:
        out[t >= t0] = v
    return out


def test_desaturation_warns_below_90_for_15_s_and_escalates_at_85() -> None:
    rec = chest_acc(200.0, seed=3)
    rec.columns["spo2"] = _spo2(rec.t, [(60.0, 88.0), (100.0, 84.0), (150.0, 96.0)])
    events = Detector().detect(rec.columns, rec.t)
    desat = [e for e in events if e.kind is EventKind.DESATURATION]
    assert [e.severity for e in desat] == [Severity.WARNING, Severity.CRITICAL]
    assert 74.0 <= desat[0].t_s <= 77.0
    assert desat[0].onset_s == 60.0
    assert 114.0 <= desat[1].t_s <= 117.0
    assert desat[1].evidence["spo2_baseline_pct"] == 97.0
    cleared = [e for e in events if e.kind is EventKind.RECOVERED]
    assert [e.evidence["cleared"] for e in cleared] == ["desaturation"]


def test_desaturation_ignores_nan_and_implausible_readings() -> None:
    rec = chest_acc(200.0, seed=4)
    spo2 = _spo2(rec.t, [])
    spo2[(rec.t > 60) & (rec.t < 120)] = np.nan  # no perfusion: no reading
    spo2[(rec.t > 130) & (rec.t < 170)] = 20.0  # a wrist sensor's artefact, not physiology
    rec.columns["spo2"] = spo2
    assert Detector().detect(rec.columns, rec.t) == []


def test_desaturation_short_dip_is_not_reported() -> None:
    rec = chest_acc(120.0, seed=5)
    rec.columns["spo2"] = _spo2(rec.t, [(60.0, 86.0), (70.0, 97.0)])
    assert Detector().detect(rec.columns, rec.t) == []


def test_detector_clipped_accelerometer_is_no_signal_not_apnoea() -> None:
    rec = chest_acc(200.0, seed=6)
    clip = rec.t > 80
    rec.columns["acc_z"] = np.where(clip, 8.0, rec.columns["acc_z"])
    events = Detector().detect(rec.columns, rec.t)
    kinds = [e.kind for e in events]
    assert EventKind.APNOEA not in kinds
    assert EventKind.NO_SIGNAL in kinds
    no_signal = next(e for e in events if e.kind is EventKind.NO_SIGNAL)
    assert no_signal.evidence["reason"] == "clipped"


def test_detector_stuck_sensor_is_no_signal_not_apnoea() -> None:
    rec = chest_acc(200.0, seed=7)
    for axis in ("acc_x", "acc_y", "acc_z"):
        col = rec.columns[axis]
        col[rec.t > 80] = col[np.searchsorted(rec.t, 80.0)]
    events = Detector().detect(rec.columns, rec.t)
    assert [e.kind for e in events] == [EventKind.NO_SIGNAL]
    assert events[0].evidence["reason"] == "static"


def test_detector_lost_pulse_means_off_body_not_apnoea() -> None:
    rec = chest_acc(200.0, stop_s=90.0, seed=8)
    rec.columns["hr"] = np.where(rec.t < 85.0, 70.0, np.nan)
    events = Detector().detect(rec.columns, rec.t)
    kinds = [e.kind for e in events]
    assert EventKind.APNOEA not in kinds
    assert kinds == [EventKind.NO_SIGNAL]
    assert events[0].evidence["reason"] == "no_contact"


def test_detector_gross_motion_suspends_the_apnoea_clock() -> None:
    rec = chest_acc(220.0, stop_s=100.0, seed=9)
    rng = np.random.default_rng(0)
    moving = (rec.t > 104.0) & (rec.t < 112.0)
    rec.columns["acc_y"] = rec.columns["acc_y"] + np.where(
        moving, rng.normal(0, 0.2, rec.t.size), 0
    )
    events = Detector().detect(rec.columns, rec.t)
    apnoea = next(e for e in events if e.kind is EventKind.APNOEA)
    # Motion until 112 s: no claim of "no breathing" before 15 s of still, good signal after it.
    assert apnoea.t_s >= 112.0 + 15.0


def test_detector_stillness_after_a_door_event_warns() -> None:
    rec = chest_acc(150.0, seed=10)
    rec.columns["door"] = np.where((rec.t > 20) & (rec.t < 23), 1.0, 0.0)
    settings = DetectorSettings(stillness_s=60.0)
    events = Detector(settings).detect(rec.columns, rec.t)
    still = [e for e in events if e.kind is EventKind.STILLNESS]
    assert len(still) == 1
    assert still[0].evidence["context"] == "door"
    assert still[0].severity is Severity.WARNING


def _acc_tick(tick: int, quality: str) -> TickView:
    """One tick of a lone chest accelerometer that is either "good" or "noisy"."""
    breath = BreathSecond(
        good=quality == "good",
        breaths=0,
        strong_breaths=0,
        last_breath_s=None,
        quiet_since_s=None,
        rate_bpm=None,
        count_rate_bpm=None,
        amplitude=None,
        noisy=quality == "noisy",
    )
    channel = ChannelView((Source.WEARABLE, "acc"), quality, breath, 15.0)
    return TickView(tick, tick + 1.0, (channel,), 0.01, None, None, None, None)


def test_a_channel_flickering_at_its_noise_floor_is_one_warning_until_it_holds() -> None:
    rules = Rules(DetectorSettings())
    # Not measurable for 20 s, measurable for 20 s, six times over: a breather at the sensor's
    # floor. Then measurable for good.
    qualities = (["noisy"] * 20 + ["good"] * 20) * 6 + ["good"] * 70
    events = [e for tick, q in enumerate(qualities) for e in rules.apply(_acc_tick(tick, q))]
    warned = [e for e in events if e.kind is EventKind.NO_SIGNAL]
    cleared = [e for e in events if e.kind is EventKind.RECOVERED]
    assert len(warned) == 1
    assert warned[0].t_s - warned[0].onset_s == 10.0  # told after 10 s, as before
    assert len(cleared) == 1
    assert cleared[0].evidence["cleared"] == "no_signal"
    assert cleared[0].onset_s == 220.0  # measurable from 220 s on...
    assert cleared[0].t_s == 280.0  # ...and said so once that had held for a minute
