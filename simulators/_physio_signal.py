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
