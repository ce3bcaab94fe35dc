"""The one exception tree of :mod:`firmware_bridge` (pure).

::

    FirmwareBridgeError            anything this package raises on purpose
    ├── WireError                  an MQTT topic or JSON envelope that breaks the wire contract
    └── FrameError                 device bytes that no codec can accept (the peer sent garbage)
        ├── TruncatedFrame         fewer bytes than the layout needs
        ├── BadChecksum            a checksum or CRC that does not match the bytes
        ├── UnknownMessageType     a type id, opcode or measurement type the codec does not know
        └── MalformedFrame         bytes of the right length that break the layout (bad sync,
                                   reserved value, trailing bytes, inconsistent length)

Every error carries inspectable fields; the message is built before raising.
"""

from __future__ import annotations


class FirmwareBridgeError(Exception):
    """Root of every error :mod:`firmware_bridge` raises on purpose."""


class WireError(FirmwareBridgeError):
    """A topic or envelope that breaks the edge-server wire contract.

    Attributes:
        field: the offending field (``"topic"``, ``"payload"``, or an envelope key).
        reason: a short, human-readable reason, safe to log (it never echoes payload values).
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        message = f"{field}: {reason}"
        super().__init__(message)


class FrameError(FirmwareBridgeError):
    """Device bytes that a codec cannot accept: the peer sent garbage, not a bug of ours.

    Attributes:
        codec: which codec refused the bytes (``"heart_rate"``, ``"mr60bha1"``, ...).
        reason: a short, human-readable reason, safe to log.
    """

    def __init__(self, codec: str, reason: str) -> None:
        self.codec = codec
        self.reason = reason
        message = f"{codec}: {reason}"
        super().__init__(message)


class TruncatedFrame(FrameError):
    """Fewer bytes than the layout needs.

    Attributes:
        needed: bytes the layout needs at the point decoding stopped.
        got: bytes that were there.
    """

    def __init__(self, codec: str, needed: int, got: int) -> None:
        self.needed = needed
        self.got = got
        super().__init__(codec, f"truncated: needed {needed} bytes, got {got}")


class BadChecksum(FrameError):
    """A checksum or CRC that does not match the bytes it covers.

    Attributes:
        expected: the checksum computed over the bytes.
        actual: the checksum the frame carried.
    """

    def __init__(self, codec: str, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(codec, f"bad checksum: computed 0x{expected:X}, frame says 0x{actual:X}")


class UnknownMessageType(FrameError):
    """A type id, opcode or measurement type the codec does not know.

    Attributes:
        type_id: the unknown identifier as sent.
    """

    def __init__(self, codec: str, type_id: int) -> None:
        self.type_id = type_id
        super().__init__(codec, f"unknown message type 0x{type_id:02X}")


class MalformedFrame(FrameError):
    """Bytes that break the layout: bad sync or tail, a reserved value, trailing bytes."""
