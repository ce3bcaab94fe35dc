"""A bounds-checked little/big-endian byte reader for the codecs (pure).

Every codec reads through :class:`Reader`, so a short buffer raises :class:`TruncatedFrame`
with the codec's name instead of ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import struct
from typing import Final

from firmware_bridge.errors import MalformedFrame, TruncatedFrame

_U16_LE: Final = struct.Struct("<H")
_U16_BE: Final = struct.Struct(">H")
_I16_LE: Final = struct.Struct("<h")
_U32_LE: Final = struct.Struct("<I")
_U64_LE: Final = struct.Struct("<Q")


class Reader:
    """Reads fields in order from one whole frame, raising the codec's own errors."""

    __slots__ = ("_codec", "_data", "_pos")

    def __init__(self, data: bytes, codec: str) -> None:
        """Start reading ``data`` on behalf of ``codec`` (its name goes into every error)."""
        self._data = bytes(data)
        self._codec = codec
        self._pos = 0

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self._data) - self._pos

    def _need(self, count: int) -> int:
        if self.remaining < count:
            raise TruncatedFrame(self._codec, self._pos + count, len(self._data))
        start = self._pos
        self._pos += count
        return start

    def take(self, count: int) -> bytes:
        """Return the next ``count`` bytes."""
        start = self._need(count)
        return self._data[start : start + count]

    def rest(self) -> bytes:
        """Return every byte not read yet."""
        return self.take(self.remaining)

    def u8(self) -> int:
        """Read an unsigned byte."""
        return self._data[self._need(1)]

    def u16(self) -> int:
        """Read a little-endian uint16."""
        value: int = _U16_LE.unpack_from(self._data, self._need(2))[0]
        return value

    def u16_be(self) -> int:
        """Read a big-endian uint16."""
        value: int = _U16_BE.unpack_from(self._data, self._need(2))[0]
        return value

    def i16(self) -> int:
        """Read a little-endian int16."""
        value: int = _I16_LE.unpack_from(self._data, self._need(2))[0]
        return value

    def u24(self) -> int:
        """Read a little-endian uint24."""
        return int.from_bytes(self.take(3), "little")

    def u32(self) -> int:
        """Read a little-endian uint32."""
        value: int = _U32_LE.unpack_from(self._data, self._need(4))[0]
        return value

    def u64(self) -> int:
        """Read a little-endian uint64."""
        value: int = _U64_LE.unpack_from(self._data, self._need(8))[0]
        return value

    def signed(self, width_bytes: int) -> int:
        """Read a little-endian two's-complement integer of ``width_bytes`` bytes."""
        return int.from_bytes(self.take(width_bytes), "little", signed=True)

    def expect_end(self) -> None:
        """Raise :class:`MalformedFrame` if bytes are left over."""
        if self.remaining:
            message = f"{self.remaining} trailing bytes"
            raise MalformedFrame(self._codec, message)


def pack_u16(value: int) -> bytes:
    """Encode a little-endian uint16."""
    return _U16_LE.pack(value)


def pack_u16_be(value: int) -> bytes:
    """Encode a big-endian uint16."""
    return _U16_BE.pack(value)


def pack_i16(value: int) -> bytes:
    """Encode a little-endian int16."""
    return _I16_LE.pack(value)


def pack_u32(value: int) -> bytes:
    """Encode a little-endian uint32."""
    return _U32_LE.pack(value)


def pack_u64(value: int) -> bytes:
    """Encode a little-endian uint64."""
    return _U64_LE.pack(value)


def check_length(codec: str, length: int, limit: int) -> int:
    """Return a declared payload ``length``, or raise :class:`MalformedFrame` above ``limit``."""
    if length > limit:
        message = f"declared length {length} is above {limit}"
        raise MalformedFrame(codec, message)
    return length


def check_range(name: str, value: int, low: int, high: int) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high`` (used by ``__post_init__``)."""
    if not low <= value <= high:
        message = f"{name} must be in {low}..{high}, got {value}"
        raise ValueError(message)
