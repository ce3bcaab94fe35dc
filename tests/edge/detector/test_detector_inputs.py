"""Inputs as devices really send them: other rates, gaps, overlaps, missing samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from edge.detector import (
    DetectionEvent,
    Detector,
    DetectorSettings,
    EventKind,
    SettingsError,
    Source,
)
from edge.detector.events import Severity
from edge.detector.filters import CausalFilter, Decimator, design_bandpass
from firmware_bridge.samples import Channel, SampleBlock

from .signals import chest_acc


def _belt(fs: float, stop_s: float, duration_s: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """A respiration belt at ``fs`` breathing at 15/min until the end of a breath near stop_s."""
    t = np.arange(0.0, duration_s, 1.0 / fs)
    cycles = np.ceil(stop_s * 0.25)
    phase = np.minimum(t * 0.25, cycles)
    rng = np.random.default_rng(0)
    return t, 100 + 20 * (0.5 - 0.5 * np.cos(2 * np.pi * phase)) + rng.normal(0, 0.2, t.size)


@pytest.mark.parametrize("fs", [10.0, 50.0, 200.0, 1000.0])
def test_detector_finds_the_same_apnoea_at_any_sampling_rate(fs: float) -> None:
    t, x = _belt(fs, 100.0)
    events = Detector().detect({"resp": x}, t)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert 115.0 <= apnoea[0].t_s <= 117.5  # breathing ends at 100 s


def test_detector_radar_waveform_from_replay_columns_waits_20_s() -> None:
    t, x = _belt(20.0, 100.0)
    presence = np.ones_like(t)
    events = Detector().detect({"resp": x, "presence": presence}, t, sources={"resp": Source.RADAR})
    apnoea = next(e for e in events if e.kind is EventKind.APNOEA)
    assert 120.0 <= apnoea.t_s <= 122.5
    assert apnoea.evidence["channels"] == "radar"


def test_detector_short_gaps_are_padded_and_long_gaps_restart() -> None:
    rec = chest_acc(300.0, seed=21)
    keep = ~(((rec.t > 50.0) & (rec.t < 51.0)) | ((rec.t > 150.0) & (rec.t < 170.0)))
    t = rec.t[keep]
    cols = {k: v[keep] for k, v in rec.columns.items()}
    events = Detector().detect(cols, t)
    assert EventKind.APNOEA not in {e.kind for e in events}  # a gap is never an apnoea


def test_detector_nan_samples_are_missing_data_not_apnoea() -> None:
    rec = chest_acc(200.0, seed=22)
    for col in rec.columns.values():
        col[(rec.t > 60.0) & (rec.t < 120.0)] = np.nan
    events = Detector().detect(rec.columns, rec.t)
    assert [e.kind for e in events] == [EventKind.NO_SIGNAL, EventKind.RECOVERED]
    assert events[0].evidence["reason"] == "no_data"


def test_detector_overlapping_and_jittered_blocks_are_tolerated() -> None:
    rec = chest_acc(200.0, stop_s=100.0, seed=23)
    det = Detector()
    events: list[DetectionEvent] = []
    n = 25
    for lo in range(0, rec.t.size, n):
        for name in ("acc_x", "acc_y", "acc_z"):
            start = max(0, lo - 5)  # every block repeats the last five samples
            values = tuple(rec.columns[name][start : lo + n].tolist())
            jitter = 0.004 if (lo // n) % 2 else -0.004
            block = SampleBlock("dev", Channel(name), float(rec.t[start]) + jitter, 25.0, values)
            events += det.update(block)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert apnoea[0].severity is Severity.CRITICAL


def test_causal_filter_fast_kernel_matches_scipy() -> None:
    x = np.random.default_rng(3).normal(size=(3, 500))
    sos = design_bandpass(0.05, 1.0, 25.0, 2)
    fast = CausalFilter(sos).process(x)
    public = CausalFilter(sos, fast=False).process(x)
    np.testing.assert_array_equal(fast, public)
    assert CausalFilter(sos).process(np.empty((3, 0))).shape == (3, 0)


def test_decimator_is_chunk_invariant_and_removes_aliases() -> None:
    fs = 1000.0
    t = np.arange(0, 20, 1 / fs)
    x = (np.sin(2 * np.pi * 0.3 * t) + np.sin(2 * np.pi * 60.0 * t))[None, :]
    whole, _ = Decimator(fs, 25.0, 10.0).process(x)
    d = Decimator(fs, 25.0, 10.0)
    parts = np.concatenate([d.process(x[:, a : a + 333])[0] for a in range(0, t.size, 333)], axis=1)
    np.testing.assert_array_equal(parts, whole)
    tail = whole[0, 100:]
    reference = signal.resample_poly(np.sin(2 * np.pi * 0.3 * t), 1, 40)[100 : 100 + tail.size]
    assert np.max(np.abs(tail - reference)) < 0.1  # mains hum gone, breathing kept
    d.reset()


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"internal_fs_hz": 4.0, "resp_band_high_hz": 2.0}, "resp_band_high_hz"),
        ({"stillness_g": 0.05, "gross_motion_g": 0.02}, "stillness_g"),
        ({"pause_s": 20.0, "apnoea_wearable_s": 15.0}, "pause_s"),
    ],
)
def test_settings_reject_inconsistent_pairs(data: dict[str, float], key: str) -> None:
    with pytest.raises(SettingsError) as info:
        DetectorSettings.from_mapping(data)
    assert info.value.key == key


def test_detection_event_rejects_non_string_evidence_keys() -> None:
    with pytest.raises(TypeError, match="keys"):
        DetectionEvent(EventKind.APNOEA, Severity.CRITICAL, 1.0, 0.0, {1: 2.0})  # type: ignore[dict-item]


def test_detector_detect_needs_finite_times() -> None:
    from edge.detector import InputError

    with pytest.raises(InputError, match="two samples"):
        Detector().detect({}, np.array([0.0]))
    with pytest.raises(InputError, match="infinite"):
        Detector().detect({}, np.array([0.0, np.nan, 2.0]))


@pytest.mark.parametrize("fs", [50.0, 100.0, 200.0])
def test_detector_chest_accelerometer_at_polar_rates(fs: float) -> None:
    rec = chest_acc(200.0, stop_s=100.0, seed=31, fs=fs)
    events = Detector().detect(rec.columns, rec.t)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert rec.stop_s is not None
    assert 14.0 <= apnoea[0].t_s - rec.stop_s <= 17.0


def test_detector_tolerates_a_slightly_varying_reported_rate() -> None:
    rec = chest_acc(200.0, stop_s=100.0, seed=32)
    det = Detector()
    events: list[DetectionEvent] = []
    for lo in range(0, rec.t.size, 25):
        fs = 25.0 * (1.0 + 0.002 * ((lo // 25) % 3 - 1))  # 24.95, 25.0, 25.05 Hz
        for name in ("acc_x", "acc_y", "acc_z"):
            values = tuple(rec.columns[name][lo : lo + 25].tolist())
            events += det.update(SampleBlock("dev", Channel(name), float(rec.t[lo]), fs, values))
    assert [e.kind for e in events].count(EventKind.APNOEA) == 1
    assert EventKind.NO_SIGNAL not in {e.kind for e in events}
