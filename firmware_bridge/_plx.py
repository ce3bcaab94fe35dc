"""Pulse Oximeter Service codecs: PLX Continuous (0x2A5F) and Spot-check (0x2A5E) (pure).

Source: Bluetooth SIG PLXS 1.0 §3.1-§3.2 and the GATT Specification Supplement; field order
cross-checked against StanfordSpezi/SpeziBluetooth ``PLXContinuousMeasurement.swift`` and
``PLXSpotCheckMeasurement.swift``. SpO2 and pulse rate are SFLOATs; an oximeter sends NaN while
the finger settles, which must read as "no reading", never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Final

from firmware_bridge._reader import Reader, check_range, pack_u16
from firmware_bridge._sfloat import SFloat, decode_sfloat, encode_sfloat

PLX_CONTINUOUS_CODEC: Final = "plx_continuous"
PLX_SPOT_CHECK_CODEC: Final = "plx_spot_check"

# PLX Continuous flags (PLXS 1.0 §3.2.1.1); bits 5-7 RFU.
_CONT_FAST: Final = 0x01
_CONT_SLOW: Final = 0x02
_CONT_MEAS_STATUS: Final = 0x04
_CONT_SENSOR_STATUS: Final = 0x08
_CONT_PAI: Final = 0x10
# PLX Spot-check flags (PLXS 1.0 §3.1.1.1); bits 5-7 RFU.
_SPOT_TIMESTAMP: Final = 0x01
_SPOT_MEAS_STATUS: Final = 0x02
_SPOT_SENSOR_STATUS: Final = 0x04
_SPOT_PAI: Final = 0x08
_SPOT_CLOCK_NOT_SET: Final = 0x10


class MeasurementStatus(IntFlag):
    """PLX Measurement Status, uint16 (bits 0-4 RFU, kept as sent)."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class DeviceSensorStatus(IntFlag):
    """PLX Device and Sensor Status, uint24 (bits 16-23 RFU, kept as sent)."""

    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NONPULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


@dataclass(frozen=True, slots=True)
class SpO2PulseRate:
    """An SpO2 (percent) and pulse-rate (bpm) pair, both SFLOAT."""

    spo2_pct: SFloat
    pulse_rate_bpm: SFloat


@dataclass(frozen=True, slots=True)
class GattDateTime:
    """Date Time (0x2A08) as sent; zeros mean "not known" (year 0, month 0, day 0)."""

    year: int
    month: int
    day: int
    hours: int
    minutes: int
    seconds: int

    def __post_init__(self) -> None:
        check_range("year", self.year, 0, 0xFFFF)
        for name, value in (
            ("month", self.month),
            ("day", self.day),
            ("hours", self.hours),
            ("minutes", self.minutes),
            ("seconds", self.seconds),
        ):
            check_range(name, value, 0, 0xFF)


@dataclass(frozen=True, slots=True)
class PlxContinuous:
    """PLX Continuous Measurement (0x2A5F), lossless.

    Attributes:
        normal: the SpO2PR-Normal pair (always present).
        fast: the SpO2PR-Fast pair, if sent.
        slow: the SpO2PR-Slow pair, if sent.
        measurement_status: the uint16 status bits, if sent.
        sensor_status: the uint24 device and sensor status bits, if sent.
        pulse_amplitude_index_pct: the pulse amplitude index, if sent.
    """

    normal: SpO2PulseRate
    fast: SpO2PulseRate | None = None
    slow: SpO2PulseRate | None = None
    measurement_status: MeasurementStatus | None = None
    sensor_status: DeviceSensorStatus | None = None
    pulse_amplitude_index_pct: SFloat | None = None

    def __post_init__(self) -> None:
        _check_status(self.measurement_status, self.sensor_status)


@dataclass(frozen=True, slots=True)
class PlxSpotCheck:
    """PLX Spot-check Measurement (0x2A5E), lossless.

    Attributes:
        reading: the SpO2 and pulse-rate pair.
        timestamp: the device's Date Time of the measurement, if sent.
        measurement_status: the uint16 status bits, if sent.
        sensor_status: the uint24 device and sensor status bits, if sent.
        pulse_amplitude_index_pct: the pulse amplitude index, if sent.
        device_clock_not_set: flags bit 4, the device clock was never set.
    """

    reading: SpO2PulseRate
    timestamp: GattDateTime | None = None
    measurement_status: MeasurementStatus | None = None
    sensor_status: DeviceSensorStatus | None = None
    pulse_amplitude_index_pct: SFloat | None = None
    device_clock_not_set: bool = False

    def __post_init__(self) -> None:
        _check_status(self.measurement_status, self.sensor_status)


def _check_status(measurement: MeasurementStatus | None, sensor: DeviceSensorStatus | None) -> None:
    if measurement is not None:
        check_range("measurement_status", int(measurement), 0, 0xFFFF)
    if sensor is not None:
        check_range("sensor_status", int(sensor), 0, 0xFFFFFF)


