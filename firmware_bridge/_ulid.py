"""Message ids: ULIDs (48-bit milliseconds, then 80 random bits) minted monotonically (pure).

Lexicographic order of the strings is time order, so ids sort by creation time. Randomness
comes from the caller (the shell passes ``os.urandom``), so minting is deterministic in tests.
"""

from __future__ import annotations

from typing import Final

from firmware_bridge._checks import _check_ulid

_ULID_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as the ULID spec
_ULID_TIME_BITS: Final = 48
_ULID_RANDOM_BITS: Final = 80
_ULID_RANDOM_BYTES: Final = _ULID_RANDOM_BITS // 8


def encode_ulid(time_ms: int, randomness: int) -> str:
    """Render a ULID: 48 bits of milliseconds since the epoch, then 80 random bits.

    Lexicographic order of the strings is time order, so ids sort by creation time.
    """
    if not 0 <= time_ms < 1 << _ULID_TIME_BITS:
        message = f"time_ms out of range for a ULID: {time_ms}"
        raise ValueError(message)
    if not 0 <= randomness < 1 << _ULID_RANDOM_BITS:
        message = "randomness must fit in 80 bits"
        raise ValueError(message)
    value = (time_ms << _ULID_RANDOM_BITS) | randomness
    chars = []
    for _ in range(26):
        chars.append(_ULID_ALPHABET[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def ulid_time_ms(msg_id: str) -> int:
    """The millisecond timestamp inside a ULID (raises :class:`WireError` if it is not one)."""
    _check_ulid("id", msg_id)
    value = 0
    for char in msg_id:
        value = (value << 5) | _ULID_ALPHABET.index(char)
    return value >> _ULID_RANDOM_BITS


class IdMinter:
    """Mints unique, strictly increasing message ids (monotonic ULIDs) from values passed in.

    Within one millisecond the random part is incremented, so ids minted by one edge sort in
    the order they were minted even when the clock does not move or steps back.
    """

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_random = 0

    def mint(self, now_ms: int, entropy: bytes) -> str:
        """Return a new id for ``now_ms``; ``entropy`` must be 10 random bytes (from the shell)."""
        if len(entropy) != _ULID_RANDOM_BYTES:
            message = f"entropy must be {_ULID_RANDOM_BYTES} bytes, got {len(entropy)}"
            raise ValueError(message)
        if now_ms <= self._last_ms:
            now_ms = self._last_ms
            randomness = self._last_random + 1
            if randomness >= 1 << _ULID_RANDOM_BITS:  # pragma: no cover - 2**80 ids in one ms
                now_ms += 1
                randomness = int.from_bytes(entropy, "big")
        else:
            randomness = int.from_bytes(entropy, "big")
        self._last_ms, self._last_random = now_ms, randomness
        return encode_ulid(now_ms, randomness)
