"""Physiology as the bytes real devices send: wearable notifications and radar UART frames (pure).

Each function takes one chunk of simulated signals and returns what the device would put on the
air or the wire for it, through the :mod:`firmware_bridge` encoders: ODART accelerometer frames
with sequence counters, Heart Rate Measurement (0x2A37), PLX Continuous (0x2A5F) and Battery
Level (0x2A19) for the wearable; MR60BHA1 presence, motion, breathing-waveform and heart-rate
frames, or LD2410 target reports, for the radar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from firmware_bridge import (
    AccelSamples,
    BatteryLevel,
    ButtonEvent,
    ButtonPress,
    HeartRateMeasurement,
    Ld2410Report,
    Mr60Frame,
    PlxContinuous,
    SFloat,
    SFloatSpecial,
    SpO2PulseRate,
    TargetState,
    encode_battery_level,
    encode_heart_rate,
    encode_ld2410,
    encode_mr60bha1,
    encode_plx_continuous,
    encode_wearable,
)
from firmware_bridge._wearable import DATA_CHAR_UUID, SEQ_MODULUS
from simulators._physio_room import RoomChunk
from simulators._physio_stream import Chunk

__all__ = [
    "BATTERY_UUID",
    "HEART_RATE_UUID",
    "PLX_UUID",
    "WEARABLE_UUID",
    "Mr60Encoder",
    "WearableEncoder",
    "ld2410_frames",
]

HEART_RATE_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"
PLX_UUID: Final = "00002a5f-0000-1000-8000-00805f9b34fb"
BATTERY_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"
WEARABLE_UUID: Final = DATA_CHAR_UUID
"""The characteristics a wearable notifies on (Bluetooth SIG Assigned Numbers; ODART's own)."""

MG_PER_G: Final = 1000.0
"""The ODART frame carries milli-g integers."""

MR60_WAVEFORM_FS_HZ: Final = 5
"""The MR60BHA1 sends its breathing waveform at 5 samples a second, five to a frame (wiki)."""
MR60_CENTRE: Final = 128
MR60_GAIN: Final = 12.0
"""Waveform counts per unit of the simulated radar signal: a resting breath swings about
+-40 counts, well inside the byte and far above its quantisation."""
LD2410_DISTANCE_CM: Final = 150
"""A person in a small room is about 1.5 m from a wall-mounted radar."""
LD2410_MAX_ENERGY: Final = 100
LD2410_STILL_ENERGY: Final = 60
"""Still-target energy of a present, breathing person (HLK manual: 0-100)."""


def _sfloat(value: float) -> SFloat:
    if not math.isfinite(value):
        return SFloat.from_special(SFloatSpecial.NAN)
    return SFloat(round(value * 10), -1)


class WearableEncoder:
    """Turns a wearable's chunks into notifications, counting sequence numbers like firmware."""

    def __init__(self) -> None:
        self.seq = 0
        self.t_ms = 0

    def _next_seq(self) -> int:
        seq, self.seq = self.seq, (self.seq + 1) % SEQ_MODULUS
        return seq

    def chunk(self, chunk: Chunk) -> list[tuple[str, bytes]]:
        """One chunk's accelerometer frame, heart rate and PLX notifications."""
        out: list[tuple[str, bytes]] = []
        axes = np.stack([chunk.acc_x.values, chunk.acc_y.values, chunk.acc_z.values], axis=1)
        samples = tuple(
            (int(x), int(y), int(z))
            for x, y, z in np.rint(np.nan_to_num(axes) * MG_PER_G).astype(int)
        )
        fs_hz = round(chunk.acc_x.fs_hz)
        for start in range(0, len(samples), 255):
            part = samples[start : start + 255]
            frame = AccelSamples(self._next_seq(), self.t_ms, fs_hz, part)
            out.append((WEARABLE_UUID, encode_wearable(frame)))
            self.t_ms += round(len(part) * 1000 / fs_hz)
        hr = float(np.nanmean(chunk.hr.values)) if np.isfinite(chunk.hr.values).any() else math.nan
        spo2 = (
            float(np.nanmean(chunk.spo2.values))
            if np.isfinite(chunk.spo2.values).any()
            else math.nan
        )
        on_skin = math.isfinite(hr)
        measurement = HeartRateMeasurement(
            round(hr) if on_skin else 0, contact_supported=True, contact_detected=on_skin
        )
        out.append((HEART_RATE_UUID, encode_heart_rate(measurement)))
        plx = PlxContinuous(SpO2PulseRate(_sfloat(spo2), _sfloat(hr)))
        out.append((PLX_UUID, encode_plx_continuous(plx)))
        return out

    def button(self) -> tuple[str, bytes]:
        """A short press of the wearable's button."""
        frame = ButtonEvent(self._next_seq(), self.t_ms, ButtonPress.SHORT)
        return WEARABLE_UUID, encode_wearable(frame)

    @staticmethod
    def battery(percent: int) -> tuple[str, bytes]:
        """A Battery Level notification."""
        return BATTERY_UUID, encode_battery_level(BatteryLevel(percent))


def _mean(values: Sequence[float] | np.ndarray) -> float:
    array = np.asarray(values, dtype=float)
    return float(np.nanmean(array)) if np.isfinite(array).any() else 0.0


class Mr60Encoder:
    """Turns room chunks into MR60BHA1 report frames: presence, motion, breathing waveform.

    The waveform is centred once, on the first chunk, as the radar's own DC removal settles:
    re-centring every chunk would put a step into the waveform every second.
    """

    def __init__(self, motion_threshold: float) -> None:
        self.motion_threshold = motion_threshold
        self._offset: float | None = None

    def chunk(self, chunk: RoomChunk) -> list[bytes]:
        """One room chunk as report frames."""
        present = _mean(chunk.presence.values) >= 0.5
        moving = _mean(chunk.motion.values) > self.motion_threshold
        frames = [
            Mr60Frame(0x80, 0x01, bytes([int(present)])),
            Mr60Frame(0x80, 0x02, bytes([0 if not present else 2 if moving else 1])),
        ]
        step = max(1, round(chunk.resp.fs_hz / MR60_WAVEFORM_FS_HZ))
        waveform = np.nan_to_num(np.asarray(chunk.resp.values, dtype=float))[::step]
        if self._offset is None and waveform.size:
            self._offset = float(waveform.mean())
        counts = np.clip(
            np.rint(MR60_CENTRE + MR60_GAIN * (waveform - (self._offset or 0.0))), 0, 255
        )
        for start in range(0, len(counts) - 4, 5):
            data = bytes(int(c) for c in counts[start : start + 5])
            frames.append(Mr60Frame(0x81, 0x05, data))
        return [encode_mr60bha1(frame) for frame in frames]


def ld2410_frames(chunk: RoomChunk) -> list[bytes]:
    """One room chunk as an LD2410 target report (presence and moving energy)."""
    present = _mean(chunk.presence.values) >= 0.5
    energy = min(round(_mean(chunk.motion.values)), LD2410_MAX_ENERGY) if present else 0
    state = TargetState.NONE
    if present:
        state = TargetState.MOVING_AND_STILL if energy > 0 else TargetState.STILL
    report = Ld2410Report(
        state,
        LD2410_DISTANCE_CM if present else 0,
        energy,
        LD2410_DISTANCE_CM if present else 0,
        LD2410_STILL_ENERGY if present else 0,
        LD2410_DISTANCE_CM,
    )
    return [encode_ld2410(report)]
