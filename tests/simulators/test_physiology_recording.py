"""Whole recordings: the replay CSV and the ground-truth JSON a tester hands to the detector."""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

import simulators
from firmware_bridge.samples import Channel
from simulators import physiology
from simulators.physiology import (
    CSV_COLUMNS,
    Episode,
    EpisodeKind,
    Label,
    PhysiologyStream,
    Recording,
    SubjectParams,
    simulate,
)


@pytest.fixture(scope="module")
def recording() -> Recording:
    episodes = [
        Episode(EpisodeKind.SENSOR_REMOVED, 20.0, 15.0),
        Episode(EpisodeKind.ABRUPT_APNOEA, 60.0),
        Episode(EpisodeKind.LEAVE_ROOM, 40.0, 10.0),
    ]
    return simulate(SubjectParams(), episodes, 120.0, seed=21)


def test_recording_csv_round_trip(recording: Recording, tmp_path: Path) -> None:
    path = tmp_path / "replay.csv"
    recording.to_csv(path)
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert CSV_COLUMNS == (
        "t",
        "resp",
        "acc_x",
        "acc_y",
        "acc_z",
        "spo2",
        "hr",
        "presence",
        "motion",
        "door",
    )
    table = np.array([[float(v) for v in row] for row in rows[1:]])
    assert table.shape == (120 * 25, len(CSV_COLUMNS))
    np.testing.assert_allclose(np.diff(table[:, 0]), 1 / 25.0, atol=1e-4)
    np.testing.assert_allclose(table[:, 1], recording.wearable[Channel.RESP].values, atol=1e-6)
    np.testing.assert_allclose(table[:, 4], recording.wearable[Channel.ACC_Z].values, atol=1e-6)
    t = table[:, 0]
    spo2 = table[:, CSV_COLUMNS.index("spo2")]
    assert np.all(np.isnan(spo2[(t >= 20.0) & (t < 35.0)]))
    assert np.all(np.isfinite(spo2[t < 20.0]))
    held = spo2[(t >= 5.0) & (t < 6.0)]
    assert np.all(held == recording.wearable[Channel.SPO2].values[5])
    door = table[:, CSV_COLUMNS.index("door")]
    assert door[t == 40.0] == 1.0
    presence = table[:, CSV_COLUMNS.index("presence")]
    assert presence[t == 48.0] == 0.0


def test_recording_truth_json(recording: Recording, tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    recording.write_truth_json(path)
    truth = json.loads(path.read_text())
    assert truth["format"] == "odart-physiology-truth/1"
    assert truth["seed"] == 21
    (apnoea,) = truth["apnoea_intervals"]
    assert apnoea["cause"] == "apnoea"
    assert apnoea["end_s"] is None
    assert 60.0 <= apnoea["onset_s"] < 70.0
    labels = truth["labels"]
    assert labels[0]["start_s"] == 0.0
    assert labels[-1]["end_s"] == pytest.approx(120.0)
    assert all(a["end_s"] == b["start_s"] for a, b in itertools.pairwise(labels))
    assert {"off_body", "apnoea"} <= {run["label"] for run in labels}
    assert all(t < apnoea["onset_s"] for t in truth["breath_times_s"])
    assert len(truth["rate_bpm_1hz"]) == 120
    assert truth["rate_bpm_1hz"][25] is None
    assert [e["kind"] for e in truth["episodes"]] == [
        "sensor_removed",
        "abrupt_apnoea",
        "leave_room",
    ]
    assert {run["label"] for run in truth["location"]} == {"in_room", "away"}


def test_simulate_equals_the_stream(recording: Recording) -> None:
    stream = PhysiologyStream(
        recording.params, recording.episodes, np.random.default_rng(recording.seed)
    )
    chunk = stream.advance(120.0)
    for channel, signal in chunk.signals().items():
        np.testing.assert_array_equal(signal.values, recording.wearable[channel].values)
    assert np.all(recording.labels[recording.wearable[Channel.RESP].times_s > 70.0] == Label.APNOEA)


def test_stream_sample_blocks_are_contiguous() -> None:
    stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(2))
    first = {b.channel: b for b in stream.advance_blocks(1.5, "wearable-1")}
    second = {b.channel: b for b in stream.advance_blocks(1.5, "wearable-1")}
    assert (
        set(first)
        == set(second)
        == {
            Channel.RESP,
            Channel.ACC_X,
            Channel.ACC_Y,
            Channel.ACC_Z,
            Channel.HR,
            Channel.SPO2,
        }
    )
    for channel, block in first.items():
        assert block.device_id == "wearable-1"
        assert math.isclose(block.end_s, second[channel].t0_s)
    assert len(first[Channel.RESP].values) + len(second[Channel.RESP].values) == 75
    assert [len(first[Channel.HR].values), len(second[Channel.HR].values)] == [2, 1]


def test_physiology_exports_are_pinned() -> None:
    assert physiology.__all__ == [
        "CSV_COLUMNS",
        "AccSensor",
        "ApnoeaInterval",
        "Chunk",
        "ChunkTruth",
        "Episode",
        "EpisodeKind",
        "Label",
        "Location",
        "PhysiologyStream",
        "Posture",
        "Recording",
        "RoomChunk",
        "RoomStream",
        "RoomTruth",
        "Signal",
        "SubjectParams",
        "simulate",
    ]
    assert set(physiology.__all__) <= set(simulators.__all__)
    for name in simulators.__all__:
        assert hasattr(simulators, name), name
