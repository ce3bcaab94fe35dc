"""Hi-Link HLK-LD2410 24 GHz presence radar: report and command frames (pure).

Report frame: ``F4 F3 F2 F1 | length u16 LE | type (02 basic, 01 engineering) | AA | target state |
moving distance u16 cm | moving energy | still distance u16 cm | still energy | detection distance
u16 cm | [engineering data] | 55 00 | F8 F7 F6 F5``. Command and ACK frames:
``FD FC FB FA | length u16 LE | command u16 LE | value | 04 03 02 01``. There is no checksum; the
constant ``AA``/``55 00`` markers and the tail are the only checks. UART 256000 8N1.
Source: HLK-LD2410 serial protocol manual as mapped in ESPHome ``components/ld2410/ld2410.cpp``;
golden vector ``F4F3F2F1 0D00 02 AA 02 5100 00 0000 00 3B00 55 00 F8F7F6F5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from firmware_bridge._frames import FrameSpec
from firmware_bridge._reader import Reader, check_length, check_range, pack_u16
from firmware_bridge.errors import MalformedFrame, UnknownMessageType

LD2410_CODEC: Final = "ld2410"

REPORT_HEADER: Final = b"\xf4\xf3\xf2\xf1"
REPORT_TAIL: Final = b"\xf8\xf7\xf6\xf5"
COMMAND_HEADER: Final = b"\xfd\xfc\xfb\xfa"
COMMAND_TAIL: Final = b"\x04\x03\x02\x01"
PREFIX_BYTES: Final = 6
TAIL_BYTES: Final = 4
# The longest frame the module sends is an engineering report (35 payload bytes); 64 bounds the
# framer's wait on a corrupt length.
MAX_PAYLOAD_BYTES: Final = 64
_REPORT_HEAD: Final = 0xAA
_REPORT_END: Final = b"\x55\x00"
# Room left for engineering extras: 64 minus 13 basic bytes, 2 gate counts and 2 x 9 energies.
MAX_EXTRA_BYTES: Final = 31
# The module has gates 0-8 (0.75 m each); a max gate above 8 is impossible.
MAX_GATE: Final = 8


class ReportType(IntEnum):
    """Report data type byte."""

    ENGINEERING = 0x01
    BASIC = 0x02


class TargetState(IntEnum):
    """Which targets the radar sees."""

    NONE = 0
    MOVING = 1
    STILL = 2
    MOVING_AND_STILL = 3


@dataclass(frozen=True, slots=True)
class Ld2410Engineering:
    """Engineering-mode extras: per-gate energies.

    Attributes:
        moving_gate_energy: moving energy for gates 0..max moving gate.
        still_gate_energy: still energy for gates 0..max still gate.
        extra: bytes after the gate energies (light level and OUT pin on newer firmware).
    """

    moving_gate_energy: tuple[int, ...]
    still_gate_energy: tuple[int, ...]
    extra: bytes = b""

    def __post_init__(self) -> None:
        for energies in (self.moving_gate_energy, self.still_gate_energy):
            check_range("gate count", len(energies), 1, MAX_GATE + 1)
            for value in energies:
                check_range("gate energy", value, 0, 0xFF)
        check_range("extra length", len(self.extra), 0, MAX_EXTRA_BYTES)


@dataclass(frozen=True, slots=True)
class Ld2410Report:
    """A target report, lossless.

    Attributes:
        target_state: which targets are seen.
        moving_distance_cm: distance of the moving target.
        moving_energy: its energy, 0-100.
        still_distance_cm: distance of the still target.
        still_energy: its energy, 0-100.
        detection_distance_cm: detection distance.
        engineering: per-gate data in engineering mode, else ``None``.
    """

    target_state: TargetState
    moving_distance_cm: int
    moving_energy: int
    still_distance_cm: int
    still_energy: int
    detection_distance_cm: int
    engineering: Ld2410Engineering | None = None

    def __post_init__(self) -> None:
        for name in ("moving_distance_cm", "still_distance_cm", "detection_distance_cm"):
            check_range(name, getattr(self, name), 0, 0xFFFF)
        check_range("moving_energy", self.moving_energy, 0, 0xFF)
        check_range("still_energy", self.still_energy, 0, 0xFF)


@dataclass(frozen=True, slots=True)
class Ld2410Command:
    """A command (or, with bit 8 of ``command`` set, its ACK) frame.

    Attributes:
        command: the command word; an ACK echoes ``command | 0x0100``.
        value: the command value or ACK status and data, as sent.
    """

    command: int
    value: bytes = b""

    def __post_init__(self) -> None:
        check_range("command", self.command, 0, 0xFFFF)
        check_range("value length", len(self.value), 0, MAX_PAYLOAD_BYTES - 2)

    @property
    def is_ack(self) -> bool:
        """The frame is the module's answer to a command."""
        return bool(self.command & 0x0100)