def _read_pair(reader: Reader) -> SpO2PulseRate:
    spo2 = decode_sfloat(reader.u16())
    return SpO2PulseRate(spo2, decode_sfloat(reader.u16()))


def _pack_pair(pair: SpO2PulseRate) -> bytes:
    return pack_u16(encode_sfloat(pair.spo2_pct)) + pack_u16(encode_sfloat(pair.pulse_rate_bpm))


def _pack_tail(
    measurement: MeasurementStatus | None,
    sensor: DeviceSensorStatus | None,
    pai: SFloat | None,
) -> bytes:
    out = bytearray()
    if measurement is not None:
        out += pack_u16(int(measurement))
    if sensor is not None:
        out += int(sensor).to_bytes(3, "little")
    if pai is not None:
        out += pack_u16(encode_sfloat(pai))
    return bytes(out)


def decode_plx_continuous(data: bytes) -> PlxContinuous:
    """Decode a PLX Continuous Measurement.

    Raises:
        TruncatedFrame: a flagged field is missing.
        MalformedFrame: bytes are left after the last flagged field.
    """
    reader = Reader(data, PLX_CONTINUOUS_CODEC)
    flags = reader.u8()
    normal = _read_pair(reader)
    fast = _read_pair(reader) if flags & _CONT_FAST else None
    slow = _read_pair(reader) if flags & _CONT_SLOW else None
    status = MeasurementStatus(reader.u16()) if flags & _CONT_MEAS_STATUS else None
    sensor = DeviceSensorStatus(reader.u24()) if flags & _CONT_SENSOR_STATUS else None
    pai = decode_sfloat(reader.u16()) if flags & _CONT_PAI else None
    reader.expect_end()
    return PlxContinuous(normal, fast, slow, status, sensor, pai)


def encode_plx_continuous(message: PlxContinuous) -> bytes:
    """Encode a PLX Continuous Measurement, byte-exact with :func:`decode_plx_continuous`."""
    flags = (
        (_CONT_FAST if message.fast is not None else 0)
        | (_CONT_SLOW if message.slow is not None else 0)
        | (_CONT_MEAS_STATUS if message.measurement_status is not None else 0)
        | (_CONT_SENSOR_STATUS if message.sensor_status is not None else 0)
        | (_CONT_PAI if message.pulse_amplitude_index_pct is not None else 0)
    )
    out = bytearray([flags]) + _pack_pair(message.normal)
    for pair in (message.fast, message.slow):
        if pair is not None:
            out += _pack_pair(pair)
    out += _pack_tail(
        message.measurement_status, message.sensor_status, message.pulse_amplitude_index_pct
    )
    return bytes(out)


def decode_plx_spot_check(data: bytes) -> PlxSpotCheck:
    """Decode a PLX Spot-check Measurement.

    Raises:
        TruncatedFrame: a flagged field is missing.
        MalformedFrame: bytes are left after the last flagged field.
    """
    reader = Reader(data, PLX_SPOT_CHECK_CODEC)
    flags = reader.u8()
    reading = _read_pair(reader)
    timestamp = None
    if flags & _SPOT_TIMESTAMP:
        year = reader.u16()
        month, day, hours, minutes, seconds = reader.take(5)
        timestamp = GattDateTime(year, month, day, hours, minutes, seconds)
    status = MeasurementStatus(reader.u16()) if flags & _SPOT_MEAS_STATUS else None
    sensor = DeviceSensorStatus(reader.u24()) if flags & _SPOT_SENSOR_STATUS else None
    pai = decode_sfloat(reader.u16()) if flags & _SPOT_PAI else None
    reader.expect_end()
    return PlxSpotCheck(reading, timestamp, status, sensor, pai, bool(flags & _SPOT_CLOCK_NOT_SET))


def encode_plx_spot_check(message: PlxSpotCheck) -> bytes:
    """Encode a PLX Spot-check Measurement, byte-exact with :func:`decode_plx_spot_check`."""
    flags = (
        (_SPOT_TIMESTAMP if message.timestamp is not None else 0)
        | (_SPOT_MEAS_STATUS if message.measurement_status is not None else 0)
        | (_SPOT_SENSOR_STATUS if message.sensor_status is not None else 0)
        | (_SPOT_PAI if message.pulse_amplitude_index_pct is not None else 0)
        | (_SPOT_CLOCK_NOT_SET if message.device_clock_not_set else 0)
    )
    out = bytearray([flags]) + _pack_pair(message.reading)
    if (ts := message.timestamp) is not None:
        out += pack_u16(ts.year) + bytes([ts.month, ts.day, ts.hours, ts.minutes, ts.seconds])
    out += _pack_tail(
        message.measurement_status, message.sensor_status, message.pulse_amplitude_index_pct
    )
    return bytes(out)
