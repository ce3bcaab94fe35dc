"""Confounders and rescues: what a detector must not mistake for an overdose, and recovery."""

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
    simulate,
)
from tests.simulators._signals import FS_HZ, band_power, peak_rate_bpm


def _run(
    params: SubjectParams, episodes: list[Episode], seconds: float, seed: int = 5
) -> tuple[PhysiologyStream, Chunk]:
    stream = PhysiologyStream(params, episodes, np.random.default_rng(seed), fs_hz=FS_HZ)
    return stream, stream.advance(seconds)


def _acc(chunk: Chunk) -> np.ndarray:
    return np.stack([chunk.acc_x.values, chunk.acc_y.values, chunk.acc_z.values], axis=1)


def _breath_cv(chunk: Chunk, t0: float, t1: float) -> float:
    peaks = chunk.truth.breath_times_s
    intervals = np.diff(peaks[(peaks >= t0) & (peaks < t1)])
    q25, q50, q75 = np.percentile(intervals, [25, 50, 75])
    return float((q75 - q25) / q50)


def test_off_body_reads_nan_vitals_and_no_breathing() -> None:
    _, chunk = _run(SubjectParams(), [Episode(EpisodeKind.SENSOR_REMOVED, 60.0)], 180.0)
    t1 = chunk.hr.times_s
    assert np.all(np.isfinite(chunk.hr.values[t1 < 60.0]))
    assert np.all(np.isnan(chunk.hr.values[t1 >= 60.0]))
    assert np.all(np.isnan(chunk.spo2.values[t1 >= 60.0]))
    t = chunk.resp.times_s
    on, off = t < 58.0, t >= 65.0
    assert np.all(chunk.truth.labels[off] == Label.OFF_BODY)
    assert np.all(np.isnan(chunk.truth.rate_bpm[off]))
    assert chunk.truth.breath_times_s.max() < 60.0
    acc = _acc(chunk)
    tilt_axis = max(range(3), key=lambda axis: band_power(acc[on, axis], FS_HZ, 0.1, 0.7))
    breathing_on = band_power(acc[on, tilt_axis], FS_HZ, 0.1, 0.7)
    assert band_power(acc[off, tilt_axis], FS_HZ, 0.1, 0.7) < 0.05 * breathing_on
    per_second_std = np.linalg.norm(acc[off], axis=1).reshape(-1, 25).std(axis=1)
    assert np.all(per_second_std < 0.004)
    assert band_power(chunk.resp.values[off], FS_HZ, 0.1, 0.7) < 0.01 * band_power(
        chunk.resp.values[on], FS_HZ, 0.1, 0.7
    )


def test_sensor_swap_shows_the_other_person_after_a_gap() -> None:
    other = SubjectParams(rate_bpm=20.0, depth=0.8, hr_bpm=95.0, posture=Posture.SITTING)
    episodes = [Episode(EpisodeKind.SENSOR_SWAPPED, 120.0, subject=other)]
    _, chunk = _run(SubjectParams(rate_bpm=12.0, hr_bpm=65.0), episodes, 420.0)
    t = chunk.resp.times_s
    assert abs(peak_rate_bpm(chunk.resp.values[t < 120.0], FS_HZ) - 12.0) <= 1.0
    assert abs(peak_rate_bpm(chunk.resp.values[t > 140.0], FS_HZ) - 20.0) <= 1.0
    hr, t1 = chunk.hr.values, chunk.hr.times_s
    assert np.all(np.isnan(hr[(t1 >= 120.0) & (t1 < 140.0)]))
    assert np.nanmean(hr[t1 < 120.0]) == pytest.approx(65.0, abs=5.0)
    assert np.nanmean(hr[t1 > 150.0]) == pytest.approx(95.0, abs=5.0)
    assert np.mean(chunk.acc_y.values[t > 140.0]) > 0.8  # the new wearer sits up


