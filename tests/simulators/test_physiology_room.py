"""The room's radar and door follow the same person the wearable is on."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.samples import Channel
from simulators.physiology import (
    Episode,
    EpisodeKind,
    Location,
    PhysiologyStream,
    RoomChunk,
    RoomStream,
    SubjectParams,
)
from tests.simulators._signals import band_power, peak_rate_bpm

RADAR_FS_HZ = 20.0


def _room(episodes: list[Episode], seconds: float, seed: int = 8) -> RoomChunk:
    stream = RoomStream(SubjectParams(), episodes, np.random.default_rng(seed), RADAR_FS_HZ)
    return stream.advance(seconds)


def test_room_standalone_watches_the_same_person_as_the_wearable() -> None:
    episodes = [Episode(EpisodeKind.ABRUPT_APNOEA, 60.0)]
    wearable = PhysiologyStream(SubjectParams(), episodes, np.random.default_rng(8))
    shared = wearable.room(RADAR_FS_HZ).advance(90.0)
    alone = _room(episodes, 90.0)
    np.testing.assert_array_equal(shared.resp.values, alone.resp.values)
    np.testing.assert_array_equal(shared.motion.values, alone.motion.values)
    worn = wearable.advance(90.0)
    np.testing.assert_array_equal(shared.truth.breath_times_s, worn.truth.breath_times_s)


@pytest.mark.parametrize("step_s", [0.3, 1.0, 6.1])
def test_room_chunks_of_any_size_equal_one_go(step_s: float) -> None:
    episodes = [
        Episode(EpisodeKind.LEAVE_ROOM, 20.0, 15.0),
        Episode(EpisodeKind.SHOWER, 50.0, 20.0),
    ]
    whole = _room(episodes, 90.0)
    stream = RoomStream(SubjectParams(), episodes, np.random.default_rng(8), RADAR_FS_HZ)
    chunks = []
    while stream.t_s < 90.0 - 1e-9:
        chunks.append(stream.advance(min(step_s, 90.0 - stream.t_s)))
    for name in ("resp", "presence", "motion", "door"):
        joined = np.concatenate([getattr(ch, name).values for ch in chunks])
        np.testing.assert_array_equal(joined, getattr(whole, name).values)


def test_room_radar_sees_breathing_at_the_set_rate_and_flat_apnoea() -> None:
    chunk = _room([Episode(EpisodeKind.ABRUPT_APNOEA, 300.0)], 420.0)
    t = chunk.resp.times_s
    breathing = chunk.resp.values[t < 300.0]
    assert abs(peak_rate_bpm(breathing, RADAR_FS_HZ) - 14.0) <= 0.5
    apnoea = chunk.resp.values[t > 320.0]
    assert band_power(apnoea, RADAR_FS_HZ, 0.08, 1.0) < 0.01 * band_power(
        breathing, RADAR_FS_HZ, 0.08, 1.0
    )
    assert np.all(chunk.presence.values == 1.0)


def test_room_leaving_opens_the_door_and_clears_presence() -> None:
    chunk = _room([Episode(EpisodeKind.LEAVE_ROOM, 60.0, 60.0)], 180.0)
    t = chunk.presence.times_s
    presence, door = chunk.presence.values, chunk.door.values
    assert np.all(presence[t < 60.0] == 1.0)
    assert np.all(presence[(t >= 70.0) & (t < 120.0)] == 0.0)
    assert np.all(presence[t >= 120.0] == 1.0)
    opened = t[door == 1.0]
    assert opened.min() == 60.0
    assert np.any((opened >= 120.0) & (opened < 125.0))
    assert np.all(chunk.motion.values[(t >= 70.0) & (t < 120.0)] < 5.0)
    assert set(chunk.truth.location.tolist()) == {Location.IN_ROOM, Location.AWAY}


def test_room_shower_is_present_busy_and_hides_breathing() -> None:
    chunk = _room([Episode(EpisodeKind.SHOWER, 60.0, 120.0)], 240.0)
    t = chunk.motion.times_s
    in_shower = (t >= 61.0) & (t < 180.0)
    assert np.all(chunk.presence.values == 1.0)
    assert np.median(chunk.motion.values[in_shower]) > 40.0
    assert np.median(chunk.motion.values[t < 60.0]) < 10.0
    tw = chunk.resp.times_s
    water = chunk.resp.values[(tw >= 61.0) & (tw < 180.0)]
    calm = chunk.resp.values[tw < 60.0]
    assert water.std() > 3.0 * calm.std()
    assert np.all(chunk.truth.location[in_shower] == Location.SHOWER)


def test_room_sample_blocks_split_radar_and_door_devices() -> None:
    chunk = _room([], 2.0)
    blocks = chunk.sample_blocks("radar-1", door_device_id="door-1")
    by_channel = {b.channel: b for b in blocks}
    assert by_channel[Channel.DOOR].device_id == "door-1"
    assert by_channel[Channel.RESP].device_id == "radar-1"
    assert len(by_channel[Channel.RESP].values) == 40
    assert by_channel[Channel.PRESENCE].fs_hz == 1.0


def test_room_and_wearable_interleaved_in_any_order_stay_the_same() -> None:
    episodes = [Episode(EpisodeKind.MOVEMENT, 10.0, 20.0)]
    wearable = PhysiologyStream(SubjectParams(), episodes, np.random.default_rng(4))
    room = wearable.room(RADAR_FS_HZ)
    worn, seen = [], []
    while room.t_s < 60.0 - 1e-9:
        seen.append(room.advance(0.7 if room.t_s + 0.7 <= 60.0 else 60.0 - room.t_s))
        if wearable.t_s < 60.0 - 1e-9:
            worn.append(wearable.advance(min(1.3, 60.0 - wearable.t_s)))
    alone_worn = PhysiologyStream(SubjectParams(), episodes, np.random.default_rng(4)).advance(60.0)
    alone_seen = RoomStream(SubjectParams(), episodes, np.random.default_rng(4), RADAR_FS_HZ)
    seen_once = alone_seen.advance(60.0)
    np.testing.assert_array_equal(
        np.concatenate([c.acc_z.values for c in worn]), alone_worn.acc_z.values
    )
    np.testing.assert_array_equal(
        np.concatenate([c.resp.values for c in seen]), seen_once.resp.values
    )
    np.testing.assert_array_equal(
        np.concatenate([c.motion.values for c in seen]), seen_once.motion.values
    )
