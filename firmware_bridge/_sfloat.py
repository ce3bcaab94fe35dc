"""IEEE 11073-20601 SFLOAT: a 16-bit medical float with "no reading" codes (pure).

Bits 15-12 are a signed 4-bit exponent and bits 11-0 a signed 12-bit mantissa; the value is
``mantissa * 10**exponent``. Five whole-word codes with exponent 0 are special (NaN, NRes, +INF,
-INF, reserved) and mean "no reading", never 0. Every one of the 65 536 codes maps to exactly one
:class:`SFloat`, so ``encode(decode(code)) == code`` for all of them.
Sources: IEEE 11073-20601 §F.8; HL7 PHD IG "Mder FLOATs and SFLOATs" (``0xF014`` = 2.0,
``0x0B2E`` = -1234).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from firmware_bridge._reader import check_range

# 12-bit two's-complement mantissa and 4-bit exponent (IEEE 11073-20601 §F.8).
MANTISSA_MIN: Final = -2048
MANTISSA_MAX: Final = 2047
EXPONENT_MIN: Final = -8
EXPONENT_MAX: Final = 7


class SFloatSpecial(Enum):
    """The whole-word special codes; each means "no reading"."""

    NAN = 0x07FF
    NRES = 0x0800
    POSITIVE_INFINITY = 0x07FE
    NEGATIVE_INFINITY = 0x0802
    RESERVED = 0x0801


_SPECIAL_BY_CODE: Final = {member.value: member for member in SFloatSpecial}


@dataclass(frozen=True, slots=True)
class SFloat:
    """One SFLOAT as sent: mantissa and exponent, so 98 and 98.0 stay distinct.

    Attributes:
        mantissa: signed 12-bit mantissa (-2048..2047).
        exponent: signed 4-bit power of ten (-8..7).
    """

    mantissa: int
    exponent: int = 0

    def __post_init__(self) -> None:
        check_range("mantissa", self.mantissa, MANTISSA_MIN, MANTISSA_MAX)
        check_range("exponent", self.exponent, EXPONENT_MIN, EXPONENT_MAX)

    @property
    def code(self) -> int:
        """The 16-bit word on the wire."""
        return ((self.exponent & 0xF) << 12) | (self.mantissa & 0xFFF)

    @property
    def special(self) -> SFloatSpecial | None:
        """The special code this is, or ``None`` for an ordinary number."""
        return _SPECIAL_BY_CODE.get(self.code)

    @property
    def value(self) -> float | None:
        """The reading as a float, or ``None`` for every special code ("no reading", never 0)."""
        if self.special is not None:
            return None
        if self.exponent >= 0:
            return float(self.mantissa * 10**self.exponent)
        # Divide by an exact power of ten so 0xF014 reads as exactly 2.0, not 2.0000000000000004.
        divisor: int = 10**-self.exponent
        return self.mantissa / divisor

    @classmethod
    def from_special(cls, special: SFloatSpecial) -> SFloat:
        """Build the SFLOAT for one of the special codes."""
        return decode_sfloat(special.value)


def decode_sfloat(code: int) -> SFloat:
    """Split a 16-bit word into mantissa and exponent (specials are checked via ``.special``).

    Args:
        code: the word as read little-endian from the wire, 0..0xFFFF.

    Returns:
        The SFLOAT; its ``.value`` is ``None`` for special codes.
    """
    mantissa = code & 0x0FFF
    exponent = code >> 12
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    if exponent >= 0x8:
        exponent -= 0x10
    return SFloat(mantissa, exponent)


def encode_sfloat(value: SFloat) -> int:
    """Return the 16-bit word for ``value``."""
    return value.code
