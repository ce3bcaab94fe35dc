"""ODART's own wearable frame: versioned, sequenced chest-accelerometer and button frames (pure).

The normative description a firmware author implements is ``docs/odart-wearable-protocol.md``;
this module is its reference implementation and the tests pin the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from firmware_bridge._reader import Reader, check_range, pack_i16, pack_u16, pack_u32
from firmware_bridge.errors import BadChecksum, MalformedFrame, UnknownMessageType

WEARABLE_CODEC: Final = "odart_wearable"

# 128-bit vendor UUIDs ("odart" is 6f 64 61 72 74); see docs/odart-wearable-protocol.md §2.
SERVICE_UUID: Final = "6f646172-7401-4e00-9c00-000000000000"
DATA_CHAR_UUID: Final = "6f646172-7401-4e00-9c00-000000000001"

PROTOCOL_VERSION: Final = 1
HEADER_BYTES: Final = 8
CRC_BYTES: Final = 2
# CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor;
# its check value over "123456789" is 0x29B1.
_CRC_POLY: Final = 0x1021
_CRC_INIT: Final = 0xFFFF
# Sequence numbers are uint16 and wrap.
SEQ_MODULUS: Final = 1 << 16
# At most 255 samples per frame (count is a uint8); 38 fill a 247-byte ATT MTU.
MAX_SAMPLES_PER_FRAME: Final = 0xFF
# Accelerometer values are int16 milli-g; a chest sensor set to +/-8 g never exceeds the range.
MG_PER_G: Final = 1000


class WearableMessageType(IntEnum):
    """The frame's message type byte."""

    ACCEL = 0x01
    BUTTON = 0x02


class ButtonPress(IntEnum):
    """What the wearer did with the button."""

    SHORT = 1
    LONG = 2
    DOUBLE = 3


@dataclass(frozen=True, slots=True)
class AccelSamples:
    """A run of chest accelerometer samples.

    Attributes:
        seq: frame sequence number (uint16, wraps), to count dropped frames.
        t_ms: device uptime in ms of the first sample (uint32, wraps).
        fs_hz: sampling rate in Hz.
        samples_mg: ``(x, y, z)`` per sample, milli-g, int16.
    """

    seq: int
    t_ms: int
    fs_hz: int
    samples_mg: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        _check_header(self.seq, self.t_ms)
        check_range("fs_hz", self.fs_hz, 1, 0xFFFF)
        check_range("sample count", len(self.samples_mg), 0, MAX_SAMPLES_PER_FRAME)
        for sample in self.samples_mg:
            for value in sample:
                check_range("acceleration mg", value, -0x8000, 0x7FFF)


@dataclass(frozen=True, slots=True)
class ButtonEvent:
    """A button press.

    Attributes:
        seq: frame sequence number (uint16, wraps).
        t_ms: device uptime in ms of the press (uint32, wraps).
        press: which kind of press.
    """

    seq: int
    t_ms: int
    press: ButtonPress

    def __post_init__(self) -> None:
        _check_header(self.seq, self.t_ms)


WearableMessage = AccelSamples | ButtonEvent


def _check_header(seq: int, t_ms: int) -> None:
    check_range("seq", seq, 0, SEQ_MODULUS - 1)
    check_range("t_ms", t_ms, 0, 0xFFFF_FFFF)


def _crc_table_entry(byte: int) -> int:
    crc = byte << 8
    for _ in range(8):
        crc = ((crc << 1) ^ _CRC_POLY) if crc & 0x8000 else crc << 1
    return crc & 0xFFFF


# One table lookup per byte instead of eight shifts (the classic byte-wise CRC).
_CRC_TABLE: Final = tuple(_crc_table_entry(byte) for byte in range(256))


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (the wearable frame's trailer)."""
    crc = _CRC_INIT
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def frames_dropped(previous_seq: int, seq: int) -> int:
    """Frames lost between two consecutive receptions (0 when ``seq`` follows directly)."""
    return (seq - previous_seq - 1) % SEQ_MODULUS


def decode_wearable(data: bytes) -> WearableMessage:
    """Decode one wearable frame.

    Raises:
        TruncatedFrame: shorter than its header, CRC or declared sample count.
        BadChecksum: the CRC does not match.
        MalformedFrame: an unsupported version, a bad button code, or trailing bytes.
        UnknownMessageType: an unknown message type.
    """
    reader = Reader(data, WEARABLE_CODEC)
    reader.take(HEADER_BYTES + CRC_BYTES)  # length check before anything else
    body, trailer = data[:-CRC_BYTES], data[-CRC_BYTES:]
    expected = crc16_ccitt_false(body)
    actual = int.from_bytes(trailer, "little")
    if expected != actual:
        raise BadChecksum(WEARABLE_CODEC, expected, actual)
    reader = Reader(body, WEARABLE_CODEC)
    version = reader.u8()
    if version != PROTOCOL_VERSION:
        message = f"unsupported protocol version {version}"
        raise MalformedFrame(WEARABLE_CODEC, message)
    kind = reader.u8()
    seq = reader.u16()
    t_ms = reader.u32()
    result: WearableMessage
    if kind == WearableMessageType.ACCEL:
        fs_hz = reader.u16()
        count = reader.u8()
        if fs_hz == 0:
            message = "sampling rate 0 Hz"
            raise MalformedFrame(WEARABLE_CODEC, message)
        samples = tuple((reader.i16(), reader.i16(), reader.i16()) for _ in range(count))
        result = AccelSamples(seq, t_ms, fs_hz, samples)
    elif kind == WearableMessageType.BUTTON:
        code = reader.u8()
        if code not in ButtonPress._value2member_map_:
            message = f"unknown button press code {code}"
            raise MalformedFrame(WEARABLE_CODEC, message)
        result = ButtonEvent(seq, t_ms, ButtonPress(code))
    else:
        raise UnknownMessageType(WEARABLE_CODEC, kind)
    reader.expect_end()
    return result


def encode_wearable(message: WearableMessage) -> bytes:
    """Encode one wearable frame, byte-exact with :func:`decode_wearable`."""
    out = bytearray([PROTOCOL_VERSION])
    if isinstance(message, AccelSamples):
        out.append(WearableMessageType.ACCEL)
        out += pack_u16(message.seq) + pack_u32(message.t_ms)
        out += pack_u16(message.fs_hz) + bytes([len(message.samples_mg)])
        for x, y, z in message.samples_mg:
            out += pack_i16(x) + pack_i16(y) + pack_i16(z)
    else:
        out.append(WearableMessageType.BUTTON)
        out += pack_u16(message.seq) + pack_u32(message.t_ms) + bytes([message.press])
    return bytes(out) + pack_u16(crc16_ccitt_false(bytes(out)))
