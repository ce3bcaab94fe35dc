"""Polar Measurement Data (PMD) control point: commands, responses, features (pure).

The control point characteristic ``FB005C81-02E7-F387-1CAD-8ACD2D8DF0C8`` carries the client's
commands (``[op, type | recording bit, settings TLV...]``), the sensor's responses as indications
(``F0 | op | type | status | more | params``) and, on read, the feature mask (``0F | mask...``).
Source: polarofficial/polar-ble-sdk ``technical_documentation/online_measurement.pdf`` (v1.0,
Aug 2024) and the Android ``PmdControlPointCommand.kt``/``PmdControlPointResponse.kt``/
``PmdSetting.kt``. Polar calls the document "not any kind of official specification".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeVar

from firmware_bridge._reader import Reader, check_range
from firmware_bridge.errors import MalformedFrame, UnknownMessageType

PMD_CONTROL_CODEC: Final = "polar_pmd"

# First byte of a features read and of every response indication (online_measurement.pdf §2).
FEATURES_TAG: Final = 0x0F
RESPONSE_TAG: Final = 0xF0
# Bit 7 of the measurement-type byte of a request selects offline recording (0 = online).
_OFFLINE_BIT: Final = 0x80
_TYPE_MASK: Final = 0x3F


class PmdMeasurementType(IntEnum):
    """Measurement types (low 6 bits of the type byte)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_REC = 13
    OFFLINE_HR = 14


class PmdOpCode(IntEnum):
    """Control point operations the edge sends (and the responses echo)."""

    GET_SETTINGS = 1
    START = 2
    STOP = 3


class PmdStatus(IntEnum):
    """Response status codes; ALREADY_IN_STATE counts as success after a reconnect."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


class PmdSettingType(IntEnum):
    """Setting TLV types, each followed by a count and that many fixed-width values."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


# Width in bytes of one value of each setting type (online_measurement.pdf, "Settings").
SETTING_WIDTH_BYTES: Final = {
    PmdSettingType.SAMPLE_RATE: 2,
    PmdSettingType.RESOLUTION: 2,
    PmdSettingType.RANGE: 2,
    PmdSettingType.RANGE_MILLIUNIT: 4,
    PmdSettingType.CHANNELS: 1,
    PmdSettingType.FACTOR: 4,
    PmdSettingType.SECURITY: 16,
}


@dataclass(frozen=True, slots=True)
class PmdSetting:
    """One setting TLV; values are raw little-endian integers (FACTOR holds float32 bits).

    Attributes:
        setting: which setting.
        values: the values as unsigned integers of the setting's width.
    """

    setting: PmdSettingType
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        check_range("value count", len(self.values), 0, 0xFF)
        width = SETTING_WIDTH_BYTES[self.setting]
        for value in self.values:
            check_range(self.setting.name.lower(), value, 0, (1 << (8 * width)) - 1)

    @property
    def factors(self) -> tuple[float, ...]:
        """FACTOR values as floats (multiply samples by them)."""
        return tuple(struct.unpack("<f", v.to_bytes(4, "little"))[0] for v in self.values)


@dataclass(frozen=True, slots=True)
class PmdCommand:
    """A client command written to the control point.

    Attributes:
        op: the operation.
        measurement: the measurement it concerns.
        settings: setting TLVs; only START carries them.
        offline: bit 7 of the type byte, offline recording instead of online streaming.
    """

    op: PmdOpCode
    measurement: PmdMeasurementType
    settings: tuple[PmdSetting, ...] = ()
    offline: bool = False

    def __post_init__(self) -> None:
        if self.settings and self.op is not PmdOpCode.START:
            message = f"only START carries settings, not {self.op.name}"
            raise ValueError(message)


@dataclass(frozen=True, slots=True)
class PmdResponse:
    """A control point response indication.

    Attributes:
        op: the operation answered.
        measurement: the measurement type echoed back.
        status: the outcome.
        more: more response frames follow.
        params: response parameters (settings TLVs for GET_SETTINGS), as sent.
    """

    op: PmdOpCode
    measurement: PmdMeasurementType
    status: PmdStatus
    more: bool = False
    params: bytes = b""

    @property
    def ok(self) -> bool:
        """Success, or "already in state" (what a sensor says after a quick reconnect)."""
        return self.status in (PmdStatus.SUCCESS, PmdStatus.ALREADY_IN_STATE)


