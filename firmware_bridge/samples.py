"""Timestamped sample blocks: what every device link hands to the edge detector (pure).

A :class:`SampleBlock` is a run of evenly spaced samples of one channel from one device. The
channel names are the column names of a replay CSV, so recordings and live devices feed the
detector through the same door.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    """A physical quantity a device reports, with its unit in the docstring of each member."""

    RESP = "resp"
    """Any respiration-like waveform, arbitrary units (belt, radar phase, projected chest acc)."""
    ACC_X = "acc_x"
    """Accelerometer x axis, g."""
    ACC_Y = "acc_y"
    """Accelerometer y axis, g."""
    ACC_Z = "acc_z"
    """Accelerometer z axis, g."""
    SPO2 = "spo2"
    """Oxygen saturation, percent; NaN means "no reading"."""
    HR = "hr"
    """Heart rate, beats per minute."""
    PRESENCE = "presence"
    """Radar presence, 1.0 present / 0.0 absent."""
    MOTION = "motion"
    """Radar motion energy or flag, arbitrary units (0 = still)."""
    DOOR = "door"
    """Door contact, 1.0 open / 0.0 closed."""


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Evenly spaced samples of one channel from one device.

    Attributes:
        device_id: the enrolled device that produced the samples.
        channel: what the values measure (and so their unit).
        t0_s: time of the first sample, seconds on the edge's monotonic sample clock.
        fs_hz: sampling rate in hertz; a single reading uses any positive rate.
        values: the samples; NaN marks a missing reading.
    """

    device_id: str
    channel: Channel
    t0_s: float
    fs_hz: float
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.device_id:
            message = "device_id must not be empty"
            raise ValueError(message)
        if not (math.isfinite(self.fs_hz) and self.fs_hz > 0):
            message = f"fs_hz must be a positive finite rate, got {self.fs_hz!r}"
            raise ValueError(message)
        if not math.isfinite(self.t0_s):
            message = f"t0_s must be finite, got {self.t0_s!r}"
            raise ValueError(message)

    @property
    def duration_s(self) -> float:
        """Time covered by the block: number of samples over the rate."""
        return len(self.values) / self.fs_hz

    @property
    def end_s(self) -> float:
        """Time just after the last sample (the next block's ``t0_s`` when contiguous)."""
        return self.t0_s + self.duration_s


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The wearer pressed their wearable's button (not the press kind of a decoded frame).

    Defined here, beside :class:`SampleBlock`, so that the simulators can yield it without
    importing the edge; :mod:`edge.transport` re-exports it.

    Attributes:
        device_id: the enrolled device whose button was pressed.
        t_s: when, seconds on the link's clock.
    """

    device_id: str
    t_s: float

    def __post_init__(self) -> None:
        if not self.device_id:
            message = "device_id must not be empty"
            raise ValueError(message)
        if not math.isfinite(self.t_s):
            message = f"t_s must be finite, got {self.t_s!r}"
            raise ValueError(message)