def test_breath_hold_is_a_short_pause_then_a_deep_breath_without_desaturation() -> None:
    holds = [(60.0, 15.0), (150.0, 30.0)]
    episodes = [Episode(EpisodeKind.BREATH_HOLD, start, length) for start, length in holds]
    stream, chunk = _run(SubjectParams(posture=Posture.SITTING), episodes, 240.0)
    intervals = stream.apnoea_intervals()
    assert [a.cause for a in intervals] == [Label.BREATH_HOLD, Label.BREATH_HOLD]
    for interval, (start, length) in zip(intervals, holds, strict=True):
        assert interval.end_s is not None
        assert start <= interval.onset_s <= start + 8.0
        assert interval.end_s - interval.onset_s == pytest.approx(length)
        t = chunk.resp.times_s
        after = (t >= interval.end_s) & (t < interval.end_s + 3.0)
        before = t < start
        assert chunk.resp.values[after].max() > 1.5 * np.percentile(chunk.resp.values[before], 95)
    assert np.nanmin(chunk.spo2.values) >= 90.0
    assert Label.BREATH_HOLD in set(chunk.truth.labels.tolist())


def test_talking_is_irregular_but_never_an_apnoea() -> None:
    episodes = [Episode(EpisodeKind.TALKING, 120.0, 240.0)]
    stream, chunk = _run(SubjectParams(posture=Posture.SITTING), episodes, 360.0)
    assert _breath_cv(chunk, 120.0, 360.0) > 1.8 * _breath_cv(chunk, 0.0, 120.0)
    assert stream.apnoea_intervals() == ()
    assert Label.TALKING in set(chunk.truth.labels.tolist())


def test_sleep_is_slow_regular_and_still() -> None:
    params = SubjectParams(rate_bpm=12.0, hr_bpm=60.0)
    episodes = [Episode(EpisodeKind.SLEEP, 0.0, posture=Posture.SIDE)]
    stream, chunk = _run(params, episodes, 600.0)
    assert _breath_cv(chunk, 0.0, 600.0) < 0.1
    assert abs(peak_rate_bpm(chunk.resp.values, FS_HZ) - 12.0 * 0.88) <= 0.5
    assert np.nanmean(chunk.hr.values) < 60.0
    assert np.median(chunk.acc_x.values) > 0.95  # lying on one side
    assert stream.apnoea_intervals() == ()


def test_phone_still_is_still_and_breathing() -> None:
    episodes = [Episode(EpisodeKind.PHONE_STILL, 0.0)]
    stream, chunk = _run(SubjectParams(posture=Posture.SITTING), episodes, 600.0)
    per_second_std = np.linalg.norm(_acc(chunk), axis=1).reshape(-1, 25).std(axis=1)
    assert np.mean(per_second_std < 0.015) > 0.95  # detection.md 2.4 stillness threshold
    assert abs(peak_rate_bpm(chunk.resp.values, FS_HZ) - 14.0) <= 0.5
    assert stream.apnoea_intervals() == ()


def test_movement_bursts_break_stillness() -> None:
    episodes = [Episode(EpisodeKind.MOVEMENT, 60.0, 60.0)]
    _, chunk = _run(SubjectParams(), episodes, 120.0)
    per_second_std = np.linalg.norm(_acc(chunk), axis=1).reshape(-1, 25).std(axis=1)
    assert np.mean(per_second_std[60:] > 0.02) > 0.4
    assert np.mean(chunk.truth.labels[chunk.resp.times_s >= 60.0] == Label.MOTION) > 0.5


