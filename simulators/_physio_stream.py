"""The wearable's view of a person, generated chunk by chunk (pure).

A :class:`PhysiologyStream` is a chest wearable (respiration, 3-axis accelerometer, oximeter)
on a simulated person. ``advance(d)`` returns the next ``d`` seconds; any split of the same
total duration gives exactly the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_bridge.samples import Channel, SampleBlock
from simulators import _physio_const as c
from simulators._physio_params import AccSensor, Episode, EpisodeKind, Label, SubjectParams
from simulators._physio_person import LABEL_CODE, LABELS, MOTION_OVERRIDES, FloatArray, Person
from simulators._physio_room import RoomStream
from simulators._physio_signal import SampleClock, Signal, spawn_streams, to_sample_blocks

LABEL_NAMES: npt.NDArray[np.str_] = np.array([label.value for label in LABELS])
_OFF_CODE = float(LABEL_CODE[Label.OFF_BODY])
_MOTION_CODE = float(LABEL_CODE[Label.MOTION])
_TABLE_G = np.array(c.OFF_BODY_GRAVITY_G) / np.linalg.norm(c.OFF_BODY_GRAVITY_G)
_HANDLING_FREQS = np.array(c.HANDLING_FREQS_HZ)


@dataclass(frozen=True, slots=True)
class ApnoeaInterval:
    """A breathing pause of at least 10 s (AASM, detection.md 1.2).

    Attributes:
        onset_s: the end of the last breath before the pause.
        end_s: the start of the next breath, or ``None`` while it has not come.
        cause: why: ``APNOEA`` (overdose), ``BREATH_HOLD``, or the activity of a benign pause.
    """

    onset_s: float
    end_s: float | None
    cause: Label


@dataclass(frozen=True, slots=True)
class ChunkTruth:
    """What really happened during a chunk, on the waveform grid of the chunk.

    Attributes:
        labels: per-sample :class:`Label` values (a numpy string array, compare with ``==``).
        rate_bpm: per-sample true breathing rate of the wearer (0 in apnoea, NaN off-body).
        breath_times_s: end-inspiration times of the wearer's breaths in the chunk (none while
            the wearable is off-body).
    """

    labels: npt.NDArray[np.str_]
    rate_bpm: FloatArray
    breath_times_s: FloatArray


@dataclass(frozen=True, slots=True)
class Chunk:
    """The wearable's output over ``[t0_s, t1_s)``: one :class:`Signal` per channel, and truth."""

    t0_s: float
    t1_s: float
    resp: Signal
    acc_x: Signal
    acc_y: Signal
    acc_z: Signal
    hr: Signal
    spo2: Signal
    truth: ChunkTruth

    def signals(self) -> Mapping[Channel, Signal]:
        """The channels by their replay-CSV name."""
        return {
            Channel.RESP: self.resp,
            Channel.ACC_X: self.acc_x,
            Channel.ACC_Y: self.acc_y,
            Channel.ACC_Z: self.acc_z,
            Channel.HR: self.hr,
            Channel.SPO2: self.spo2,
        }

    def sample_blocks(self, device_id: str) -> tuple[SampleBlock, ...]:
        """The chunk as :class:`SampleBlock` s from ``device_id``; empty channels are left out."""
        return to_sample_blocks(self.signals(), device_id)


def _in_intervals(times: FloatArray, intervals: FloatArray) -> npt.NDArray[np.bool_]:
    """Which ``times`` fall inside any of the sorted, disjoint ``[start, end)`` rows."""
    if not len(intervals):
        return np.zeros(len(times), dtype=bool)
    idx = np.searchsorted(intervals[:, 0], times, side="right") - 1
    inside: npt.NDArray[np.bool_] = (idx >= 0) & (times < intervals[np.maximum(idx, 0), 1])
    return inside


def _merge(intervals: list[tuple[float, float]]) -> FloatArray:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=float).reshape(-1, 2)


