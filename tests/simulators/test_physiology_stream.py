"""Behaviour of the wearable physiology stream that a detector author relies on."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.physiology import (
    Chunk,
    Episode,
    EpisodeKind,
    Label,
    PhysiologyStream,
    Posture,
    SubjectParams,
)
from tests.simulators._signals import FS_HZ, band_power, peak_rate_bpm


def _run(
    params: SubjectParams, episodes: list[Episode], seconds: float, seed: int = 3
) -> tuple[PhysiologyStream, Chunk]:
    stream = PhysiologyStream(params, episodes, np.random.default_rng(seed), fs_hz=FS_HZ)
    return stream, stream.advance(seconds)


def _concat(chunks: list[Chunk], name: str) -> np.ndarray:
    return np.concatenate([getattr(ch, name).values for ch in chunks])


def test_stream_same_seed_same_signal() -> None:
    episodes = [Episode(EpisodeKind.GRADUAL_OVERDOSE, 30.0, 60.0)]
    _, a = _run(SubjectParams(), episodes, 120.0, seed=11)
    _, b = _run(SubjectParams(), episodes, 120.0, seed=11)
    _, other = _run(SubjectParams(), episodes, 120.0, seed=12)
    for name in ("resp", "acc_x", "acc_y", "acc_z", "hr", "spo2"):
        np.testing.assert_array_equal(getattr(a, name).values, getattr(b, name).values)
    np.testing.assert_array_equal(a.truth.labels, b.truth.labels)
    assert not np.array_equal(a.resp.values, other.resp.values)


@pytest.mark.parametrize("step_s", [0.04, 0.37, 1.0, 7.3])
def test_stream_chunks_of_any_size_equal_one_go(step_s: float) -> None:
    episodes = [
        Episode(EpisodeKind.ABRUPT_APNOEA, 40.0),
        Episode(EpisodeKind.NALOXONE, 70.0, params={"delay_s": 20.0}),
        Episode(EpisodeKind.SLEEP, 100.0, 30.0, posture=Posture.SIDE),
        Episode(EpisodeKind.SENSOR_REMOVED, 135.0, 10.0),
    ]
    total_s = 150.0
    _, whole = _run(SubjectParams(), episodes, total_s)
    stream = PhysiologyStream(SubjectParams(), episodes, np.random.default_rng(3), fs_hz=FS_HZ)
    chunks = []
    while stream.t_s < total_s - 1e-9:
        chunks.append(stream.advance(min(step_s, total_s - stream.t_s)))
    for name in ("resp", "acc_x", "acc_y", "acc_z", "hr", "spo2"):
        np.testing.assert_array_equal(_concat(chunks, name), getattr(whole, name).values)
    np.testing.assert_array_equal(
        np.concatenate([ch.truth.labels for ch in chunks]), whole.truth.labels
    )
    np.testing.assert_array_equal(
        np.concatenate([ch.truth.breath_times_s for ch in chunks]), whole.truth.breath_times_s
    )


@pytest.mark.parametrize("rate_bpm", [6.0, 12.0, 20.0])
def test_stream_resp_spectral_peak_at_set_rate(rate_bpm: float) -> None:
    _, chunk = _run(SubjectParams(rate_bpm=rate_bpm), [], 600.0)
    assert abs(peak_rate_bpm(chunk.resp.values, FS_HZ) - rate_bpm) <= 0.5


def test_stream_apnoea_is_flat_in_breathing_band() -> None:
    stream, chunk = _run(SubjectParams(), [Episode(EpisodeKind.ABRUPT_APNOEA, 60.0)], 180.0)
    (interval,) = stream.apnoea_intervals()
    assert interval.cause is Label.APNOEA
    assert interval.end_s is None
    assert 60.0 <= interval.onset_s <= 60.0 + 60.0 / 14.0 * 1.6
    t = chunk.resp.times_s
    breathing = chunk.resp.values[t < 60.0]
    apnoea = chunk.resp.values[t > interval.onset_s + 1.0]
    normal_power = band_power(breathing, FS_HZ, 0.08, 1.0)
    apnoea_power = band_power(apnoea, FS_HZ, 0.08, 1.0)
    assert apnoea_power < 0.01 * normal_power
    assert np.all(chunk.truth.labels[t > interval.onset_s] == Label.APNOEA)
    assert np.all(chunk.truth.rate_bpm[t > interval.onset_s] == 0.0)
    assert chunk.truth.breath_times_s.max() < interval.onset_s


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stream_spo2_below_90_about_a_minute_after_apnoea_and_recovers(seed: int) -> None:
    episodes = [
        Episode(EpisodeKind.ABRUPT_APNOEA, 60.0),
        Episode(EpisodeKind.NALOXONE, 150.0, params={"delay_s": 30.0}),
    ]
    stream, chunk = _run(SubjectParams(spo2_pct=97.0), episodes, 300.0, seed=seed)
    (interval,) = stream.apnoea_intervals()
    assert interval.end_s == pytest.approx(180.0)
    spo2 = chunk.spo2.values
    t = chunk.spo2.times_s
    assert np.all(spo2[t < interval.onset_s] >= 94.0)
    first_low = t[(t > interval.onset_s) & (spo2 < 90.0)][0]
    assert 45.0 <= first_low - interval.onset_s <= 90.0
    assert np.all(spo2[(t >= first_low + 10.0) & (t <= 180.0)] < 90.0)
    assert np.all(spo2[t >= 180.0 + 60.0] >= 94.0)


def test_stream_gradual_overdose_slows_then_stops() -> None:
    episodes = [Episode(EpisodeKind.GRADUAL_OVERDOSE, 60.0, 240.0)]
    stream, chunk = _run(SubjectParams(rate_bpm=14.0), episodes, 420.0)
    peaks = chunk.truth.breath_times_s
    early = np.count_nonzero(peaks < 60.0)
    late = np.count_nonzero((peaks >= 240.0) & (peaks < 300.0))
    assert 11 <= early <= 17
    assert late <= 8
    (interval,) = stream.apnoea_intervals()
    assert interval.cause is Label.APNOEA
    assert 280.0 <= interval.onset_s <= 330.0
    labels = chunk.truth.labels
    assert Label.SLOWED in set(labels.tolist())
    assert chunk.spo2.values[-1] < 70.0


@pytest.mark.parametrize("posture", list(Posture))
def test_stream_gravity_is_one_g_with_breathing_tilt(posture: Posture) -> None:
    params = SubjectParams(posture=posture)
    _, chunk = _run(params, [Episode(EpisodeKind.PHONE_STILL, 0.0)], 120.0)
    acc = np.stack([chunk.acc_x.values, chunk.acc_y.values, chunk.acc_z.values], axis=1)
    still = chunk.truth.labels != Label.MOTION
    magnitude = np.linalg.norm(acc[still], axis=1)
    assert np.median(magnitude) == pytest.approx(1.0, abs=0.01)
    kernel = np.ones(13) / 13.0
    swings = []
    for axis in range(3):
        smooth = np.convolve(acc[:, axis], kernel, mode="same")[still][50:-50]
        swings.append(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    assert 5.0 <= 1000 * max(swings) <= 20.0


def test_stream_heart_rate_swings_with_breathing() -> None:
    _, chunk = _run(SubjectParams(rate_bpm=12.0, hr_bpm=65.0), [], 600.0)
    hr = chunk.hr.values
    assert np.mean(hr) == pytest.approx(65.0, abs=3.0)
    assert abs(peak_rate_bpm(hr, 1.0) - 12.0) <= 1.0  # respiratory sinus arrhythmia


def test_stream_sighs_now_and_then() -> None:
    _, chunk = _run(SubjectParams(), [], 7200.0)
    peaks = chunk.truth.breath_times_s
    depth = chunk.resp.values[np.round(peaks * FS_HZ).astype(int)]
    sighs = np.count_nonzero(depth > 2.0 * np.median(depth))
    assert 10 <= sighs <= 40  # about 12 an hour at rest
