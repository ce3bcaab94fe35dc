"""Evenly sampled signals and the grid arithmetic every physiology stream shares (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from firmware_bridge.samples import Channel, SampleBlock
from simulators import _physio_const as c
from simulators._physio_person import FloatArray

_SPAWNED = 4
"""Children spawned from the caller's generator: person, wearable noise, room, swapped wearers."""


def spawn_streams(
    rng: np.random.Generator,
) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator, np.random.Generator]:
    """Split the caller's generator into (person, wearable noise, room, swapped wearers).

    Wearable and room streams both split this way, so one seed means one person for both.
    """
    person, wearable, room, swaps = rng.spawn(_SPAWNED)
    return person, wearable, room, swaps


def sample_count(t_s: float, fs_hz: float) -> int:
    """How many samples of a grid starting at 0 fall strictly before ``t_s``."""
    return max(math.ceil(t_s * fs_hz - c.TIME_EPS_S), 0)


@dataclass(frozen=True, slots=True)
class Step:
    """One advance of a :class:`SampleClock`: the new samples' times on both grids."""

    t0_s: float
    t1_s: float
    times: FloatArray
    """Waveform sample times in ``[t0_s, t1_s)``."""
    seconds: FloatArray
    """Whole seconds (the 1 Hz vitals grid) in ``[t0_s, t1_s)``."""
    wave_t0_s: float
    """Time of the first waveform sample of this step (or of the next, when there is none)."""
    vital_t0_s: float
    """Time of the first vitals sample of this step (or of the next)."""


class SampleClock:
    """Walks a waveform grid at ``fs_hz`` and the 1 Hz vitals grid together.

    Any split of the same total duration yields exactly the same sample times, which is what
    makes every stream chunk-invariant.
    """

    def __init__(self, fs_hz: float) -> None:
        self.fs_hz = fs_hz
        self.t_s = 0.0
        self._n = 0
        self._k = 0

    def advance(self, duration_s: float) -> Step:
        """Move on ``duration_s`` seconds.

        Raises:
            ValueError: ``duration_s`` is negative or not finite.
        """
        if not (math.isfinite(duration_s) and duration_s >= 0):
            message = f"duration_s must be finite and >= 0, got {duration_s!r}"
            raise ValueError(message)
        t0 = self.t_s
        self.t_s += duration_s
        n1 = sample_count(self.t_s, self.fs_hz)
        k1 = sample_count(self.t_s, c.VITALS_FS_HZ)
        step = Step(
            t0_s=t0,
            t1_s=self.t_s,
            times=np.arange(self._n, n1) / self.fs_hz,
            seconds=np.arange(self._k, k1, dtype=float),
            wave_t0_s=self._n / self.fs_hz,
            vital_t0_s=float(self._k),
        )
        self._n, self._k = n1, k1
        return step


@dataclass(frozen=True, slots=True)
class Signal:
    """Evenly spaced samples of one channel.

    Attributes:
        t0_s: time of the first sample (the next sample's time when ``values`` is empty).
        fs_hz: sampling rate.
        values: the samples; NaN marks "no reading".
    """

    t0_s: float
    fs_hz: float
    values: FloatArray

    @property
    def times_s(self) -> FloatArray:
        """Time of each sample."""
        return self.t0_s + np.arange(len(self.values)) / self.fs_hz


def to_sample_blocks(signals: Mapping[Channel, Signal], device_id: str) -> tuple[SampleBlock, ...]:
    """Wrap non-empty signals as :class:`SampleBlock` s from ``device_id``."""
    return tuple(
        SampleBlock(device_id, channel, s.t0_s, s.fs_hz, tuple(s.values.tolist()))
        for channel, s in signals.items()
        if len(s.values)
    )