class PhysiologyStream:
    """A chest wearable on a simulated person, advanced chunk by chunk.

    Example:
        >>> stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(1))
        >>> chunk = stream.advance(1.0)
        >>> len(chunk.resp.values), len(chunk.spo2.values)
        (25, 1)
    """

    def __init__(
        self,
        params: SubjectParams,
        episodes: Sequence[Episode],
        rng: np.random.Generator,
        fs_hz: float = c.WAVEFORM_FS_HZ,
        *,
        sensor: AccSensor | None = None,
    ) -> None:
        """Put the wearable on a person described by ``params`` living through ``episodes``.

        Args:
            params: the wearer's resting physiology.
            episodes: what happens, any order.
            rng: the only source of randomness; the same seed gives the same person.
            fs_hz: rate of resp and the accelerometer axes.
            sensor: the accelerometer's tilt gain, noise and quantisation (default: 12 mg per
                unit depth, 2 mg white noise, no quantisation).

        Raises:
            ValueError: ``fs_hz`` is not a positive finite rate.
        """
        if not (math.isfinite(fs_hz) and fs_hz > 0):
            message = f"fs_hz must be a positive finite rate, got {fs_hz!r}"
            raise ValueError(message)
        self.params = params
        self.episodes = tuple(episodes)
        self.fs_hz = float(fs_hz)
        self.sensor = sensor if sensor is not None else AccSensor()
        self._noise_tail = np.zeros((self.sensor.noise_taps - 1, 3))
        person_rng, self._noise_rng, self._room_rng, swap_rng = spawn_streams(rng)
        self._person = Person(params, self.episodes, person_rng)
        swaps = sorted(
            (e for e in self.episodes if e.kind is EpisodeKind.SENSOR_SWAPPED),
            key=lambda e: e.start_s,
        )
        self._wearers = [self._person]
        self._wear_starts = [0.0]
        for episode, child in zip(swaps, swap_rng.spawn(len(swaps)), strict=True):
            assert episode.subject is not None  # validated by Episode
            self._wearers.append(Person(episode.subject, (), child))
            self._wear_starts.append(episode.start_s + c.SWAP_HANDLING_S)
        off = [
            (e.start_s, e.end_s)
            for e in self.episodes
            if e.kind in (EpisodeKind.SENSOR_REMOVED, EpisodeKind.SHOWER)
        ] + [(e.start_s, e.start_s + c.SWAP_HANDLING_S) for e in swaps]
        self._off = _merge(off)
        self._no_reading = _merge([(s, e + c.OXIMETER_ACQUIRE_S) for s, e in self._off.tolist()])
        edges = [t for row in self._off.tolist() for t in row if math.isfinite(t)]
        self._handling = np.array(sorted(edges))
        self._clock = SampleClock(self.fs_hz)

    @property
    def t_s(self) -> float:
        """How far the stream has been advanced, seconds."""
        return self._clock.t_s

    def advance(self, duration_s: float) -> Chunk:
        """Generate the next ``duration_s`` seconds.

        Raises:
            ValueError: ``duration_s`` is negative or not finite.
        """
        step = self._clock.advance(duration_s)
        t0, times, seconds = step.t0_s, step.times, step.seconds
        wave_t0, vital_t0 = step.wave_t0_s, step.vital_t0_s
        resp, acc, labels, rate, peaks = self._waveforms(times)
        hr, spo2 = self._vitals(seconds)
        return Chunk(
            t0_s=t0,
            t1_s=step.t1_s,
            resp=Signal(wave_t0, self.fs_hz, resp),
            acc_x=Signal(wave_t0, self.fs_hz, acc[:, 0]),
            acc_y=Signal(wave_t0, self.fs_hz, acc[:, 1]),
            acc_z=Signal(wave_t0, self.fs_hz, acc[:, 2]),
            hr=Signal(vital_t0, c.VITALS_FS_HZ, hr),
            spo2=Signal(vital_t0, c.VITALS_FS_HZ, spo2),
            truth=ChunkTruth(labels=labels, rate_bpm=rate, breath_times_s=peaks),
        )

    def advance_blocks(self, duration_s: float, device_id: str) -> tuple[SampleBlock, ...]:
        """:meth:`advance`, handed over as :class:`SampleBlock` s from ``device_id``."""
        return self.advance(duration_s).sample_blocks(device_id)

    def room(self, fs_hz: float = c.RADAR_FS_HZ) -> RoomStream:
        """The radar and door of this person's room, sharing the person (call at most once).

        Equal to ``RoomStream(params, episodes, rng)`` built from the same seed, but the person
        is generated once for both streams.
        """
        return RoomStream._watching(self._person, self._room_rng, fs_hz)

    def apnoea_intervals(self) -> tuple[ApnoeaInterval, ...]:
        """Every pause of at least 10 s of the original wearer known so far (see
        :class:`ApnoeaInterval`).
        """
        return tuple(
            ApnoeaInterval(onset, end, cause)
            for onset, end, cause in self._person.apnoea_intervals(self._clock.t_s)
        )

    def _wearer_slices(self, times: FloatArray) -> list[tuple[Person, slice]]:
        bounds = np.searchsorted(times, self._wear_starts[1:], side="left").tolist()
        edges = [0, *bounds, len(times)]
        return [
            (person, slice(lo, hi))
            for person, lo, hi in zip(self._wearers, edges[:-1], edges[1:], strict=True)
            if hi > lo
        ]

    def _waveforms(
        self, times: FloatArray
    ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.str_], FloatArray, FloatArray]:
        n = len(times)
        noise = self._noise_rng.standard_normal((n, 4))
        if n == 0:
            empty = np.empty(0)
            return empty, np.empty((0, 3)), LABEL_NAMES[:0], empty, empty
        chest = np.empty(n)
        codes = np.empty(n)
        rate = np.empty(n)
        acc = np.empty((n, 3))
        peaks: list[FloatArray] = []
        for person, sl in self._wearer_slices(times):
            t = times[sl]
            wave, code, r = person.breathing(t)
            motion, moving = person.motion(t)
            gravity, tilt = person.gravity(t)
            cardiac = person.cardiac(t)
            theta = (self.sensor.tilt_g_per_depth * wave)[:, None]
            acc[sl] = gravity * np.cos(theta) + tilt * np.sin(theta) + motion
            acc[sl, 2] += c.CARDIAC_G * cardiac
            chest[sl] = wave + c.RESP_CARDIAC * cardiac + c.MOTION_RESP_X * motion[:, 2]
            codes[sl] = np.where(
                moving & MOTION_OVERRIDES[code.astype(np.int64)], _MOTION_CODE, code
            )
            rate[sl] = r
            peaks.append(person.breath_peaks(float(t[0]), float(t[-1]) + 1.0 / self.fs_hz))
        off = _in_intervals(times, self._off)
        seen = np.concatenate(peaks)
        seen = seen[~_in_intervals(seen, self._off)]
        acc[off] = _TABLE_G
        chest[off] = 0.0
        codes[off] = _OFF_CODE
        rate[off] = np.nan
        acc += self._handling_motion(times) + self.sensor.noise_g * self._acc_noise(noise[:, 1:])
        if self.sensor.lsb_g > 0.0:
            acc = np.round(acc / self.sensor.lsb_g) * self.sensor.lsb_g
        chest += c.RESP_NOISE * noise[:, 0]
        labels = LABEL_NAMES[codes.astype(np.int64)]
        return chest, acc, labels, rate, seen

    def _acc_noise(self, white: FloatArray) -> FloatArray:
        """Unit-rms accelerometer noise: white, or averaged over ``noise_taps`` samples (the
        last few white samples are carried over, so chunking does not change it)."""
        taps = self.sensor.noise_taps
        if taps == 1:
            return white
        full = np.concatenate([self._noise_tail, white])
        self._noise_tail = full[len(full) - (taps - 1) :]
        csum = np.concatenate([np.zeros((1, 3)), np.cumsum(full, axis=0)])
        out: FloatArray = (csum[taps:] - csum[:-taps]) / math.sqrt(taps)
        return out

    def _handling_motion(self, times: FloatArray) -> FloatArray:
        out = np.zeros((len(times), 3))
        if not len(self._handling):
            return out
        for edge in self._handling[
            (self._handling > times[0] - c.HANDLING_S) & (self._handling < times[-1] + c.HANDLING_S)
        ]:
            rel = times - (edge - c.HANDLING_S / 2)
            inside = (rel >= 0) & (rel < c.HANDLING_S)
            r = rel[inside][:, None]
            envelope = c.HANDLING_G * np.sin(np.pi * r / c.HANDLING_S) ** 2
            out[inside] += envelope * np.sin(2 * np.pi * _HANDLING_FREQS * r)
        return out

    def _vitals(self, seconds: FloatArray) -> tuple[FloatArray, FloatArray]:
        hr = np.full(len(seconds), np.nan)
        spo2 = np.full(len(seconds), np.nan)
        if not len(seconds):
            return hr, spo2
        for person in self._wearers[1:]:
            person.ensure_vitals(int(seconds[-1]))  # keep swapped-in wearers warm, no hiccup later
        for person, sl in self._wearer_slices(seconds):
            k = seconds[sl].astype(np.int64)
            person.ensure_vitals(int(k[-1]))
            hr[sl] = person.hr.view[k]
            spo2[sl] = person.spo2.view[k]
        blank = _in_intervals(seconds, self._no_reading)
        hr[blank] = np.nan
        spo2[blank] = np.nan
        return hr, spo2
