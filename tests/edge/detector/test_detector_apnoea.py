"""Apnoea on a chest accelerometer: fires soon after the last breath, never during breathing."""

from __future__ import annotations

import pytest

from edge.detector import Detector, DetectorSettings, EventKind, Severity, Source

from .signals import blocks, chest_acc


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rate_bpm", [10.0, 15.0, 22.0])
def test_detector_fires_apnoea_within_budget_of_last_breath(seed: int, rate_bpm: float) -> None:
    rec = chest_acc(240.0, rate_bpm=rate_bpm, stop_s=150.0, seed=seed)
    det = Detector(DetectorSettings())
    events = []
    for block, source in blocks(rec, 1.0):
        events += det.update(block, source=source)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert apnoea[0].severity is Severity.CRITICAL
    assert rec.stop_s is not None
    latency = apnoea[0].t_s - rec.stop_s
    assert 13.0 <= latency <= 17.5
    assert abs(apnoea[0].onset_s - rec.stop_s) <= 3.0
    assert apnoea[0].evidence["seconds_since_breath"] is not None


# From 6 mg of tilt over 1 mg of noise a breath at 40 % of the usual depth still clears the
# noise floor (7 in-band sigmas), so shallow breathing can be told from apnoea (issue 12).
@pytest.mark.parametrize("tilt_g", [0.006, 0.010, 0.020])
def test_detector_stays_quiet_during_normal_breathing(tilt_g: float) -> None:
    rec = chest_acc(600.0, rate_bpm=14.0, tilt_g=tilt_g, seed=3)
    events = Detector().detect(rec.columns, rec.t)
    assert events == []


def test_detector_update_source_defaults_to_wearable() -> None:
    rec = chest_acc(200.0, stop_s=100.0, seed=4)
    det = Detector()
    kinds = [e.kind for b, _ in blocks(rec, 2.0) for e in det.update(b)]
    assert EventKind.APNOEA in kinds
    assert Source.WEARABLE == "wearable"