@dataclass(frozen=True, slots=True)
class PmdFeatures:
    """The feature read: which measurement types the sensor offers.

    Attributes:
        mask: the feature bitmask bytes after the ``0x0F`` tag, as sent.
    """

    mask: bytes

    @property
    def measurements(self) -> frozenset[PmdMeasurementType]:
        """Measurement types whose bit is set (bit n of the mask = type n)."""
        bits = int.from_bytes(self.mask, "little")
        return frozenset(m for m in PmdMeasurementType if bits >> m & 1)


PmdControlMessage = PmdCommand | PmdResponse | PmdFeatures

_E = TypeVar("_E", bound=IntEnum)


def _enum_or_unknown(enum: type[_E], value: int) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise UnknownMessageType(PMD_CONTROL_CODEC, value) from None


def decode_pmd_settings(data: bytes) -> tuple[PmdSetting, ...]:
    """Decode a run of setting TLVs (a START command's tail or a GET_SETTINGS response).

    Raises:
        TruncatedFrame: a TLV is cut short.
        UnknownMessageType: an unknown setting type.
    """
    reader = Reader(data, PMD_CONTROL_CODEC)
    settings = []
    while reader.remaining:
        setting = _enum_or_unknown(PmdSettingType, reader.u8())
        count = reader.u8()
        width = SETTING_WIDTH_BYTES[setting]
        values = tuple(int.from_bytes(reader.take(width), "little") for _ in range(count))
        settings.append(PmdSetting(setting, values))
    return tuple(settings)


def encode_pmd_settings(settings: tuple[PmdSetting, ...]) -> bytes:
    """Encode setting TLVs."""
    out = bytearray()
    for item in settings:
        width = SETTING_WIDTH_BYTES[item.setting]
        out += bytes([int(item.setting), len(item.values)])
        for value in item.values:
            out += value.to_bytes(width, "little")
    return bytes(out)


def decode_pmd_control(data: bytes) -> PmdControlMessage:
    """Decode a control point value: a command, a response indication or the feature read.

    Raises:
        TruncatedFrame: too short for its kind.
        UnknownMessageType: an unknown tag, op code, measurement type, status or setting.
        MalformedFrame: bytes after a command that takes none.
    """
    reader = Reader(data, PMD_CONTROL_CODEC)
    tag = reader.u8()
    if tag == FEATURES_TAG:
        return PmdFeatures(reader.rest())
    if tag == RESPONSE_TAG:
        op = _enum_or_unknown(PmdOpCode, reader.u8())
        measurement = _enum_or_unknown(PmdMeasurementType, reader.u8())
        status = _enum_or_unknown(PmdStatus, reader.u8())
        more = reader.u8()
        if more > 1:
            message = f"'more' byte must be 0 or 1, got {more}"
            raise MalformedFrame(PMD_CONTROL_CODEC, message)
        return PmdResponse(op, measurement, status, bool(more), reader.rest())
    op = _enum_or_unknown(PmdOpCode, tag)
    type_byte = reader.u8()
    if type_byte & 0x40:
        raise UnknownMessageType(PMD_CONTROL_CODEC, type_byte)
    measurement = _enum_or_unknown(PmdMeasurementType, type_byte & _TYPE_MASK)
    settings = decode_pmd_settings(reader.rest()) if op is PmdOpCode.START else ()
    reader.expect_end()
    return PmdCommand(op, measurement, settings, bool(type_byte & _OFFLINE_BIT))


def encode_pmd_control(message: PmdControlMessage) -> bytes:
    """Encode a control point value, byte-exact with :func:`decode_pmd_control`."""
    if isinstance(message, PmdFeatures):
        return bytes([FEATURES_TAG]) + message.mask
    if isinstance(message, PmdResponse):
        header = [RESPONSE_TAG, message.op, message.measurement, message.status, message.more]
        return bytes(header) + message.params
    type_byte = int(message.measurement) | (_OFFLINE_BIT if message.offline else 0)
    return bytes([message.op, type_byte]) + encode_pmd_settings(message.settings)
