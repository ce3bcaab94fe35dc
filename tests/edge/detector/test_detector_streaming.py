"""Streaming: chunked feeding of any size gives the events of one batch call; filters are causal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from edge.detector import DetectionEvent, Detector, EventKind, InputError, Source
from edge.detector.filters import CausalFilter, design_bandpass
from firmware_bridge.samples import Channel, SampleBlock
from simulators.physiology import (
    AccSensor,
    Episode,
    EpisodeKind,
    PhysiologyStream,
    Posture,
    SubjectParams,
)

from .signals import FS_HZ, blocks, chest_acc

_EPISODES = (
    Episode(EpisodeKind.MOVEMENT, 40.0, 20.0),
    Episode(EpisodeKind.SLEEP, 70.0, 30.0, posture=Posture.SIDE),  # two posture changes
    Episode(EpisodeKind.ABRUPT_APNOEA, 110.0, 40.0),
)
_SENSOR = AccSensor(noise_g=0.0015, lsb_g=0.001, noise_taps=2)


def _simulated(step_s: float, total_s: float = 200.0) -> list[DetectionEvent]:
    """Wearable + room from the simulator, advanced in ``step_s`` pieces, fed as they come."""
    stream = PhysiologyStream(SubjectParams(), _EPISODES, np.random.default_rng(7), sensor=_SENSOR)
    room = stream.room()
    det = Detector()
    events: list[DetectionEvent] = []
    for _ in range(round(total_s / step_s)):
        for block in stream.advance_blocks(step_s, "wearable"):
            events += det.update(block, source=Source.WEARABLE)
        for block in room.advance(step_s).sample_blocks("radar"):
            src = Source.DOOR if block.channel is Channel.DOOR else Source.RADAR
            events += det.update(block, source=src)
    return events + det.flush()


@pytest.fixture(scope="module")
def simulated_reference() -> list[DetectionEvent]:
    return _simulated(1.0)


@pytest.mark.parametrize("step_s", [0.2, 0.5, 2.5, 8.0])
def test_detector_chunk_size_does_not_change_events(
    step_s: float, simulated_reference: list[DetectionEvent]
) -> None:
    assert EventKind.APNOEA in {e.kind for e in simulated_reference}
    assert _simulated(step_s) == simulated_reference


@pytest.mark.parametrize("block_s", [1 / FS_HZ, 0.37, 1.0, 7.3, 9.9])
def test_detector_update_in_blocks_equals_detect(block_s: float) -> None:
    rec = chest_acc(180.0, stop_s=100.0, seed=11)
    rec.columns["spo2"] = np.where(rec.t < 150.0, 97.0, 84.0)
    batch = Detector().detect(rec.columns, rec.t)
    det = Detector()
    chunked = [e for b, s in blocks(rec, block_s) for e in det.update(b, source=s)]
    chunked += det.flush()
    assert [e.kind for e in batch][:1] == [EventKind.APNOEA]
    assert chunked == batch


def test_detector_one_stream_in_one_block_equals_detect() -> None:
    rec = chest_acc(180.0, stop_s=100.0, seed=12)
    batch = Detector().detect(rec.columns, rec.t)
    det = Detector()
    whole = [e for b, s in blocks(rec, 180.0) for e in det.update(b, source=s)] + det.flush()
    assert whole == batch
    assert EventKind.APNOEA in {e.kind for e in whole}


def test_detector_advance_turns_a_silent_wearable_into_no_signal() -> None:
    rec = chest_acc(60.0, seed=2)
    det = Detector()
    for b, s in blocks(rec, 1.0):
        det.update(b, source=s)
    events = []
    for now in range(61, 120):
        events += det.advance(float(now))
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.NO_SIGNAL]
    assert events[0].evidence["reason"] == "no_data"


def test_detector_detect_rejects_unusable_columns() -> None:
    t = np.arange(0.0, 10.0, 0.04)
    with pytest.raises(InputError, match="unknown column"):
        Detector().detect({"resp2": t}, t)
    with pytest.raises(InputError, match="increasing"):
        Detector().detect({"resp": t}, t[::-1])
    with pytest.raises(InputError, match="samples"):
        Detector().detect({"resp": t[:-1]}, t)


def test_detector_ignores_samples_older_than_decided_seconds() -> None:
    det = Detector()
    rec = chest_acc(40.0, seed=1)
    for b, s in blocks(rec, 1.0):
        det.update(b, source=s)
    late = SampleBlock("dev", Channel.RESP, 0.0, FS_HZ, tuple(np.zeros(100).tolist()))
    assert det.update(late) == []


@pytest.mark.parametrize("fs_hz", [10.0, 25.0, 50.0, 1000.0])
def test_bandpass_passes_breathing_and_rejects_drift_and_cardiac(fs_hz: float) -> None:
    sos = design_bandpass(0.05, 1.0, fs_hz, 2)
    freqs, h = signal.sosfreqz(sos, worN=[0.01, 0.1, 0.25, 0.5, 3.0], fs=fs_hz)
    gain = dict(zip(freqs.round(2).tolist(), np.abs(h).tolist(), strict=True))
    assert 0.85 <= gain[0.25] <= 1.05  # 15 breaths/min
    assert 0.8 <= gain[0.1] <= 1.05  # 6 breaths/min
    assert gain[0.5] >= 0.8  # 30 breaths/min
    assert gain[0.01] <= 0.25  # posture drift
    assert gain[3.0] <= 0.15  # cardiac harmonics and tremor


def test_causal_filter_is_causal_and_chunk_invariant() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1000))
    x[:, 500] += 50.0
    whole = CausalFilter(design_bandpass(0.05, 1.0, 25.0, 2)).process(x)
    f = CausalFilter(design_bandpass(0.05, 1.0, 25.0, 2))
    pieces = np.concatenate([f.process(x[:, a : a + 37]) for a in range(0, 1000, 37)], axis=1)
    np.testing.assert_array_equal(pieces, whole)
    y = x.copy()
    y[:, 500] -= 50.0
    other = CausalFilter(design_bandpass(0.05, 1.0, 25.0, 2)).process(y)
    np.testing.assert_array_equal(other[:, :500], whole[:, :500])  # no effect before the impulse
