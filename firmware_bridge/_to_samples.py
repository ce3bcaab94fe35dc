"""Decoded device messages as timestamped sample blocks with units, for the detector (pure).

Every link decodes bytes with a codec and hands the message here with its arrival time on the
edge's monotonic clock. "No reading" (an SFLOAT special code, a heart rate without skin contact)
becomes NaN, never 0. A run of samples ends at its arrival time.
"""

from __future__ import annotations

import math
from typing import Final

from firmware_bridge._gatt import HeartRateMeasurement, SensorContact
from firmware_bridge._ld2410 import Ld2410Report, TargetState
from firmware_bridge._mr60bha1 import Mr60Frame, Mr60Quantity, read_mr60bha1
from firmware_bridge._plx import PlxContinuous, PlxSpotCheck
from firmware_bridge._polar_control import PmdMeasurementType
from firmware_bridge._polar_data import PmdDataFrame
from firmware_bridge._wearable import MG_PER_G, AccelSamples
from firmware_bridge.samples import Channel, SampleBlock

# A single reading (heart rate, SpO2, presence) is one sample; its nominal rate only has to be
# positive (SampleBlock's contract), and 1 Hz is what these devices report at.
SINGLE_READING_FS_HZ: Final = 1.0
# MR60BHA1 waveform reports carry 5 samples per second centred on 128 (Seeed wiki).
MR60_WAVEFORM_FS_HZ: Final = 5.0
MR60_WAVEFORM_CENTRE: Final = 128
_ACC_CHANNELS: Final = (Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z)


def _single(device_id: str, channel: Channel, t_s: float, value: float | None) -> SampleBlock:
    reading = math.nan if value is None else float(value)
    return SampleBlock(device_id, channel, t_s, SINGLE_READING_FS_HZ, (reading,))


def _axes(
    device_id: str, samples: tuple[tuple[int, ...], ...], t_s: float, fs_hz: float
) -> list[SampleBlock]:
    """Three ACC blocks in g from milli-g samples that end at ``t_s``."""
    if not samples:
        return []
    t0_s = t_s - len(samples) / fs_hz
    axes = list(zip(*samples, strict=True))[:3]
    return [
        SampleBlock(device_id, channel, t0_s, fs_hz, tuple(v / MG_PER_G for v in axis))
        for channel, axis in zip(_ACC_CHANNELS, axes, strict=True)
    ]


def _mr60(device_id: str, frame: Mr60Frame, t_s: float) -> list[SampleBlock]:
    reading = read_mr60bha1(frame)
    if reading is None:
        return []
    value = float(reading.values[0])
    match reading.quantity:
        case Mr60Quantity.PRESENCE:
            return [_single(device_id, Channel.PRESENCE, t_s, value)]
        case Mr60Quantity.MOTION:
            return [_single(device_id, Channel.MOTION, t_s, value)]
        case Mr60Quantity.HEART_RATE_BPM:
            return [_single(device_id, Channel.HR, t_s, value)]
        case Mr60Quantity.BREATH_WAVEFORM:
            values = tuple(float(v - MR60_WAVEFORM_CENTRE) for v in reading.values)
            t0_s = t_s - len(values) / MR60_WAVEFORM_FS_HZ
            return [SampleBlock(device_id, Channel.RESP, t0_s, MR60_WAVEFORM_FS_HZ, values)]
        case _:
            return []


def message_samples(
    device_id: str, message: object, t_s: float, *, fs_hz: float | None = None
) -> list[SampleBlock]:
    """The samples a decoded message carries, received at ``t_s``.

    Args:
        device_id: the enrolled device that sent it.
        message: any decoded message; those without samples give ``[]``.
        t_s: arrival time on the edge's monotonic sample clock.
        fs_hz: the stream's sampling rate, for Polar PMD frames (they do not carry it).

    Raises:
        MalformedFrame: an MR60BHA1 report with the wrong payload length.
    """
    if isinstance(message, HeartRateMeasurement):
        bpm = None if message.contact is SensorContact.NOT_DETECTED else message.bpm
        return [_single(device_id, Channel.HR, t_s, bpm)]
    if isinstance(message, PlxContinuous | PlxSpotCheck):
        pair = message.normal if isinstance(message, PlxContinuous) else message.reading
        return [
            _single(device_id, Channel.SPO2, t_s, pair.spo2_pct.value),
            _single(device_id, Channel.HR, t_s, pair.pulse_rate_bpm.value),
        ]
    if isinstance(message, AccelSamples):
        return _axes(device_id, message.samples_mg, t_s, message.fs_hz)
    if isinstance(message, PmdDataFrame):
        if message.measurement is PmdMeasurementType.ACC and fs_hz is not None:
            return _axes(device_id, message.samples, t_s, fs_hz)
        return []
    if isinstance(message, Mr60Frame):
        return _mr60(device_id, message, t_s)
    if isinstance(message, Ld2410Report):
        present = 0.0 if message.target_state is TargetState.NONE else 1.0
        return [
            _single(device_id, Channel.PRESENCE, t_s, present),
            _single(device_id, Channel.MOTION, t_s, float(message.moving_energy)),
        ]
    return []
