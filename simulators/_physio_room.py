"""The room's view of a person: radar breathing waveform, presence, motion energy, door (pure).

A :class:`RoomStream` watches the same simulated person as a :class:`PhysiologyStream` built
from the same generator, or shares it outright via :meth:`PhysiologyStream.room`. It follows
where the person is: in the room, in the shower (water swamps the breathing), or away.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_bridge.samples import Channel, SampleBlock
from simulators import _physio_const as c
from simulators._physio_params import Episode, Location, SubjectParams
from simulators._physio_person import FloatArray, Person
from simulators._physio_signal import SampleClock, Signal, spawn_streams, to_sample_blocks

LOCATION_NAMES: npt.NDArray[np.str_] = np.array([loc.value for loc in Location])
_AWAY = list(Location).index(Location.AWAY)
_SHOWER = list(Location).index(Location.SHOWER)


@dataclass(frozen=True, slots=True)
class RoomTruth:
    """Where the person really was during a room chunk.

    Attributes:
        location: per-second :class:`Location` values, on the 1 Hz grid of the chunk.
        breath_times_s: end-inspiration times of the person's breaths in the chunk.
    """

    location: npt.NDArray[np.str_]
    breath_times_s: FloatArray


@dataclass(frozen=True, slots=True)
class RoomChunk:
    """The room sensors' output over ``[t0_s, t1_s)``.

    ``resp`` is the radar breathing waveform (mm of chest displacement), ``presence`` is 1/0,
    ``motion`` is moving-target energy 0-100, ``door`` is 1 open / 0 closed; the last three at 1 Hz.
    """

    t0_s: float
    t1_s: float
    resp: Signal
    presence: Signal
    motion: Signal
    door: Signal
    truth: RoomTruth

    def signals(self) -> Mapping[Channel, Signal]:
        """The channels by their replay-CSV name."""
        return {
            Channel.RESP: self.resp,
            Channel.PRESENCE: self.presence,
            Channel.MOTION: self.motion,
            Channel.DOOR: self.door,
        }

    def sample_blocks(
        self, device_id: str, *, door_device_id: str | None = None
    ) -> tuple[SampleBlock, ...]:
        """The chunk as :class:`SampleBlock` s: radar channels from ``device_id``, the door from
        ``door_device_id`` (``device_id`` when not given). Empty channels are left out."""
        radar: dict[Channel, Signal] = {
            ch: s for ch, s in self.signals().items() if ch is not Channel.DOOR
        }
        door: dict[Channel, Signal] = {Channel.DOOR: self.door}
        return to_sample_blocks(radar, device_id) + to_sample_blocks(
            door, door_device_id or device_id
        )


class RoomStream:
    """Radar and door contact of the room a simulated person lives in, advanced chunk by chunk."""

    def __init__(
        self,
        params: SubjectParams,
        episodes: Sequence[Episode],
        rng: np.random.Generator,
        fs_hz: float = c.RADAR_FS_HZ,
    ) -> None:
        """Watch the person that ``PhysiologyStream(params, episodes, rng)`` would be worn by.

        Args:
            params: the occupant's resting physiology.
            episodes: what happens, any order.
            rng: the only source of randomness; the same seed gives the same person as the
                wearable stream built from it.
            fs_hz: rate of the radar breathing waveform.
        """
        person_rng, _wearable_rng, room_rng, _swap_rng = spawn_streams(rng)
        self._setup(Person(params, tuple(episodes), person_rng), room_rng, fs_hz)

    @classmethod
    def _watching(cls, person: Person, rng: np.random.Generator, fs_hz: float) -> RoomStream:
        """A room stream over an existing ``person``: how ``PhysiologyStream.room`` shares it."""
        stream = cls.__new__(cls)
        stream._setup(person, rng, fs_hz)
        return stream

    def _setup(self, person: Person, rng: np.random.Generator, fs_hz: float) -> None:
        if not (math.isfinite(fs_hz) and fs_hz > 0):
            message = f"fs_hz must be a positive finite rate, got {fs_hz!r}"
            raise ValueError(message)
        self._person = person
        self.fs_hz = float(fs_hz)
        self._wave_rng, self._energy_rng = rng.spawn(2)
        schedule = person.schedule
        self._doors = np.array(schedule.door_openings())
        changes = sorted(
            {0.0}
            | {e.start_s for e in schedule.episodes}
            | {e.end_s for e in schedule.episodes if math.isfinite(e.end_s)}
        )
        self._loc_times = np.array(changes)
        self._loc_codes = np.array(
            [list(Location).index(schedule.location_at(t)) for t in changes], dtype=np.int64
        )
        self._clock = SampleClock(self.fs_hz)

    @property
    def t_s(self) -> float:
        """How far the stream has been advanced, seconds."""
        return self._clock.t_s

    def _location(self, times: FloatArray) -> npt.NDArray[np.int64]:
        idx = np.searchsorted(self._loc_times, times, side="right") - 1
        codes: npt.NDArray[np.int64] = self._loc_codes[np.maximum(idx, 0)]
        return codes

    def advance(self, duration_s: float) -> RoomChunk:
        """Generate the next ``duration_s`` seconds.

        Raises:
            ValueError: ``duration_s`` is negative or not finite.
        """
        step = self._clock.advance(duration_s)
        t0, times, seconds = step.t0_s, step.times, step.seconds
        wave_t0, vital_t0 = step.wave_t0_s, step.vital_t0_s
        wave, peaks = self._waveform(times)
        presence, energy, door, location = self._per_second(seconds)
        return RoomChunk(
            t0_s=t0,
            t1_s=step.t1_s,
            resp=Signal(wave_t0, self.fs_hz, wave),
            presence=Signal(vital_t0, c.VITALS_FS_HZ, presence),
            motion=Signal(vital_t0, c.VITALS_FS_HZ, energy),
            door=Signal(vital_t0, c.VITALS_FS_HZ, door),
            truth=RoomTruth(location=LOCATION_NAMES[location], breath_times_s=peaks),
        )

    def _waveform(self, times: FloatArray) -> tuple[FloatArray, FloatArray]:
        noise = self._wave_rng.standard_normal((len(times), 2))
        if not len(times):
            return np.empty(0), np.empty(0)
        chest, _codes, _rate = self._person.breathing(times)
        motion, _moving = self._person.motion(times)
        location = self._location(times)
        seen = location != _AWAY
        wave = np.where(
            seen, c.RADAR_MM_PER_DEPTH * chest + c.RADAR_MOTION_MM_PER_G * motion[:, 2], 0.0
        )
        water = np.where(location == _SHOWER, c.SHOWER_NOISE_MM, 0.0)
        wave += c.RADAR_NOISE_MM * noise[:, 0] + water * noise[:, 1]
        peaks = self._person.breath_peaks(float(times[0]), float(times[-1]) + 1.0 / self.fs_hz)
        return wave, peaks

    def _per_second(
        self, seconds: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64]]:
        noise = self._energy_rng.standard_normal(len(seconds))
        location = self._location(seconds)
        if not len(seconds):
            empty = np.empty(0)
            return empty, empty, empty, location
        recent = self._location(np.maximum(seconds - c.RADAR_ABSENT_HOLD_S, 0.0))
        presence = ((location != _AWAY) | (recent != _AWAY)).astype(float)
        probe = (
            seconds[:, None] - 1.0 + np.arange(c.ENERGY_SUBSAMPLES) / c.ENERGY_SUBSAMPLES
        ).ravel()
        probe = np.maximum(probe, 0.0)
        motion, _moving = self._person.motion(probe)
        peak_g = np.linalg.norm(motion, axis=1).reshape(len(seconds), -1).max(axis=1)
        energy = c.STILL_ENERGY + c.MOTION_ENERGY_PER_G * peak_g
        energy = np.where(location == _SHOWER, c.SHOWER_ENERGY, energy)
        energy = np.where(location == _AWAY, 0.0, energy) + c.ENERGY_NOISE * noise
        energy = np.clip(energy, 0.0, c.ENERGY_MAX)
        door = np.zeros(len(seconds))
        for opened in self._doors:
            door[(seconds >= opened) & (seconds < opened + c.DOOR_OPEN_S)] = 1.0
        return presence, energy, door, location
