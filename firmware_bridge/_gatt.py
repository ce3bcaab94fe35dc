"""Bluetooth SIG GATT codecs: Heart Rate Measurement, Battery Level, Alert Level (pure).

Sources: GATT Specification Supplement (HRS 1.0 §3.1, characteristic 0x2A37; BAS 0x2A19;
IAS 0x2A06); Bluetooth SIG XML ``org.bluetooth.characteristic.heart_rate_measurement``.
All multi-byte fields are little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final

from firmware_bridge._reader import Reader, check_range, pack_u16
from firmware_bridge.errors import MalformedFrame

HEART_RATE_CODEC: Final = "heart_rate"
BATTERY_LEVEL_CODEC: Final = "battery_level"
ALERT_LEVEL_CODEC: Final = "alert_level"

# Heart Rate Measurement flags (HRS 1.0 §3.1.1.1); bits 5-7 are RFU and ignored on receipt.
_HR_UINT16: Final = 0x01
_HR_CONTACT_DETECTED: Final = 0x02
_HR_CONTACT_SUPPORTED: Final = 0x04
_HR_ENERGY: Final = 0x08
_HR_RR: Final = 0x10

# RR-intervals are sent in units of 1/1024 s (HRS 1.0 §3.1.1.5), not milliseconds.
RR_UNITS_PER_S: Final = 1024
# Battery Level is a percentage; 101-255 are prohibited (GATT Supplement, 0x2A19).
BATTERY_MAX_PCT: Final = 100


class SensorContact(Enum):
    """What the contact bits say; "not supported" is not "no contact"."""

    NOT_SUPPORTED = "not_supported"
    NOT_DETECTED = "not_detected"
    DETECTED = "detected"


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement notification (0x2A37), lossless.

    Attributes:
        bpm: heart rate, beats per minute.
        uint16_format: the rate was sent as uint16 (kept so re-encoding is byte-exact).
        contact_supported: flags bit 2, the sensor can report skin contact.
        contact_detected: flags bit 1, skin contact detected (meaningless unless supported).
        energy_kj: energy expended since the last reset, kilojoules, or ``None`` if absent.
        rr_intervals_1024: RR-intervals in 1/1024 s, oldest first; ``None`` if the field is absent.
    """

    bpm: int
    uint16_format: bool = False
    contact_supported: bool = False
    contact_detected: bool = False
    energy_kj: int | None = None
    rr_intervals_1024: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_range("bpm", self.bpm, 0, 0xFFFF if self.uint16_format else 0xFF)
        if self.energy_kj is not None:
            check_range("energy_kj", self.energy_kj, 0, 0xFFFF)
        for rr in self.rr_intervals_1024 or ():
            check_range("rr_intervals_1024", rr, 0, 0xFFFF)

    @property
    def contact(self) -> SensorContact:
        """The sensor-contact state the two flag bits encode."""
        if not self.contact_supported:
            return SensorContact.NOT_SUPPORTED
        return SensorContact.DETECTED if self.contact_detected else SensorContact.NOT_DETECTED

    @property
    def rr_intervals_s(self) -> tuple[float, ...]:
        """RR-intervals in seconds."""
        return tuple(rr / RR_UNITS_PER_S for rr in self.rr_intervals_1024 or ())


def decode_heart_rate(data: bytes) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement value.

    Raises:
        TruncatedFrame: a flagged field is missing.
        MalformedFrame: an odd byte is left in the RR-interval list.
    """
    reader = Reader(data, HEART_RATE_CODEC)
    flags = reader.u8()
    uint16_format = bool(flags & _HR_UINT16)
    bpm = reader.u16() if uint16_format else reader.u8()
    energy = reader.u16() if flags & _HR_ENERGY else None
    rr: tuple[int, ...] | None = None
    if flags & _HR_RR:
        if reader.remaining % 2:
            message = "RR-interval list has an odd number of bytes"
            raise MalformedFrame(HEART_RATE_CODEC, message)
        rr = tuple(reader.u16() for _ in range(reader.remaining // 2))
    reader.expect_end()
    return HeartRateMeasurement(
        bpm=bpm,
        uint16_format=uint16_format,
        contact_supported=bool(flags & _HR_CONTACT_SUPPORTED),
        contact_detected=bool(flags & _HR_CONTACT_DETECTED),
        energy_kj=energy,
        rr_intervals_1024=rr,
    )


def encode_heart_rate(message: HeartRateMeasurement) -> bytes:
    """Encode a Heart Rate Measurement value, byte-exact with :func:`decode_heart_rate`."""
    flags = (
        (_HR_UINT16 if message.uint16_format else 0)
        | (_HR_CONTACT_DETECTED if message.contact_detected else 0)
        | (_HR_CONTACT_SUPPORTED if message.contact_supported else 0)
        | (_HR_ENERGY if message.energy_kj is not None else 0)
        | (_HR_RR if message.rr_intervals_1024 is not None else 0)
    )
    out = bytearray([flags])
    out += pack_u16(message.bpm) if message.uint16_format else bytes([message.bpm])
    if message.energy_kj is not None:
        out += pack_u16(message.energy_kj)
    for rr in message.rr_intervals_1024 or ():
        out += pack_u16(rr)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    """Battery Level (0x2A19).

    Attributes:
        percent: remaining charge, 0-100 %.
    """

    percent: int

    def __post_init__(self) -> None:
        check_range("percent", self.percent, 0, BATTERY_MAX_PCT)


def decode_battery_level(data: bytes) -> BatteryLevel:
    """Decode a Battery Level value (one byte, 0-100).

    Raises:
        TruncatedFrame: empty input.
        MalformedFrame: more than one byte, or a prohibited value above 100.
    """
    reader = Reader(data, BATTERY_LEVEL_CODEC)
    percent = reader.u8()
    reader.expect_end()
    if percent > BATTERY_MAX_PCT:
        message = f"battery level {percent} is above {BATTERY_MAX_PCT} %"
        raise MalformedFrame(BATTERY_LEVEL_CODEC, message)
    return BatteryLevel(percent)


def encode_battery_level(message: BatteryLevel) -> bytes:
    """Encode a Battery Level value."""
    return bytes([message.percent])


class AlertLevel(IntEnum):
    """Alert Level (0x2A06), written to a wearable's Immediate Alert service to make it buzz."""

    NO_ALERT = 0
    MILD_ALERT = 1
    HIGH_ALERT = 2


def decode_alert_level(data: bytes) -> AlertLevel:
    """Decode an Alert Level value.

    Raises:
        TruncatedFrame: empty input.
        MalformedFrame: more than one byte, or a reserved level (3-255).
    """
    reader = Reader(data, ALERT_LEVEL_CODEC)
    level = reader.u8()
    reader.expect_end()
    if level > max(AlertLevel):
        message = f"alert level {level} is reserved"
        raise MalformedFrame(ALERT_LEVEL_CODEC, message)
    return AlertLevel(level)


def encode_alert_level(level: AlertLevel) -> bytes:
    """Encode an Alert Level value."""
    return bytes([int(level)])