Ld2410Message = Ld2410Report | Ld2410Command


def frame_length(prefix: bytes) -> int:
    """Total frame length from its first six bytes (used by the stream framer)."""
    length = int.from_bytes(prefix[4:PREFIX_BYTES], "little")
    return PREFIX_BYTES + check_length(LD2410_CODEC, length, MAX_PAYLOAD_BYTES) + TAIL_BYTES


def _malformed(reason: str) -> MalformedFrame:
    return MalformedFrame(LD2410_CODEC, reason)


def _decode_report(reader: Reader) -> Ld2410Report:
    type_id = reader.u8()
    if type_id not in ReportType._value2member_map_:
        raise UnknownMessageType(LD2410_CODEC, type_id)
    if reader.u8() != _REPORT_HEAD:
        raise _malformed("report head byte is not AA")
    state = reader.u8()
    if state > max(TargetState):
        raise _malformed(f"target state {state} is not 0-3")
    fields = (reader.u16(), reader.u8(), reader.u16(), reader.u8(), reader.u16())
    engineering = None
    if type_id == ReportType.ENGINEERING:
        max_moving, max_still = reader.u8(), reader.u8()
        if max(max_moving, max_still) > MAX_GATE:
            raise _malformed(f"max gate above {MAX_GATE}")
        moving = tuple(reader.take(max_moving + 1))
        still = tuple(reader.take(max_still + 1))
        if reader.remaining < len(_REPORT_END):
            raise _malformed("report end 55 00 missing")
        extra = reader.take(reader.remaining - len(_REPORT_END))
        engineering = Ld2410Engineering(moving, still, extra)
    if reader.take(2) != _REPORT_END:
        raise _malformed("report end is not 55 00")
    reader.expect_end()
    return Ld2410Report(TargetState(state), *fields, engineering=engineering)


def decode_ld2410(data: bytes) -> Ld2410Message:
    """Decode one whole LD2410 frame (report, command or ACK).

    Raises:
        TruncatedFrame: shorter than its declared length.
        MalformedFrame: bad header, tail, length or markers.
        UnknownMessageType: an unknown report type.
    """
    reader = Reader(data, LD2410_CODEC)
    header = reader.take(4)
    if header not in (REPORT_HEADER, COMMAND_HEADER):
        raise _malformed("unknown header")
    length = check_length(LD2410_CODEC, reader.u16(), MAX_PAYLOAD_BYTES)
    payload = reader.take(length)
    tail = reader.take(TAIL_BYTES)
    reader.expect_end()
    expected_tail = REPORT_TAIL if header == REPORT_HEADER else COMMAND_TAIL
    if tail != expected_tail:
        raise _malformed("tail does not match header")
    inner = Reader(payload, LD2410_CODEC)
    if header == REPORT_HEADER:
        return _decode_report(inner)
    return Ld2410Command(inner.u16(), inner.rest())


def encode_ld2410(message: Ld2410Message) -> bytes:
    """Encode one LD2410 frame, byte-exact with :func:`decode_ld2410`."""
    if isinstance(message, Ld2410Command):
        payload = pack_u16(message.command) + message.value
        return COMMAND_HEADER + pack_u16(len(payload)) + payload + COMMAND_TAIL
    eng = message.engineering
    payload = bytes(
        [ReportType.BASIC if eng is None else ReportType.ENGINEERING, _REPORT_HEAD]
    ) + bytes([message.target_state])
    payload += pack_u16(message.moving_distance_cm) + bytes([message.moving_energy])
    payload += pack_u16(message.still_distance_cm) + bytes([message.still_energy])
    payload += pack_u16(message.detection_distance_cm)
    if eng is not None:
        payload += bytes([len(eng.moving_gate_energy) - 1, len(eng.still_gate_energy) - 1])
        payload += bytes(eng.moving_gate_energy) + bytes(eng.still_gate_energy) + eng.extra
    payload += _REPORT_END
    return REPORT_HEADER + pack_u16(len(payload)) + payload + REPORT_TAIL


LD2410_SPEC: Final = FrameSpec(
    codec=LD2410_CODEC,
    sync_words=(REPORT_HEADER, COMMAND_HEADER),
    prefix_bytes=PREFIX_BYTES,
    frame_length=frame_length,
    check=decode_ld2410,
)