def test_naloxone_restarts_breathing_with_gasps_and_fast_breathing() -> None:
    episodes = [
        Episode(EpisodeKind.GRADUAL_OVERDOSE, 60.0, 120.0),
        Episode(EpisodeKind.NALOXONE, 240.0, 120.0, params={"delay_s": 30.0}),
    ]
    stream, chunk = _run(SubjectParams(), episodes, 480.0)
    (interval,) = stream.apnoea_intervals()
    assert interval.end_s == pytest.approx(270.0)
    t = chunk.resp.times_s
    gasps = chunk.resp.values[(t >= 270.0) & (t < 278.0)]
    baseline = np.percentile(chunk.resp.values[t < 60.0], 95)
    assert gasps.max() > 2.0 * baseline
    recovery = chunk.truth.labels[(t >= 270.0) & (t < 390.0)]
    assert np.mean((recovery == Label.RECOVERY) | (recovery == Label.MOTION)) > 0.95
    peaks = chunk.truth.breath_times_s
    assert np.count_nonzero((peaks >= 270.0) & (peaks < 330.0)) > 16
    spo2, t1 = chunk.spo2.values, chunk.spo2.times_s
    assert np.all(spo2[t1 >= 330.0] >= 94.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": EpisodeKind.BREATH_HOLD, "start_s": 0.0}, "needs a duration_s"),
        ({"kind": EpisodeKind.BREATH_HOLD, "start_s": 0.0, "duration_s": 200.0}, "within"),
        ({"kind": EpisodeKind.SLEEP, "start_s": -1.0}, "start_s"),
        ({"kind": EpisodeKind.SLEEP, "start_s": 0.0, "params": {"delay_s": 1.0}}, "no params"),
        ({"kind": EpisodeKind.NALOXONE, "start_s": 0.0, "params": {"delay_s": 0.0}}, "> 0"),
        ({"kind": EpisodeKind.SENSOR_SWAPPED, "start_s": 0.0}, "subject"),
        (
            {
                "kind": EpisodeKind.SENSOR_SWAPPED,
                "start_s": 0.0,
                "duration_s": 5.0,
                "subject": SubjectParams(),
            },
            "open-ended",
        ),
        ({"kind": "not_a_kind", "start_s": 0.0}, "not_a_kind"),
    ],
)
def test_episode_rejects_nonsense(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Episode(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"rate_bpm": 0.0}, {"depth": 9.0}, {"hr_bpm": float("nan")}, {"spo2_pct": 101.0}],
)
def test_subject_params_reject_out_of_range(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SubjectParams(**kwargs)  # type: ignore[arg-type]


def test_stream_rejects_bad_rates_and_durations() -> None:
    with pytest.raises(ValueError, match="fs_hz"):
        PhysiologyStream(SubjectParams(), [], np.random.default_rng(0), fs_hz=0.0)
    stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(0))
    with pytest.raises(ValueError, match="duration_s"):
        stream.advance(-1.0)


def test_streams_accept_empty_chunks_and_reject_bad_input() -> None:
    stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(0))
    room = stream.room()
    empty = stream.advance(0.0)
    assert len(empty.resp.values) == len(empty.hr.values) == len(empty.truth.labels) == 0
    assert empty.sample_blocks("w") == ()
    assert len(room.advance(0.0).resp.values) == 0
    with pytest.raises(ValueError, match="duration_s"):
        room.advance(float("inf"))
    with pytest.raises(ValueError, match="fs_hz"):
        stream.room(fs_hz=-1.0)
    with pytest.raises(TypeError, match="Posture"):
        SubjectParams(posture="upside_down")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duration_s"):
        Episode(EpisodeKind.SLEEP, 0.0, float("nan"))
    with pytest.raises(ValueError, match="duration_s"):
        simulate(SubjectParams(), [], 0.0, seed=1)


def test_overlapping_removals_and_a_hold_lost_in_apnoea() -> None:
    episodes = [
        Episode(EpisodeKind.SENSOR_REMOVED, 10.0, 20.0),
        Episode(EpisodeKind.SENSOR_REMOVED, 20.0, 20.0),
        Episode(EpisodeKind.ABRUPT_APNOEA, 60.0, 40.0),
        Episode(EpisodeKind.BREATH_HOLD, 70.0, 15.0),
    ]
    stream, chunk = _run(SubjectParams(), episodes, 150.0)
    t = chunk.resp.times_s
    assert np.all(chunk.truth.labels[(t >= 10.0) & (t < 40.0)] == Label.OFF_BODY)
    assert chunk.truth.labels[t == 40.0][0] != Label.OFF_BODY
    causes = [a.cause for a in stream.apnoea_intervals()]
    assert causes == [Label.APNOEA]  # the hold fell inside the apnoea: nothing to hold
