"""Seeed MR60BHA1 60 GHz breathing and heartbeat radar: UART frames and readings (pure).

Frame: ``53 59 | control u8 | command u8 | length u16 BE | data | sum u8 | 54 43`` where ``sum`` is
the low byte of the sum of every byte before it. UART 115200 8N1.
Source: Seeed wiki ``Radar_MR60BHA1.md`` (Seeed-Studio/wiki-documents), whose reset frame
``53 59 01 02 00 01 0F BF 54 43`` and realtime-mode frame ``53 59 84 0F 00 01 00 40 54 43`` are
golden vectors in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from firmware_bridge._frames import FrameSpec
from firmware_bridge._reader import Reader, check_length, check_range, pack_u16_be
from firmware_bridge.errors import BadChecksum, MalformedFrame

MR60BHA1_CODEC: Final = "mr60bha1"

HEADER: Final = b"\x53\x59"
TAIL: Final = b"\x54\x43"
# header 2 + control 1 + command 1 + length 2
PREFIX_BYTES: Final = 6
# checksum 1 + tail 2
SUFFIX_BYTES: Final = 3
# The longest documented payload (sleep statistics) is 12 bytes; 64 leaves room for firmware
# additions while bounding how long the framer waits on a corrupt length before resynchronising.
MAX_DATA_BYTES: Final = 64
# Waveform bytes are centred on 128 (wiki, "breath waveform": 5 values per second).
WAVEFORM_CENTRE: Final = 128
WAVEFORM_FS_HZ: Final = 5.0


@dataclass(frozen=True, slots=True)
class Mr60Frame:
    """One MR60BHA1 frame, lossless.

    Attributes:
        control: the control word (function group, e.g. 0x81 respiration).
        command: the command word within the group.
        data: the payload, as sent.
    """

    control: int
    command: int
    data: bytes = b""

    def __post_init__(self) -> None:
        check_range("control", self.control, 0, 0xFF)
        check_range("command", self.command, 0, 0xFF)
        check_range("data length", len(self.data), 0, MAX_DATA_BYTES)


class Mr60Quantity(Enum):
    """What a reading frame reports, with its unit in the value name."""

    PRESENCE = "presence"  # 0 nobody, 1 someone
    MOTION = "motion"  # 0 none, 1 still, 2 active
    BODY_MOVEMENT = "body_movement"  # 0-100
    BREATH_STATUS = "breath_status"  # 1 normal, 2 rapid, 3 slow, 4 none
    BREATH_RATE_PER_MIN = "breath_rate_per_min"
    BREATH_WAVEFORM = "breath_waveform"  # 5 samples, centre 128
    HEART_RATE_BPM = "heart_rate_bpm"
    HEART_WAVEFORM = "heart_waveform"  # 5 samples, centre 128


# (control, command) -> (quantity, payload bytes), from the wiki's command tables.
_READINGS: Final = {
    (0x80, 0x01): (Mr60Quantity.PRESENCE, 1),
    (0x80, 0x02): (Mr60Quantity.MOTION, 1),
    (0x80, 0x03): (Mr60Quantity.BODY_MOVEMENT, 1),
    (0x81, 0x01): (Mr60Quantity.BREATH_STATUS, 1),
    (0x81, 0x02): (Mr60Quantity.BREATH_RATE_PER_MIN, 1),
    (0x81, 0x05): (Mr60Quantity.BREATH_WAVEFORM, 5),
    (0x85, 0x02): (Mr60Quantity.HEART_RATE_BPM, 1),
    (0x85, 0x05): (Mr60Quantity.HEART_WAVEFORM, 5),
}


@dataclass(frozen=True, slots=True)
class Mr60Reading:
    """A report frame read as a quantity.

    Attributes:
        quantity: what is reported.
        values: the raw byte values (one, or five for a waveform).
    """

    quantity: Mr60Quantity
    values: tuple[int, ...]


def checksum(head: bytes) -> int:
    """Low byte of the sum of every byte from the header through the data."""
    return sum(head) & 0xFF


def frame_length(prefix: bytes) -> int:
    """Total frame length from its first six bytes (used by the stream framer)."""
    length = int.from_bytes(prefix[4:PREFIX_BYTES], "big")
    return PREFIX_BYTES + check_length(MR60BHA1_CODEC, length, MAX_DATA_BYTES) + SUFFIX_BYTES


def decode_mr60bha1(data: bytes) -> Mr60Frame:
    """Decode one whole MR60BHA1 frame.

    Raises:
        TruncatedFrame: shorter than its declared length.
        MalformedFrame: bad header or tail, or trailing bytes.
        BadChecksum: the sum byte does not match.
    """
    reader = Reader(data, MR60BHA1_CODEC)
    if reader.take(2) != HEADER:
        message = "missing 53 59 header"
        raise MalformedFrame(MR60BHA1_CODEC, message)
    control = reader.u8()
    command = reader.u8()
    length = check_length(MR60BHA1_CODEC, reader.u16_be(), MAX_DATA_BYTES)
    payload = reader.take(length)
    actual = reader.u8()
    tail = reader.take(2)
    reader.expect_end()
    if tail != TAIL:
        message = "missing 54 43 tail"
        raise MalformedFrame(MR60BHA1_CODEC, message)
    expected = checksum(data[: PREFIX_BYTES + length])
    if expected != actual:
        raise BadChecksum(MR60BHA1_CODEC, expected, actual)
    return Mr60Frame(control, command, payload)


def encode_mr60bha1(frame: Mr60Frame) -> bytes:
    """Encode one MR60BHA1 frame, byte-exact with :func:`decode_mr60bha1`."""
    head = HEADER + bytes([frame.control, frame.command]) + pack_u16_be(len(frame.data))
    head += frame.data
    return head + bytes([checksum(head)]) + TAIL


def read_mr60bha1(frame: Mr60Frame) -> Mr60Reading | None:
    """Interpret a report frame, or return ``None`` for frames that carry no reading.

    Raises:
        MalformedFrame: a known report with the wrong payload length.
    """
    known = _READINGS.get((frame.control, frame.command))
    if known is None:
        return None
    quantity, size = known
    if len(frame.data) != size:
        message = f"{quantity.value} needs {size} data bytes, got {len(frame.data)}"
        raise MalformedFrame(MR60BHA1_CODEC, message)
    return Mr60Reading(quantity, tuple(frame.data))


MR60BHA1_SPEC: Final = FrameSpec(
    codec=MR60BHA1_CODEC,
    sync_words=(HEADER,),
    prefix_bytes=PREFIX_BYTES,
    frame_length=frame_length,
    check=decode_mr60bha1,
)
