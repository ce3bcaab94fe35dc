"""A resynchronising stream framer for UART sensors: feed bytes, get whole frames (pure).

Like h11's receive buffer, :class:`FrameBuffer` owns no I/O. It hunts for a sync word, reads the
length from the frame's header, waits for the whole frame and lets the codec check it (checksum,
tail). Garbage before a sync word, frames whose length is absurd or whose checks fail are counted
and skipped; after a failure it restarts the hunt one byte past the failed sync word, so a good
frame hidden inside a broken one is still found. Decisions are only taken on complete data, so
feeding byte by byte gives exactly what feeding the whole buffer gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware_bridge.errors import BadChecksum, FrameError


@dataclass(frozen=True, slots=True)
class FrameSpec:
    """How one UART protocol delimits frames.

    Attributes:
        codec: the codec name used in errors.
        sync_words: byte strings that can start a frame.
        prefix_bytes: bytes needed (from the sync word on) to know the frame's total length.
        frame_length: total frame length from the first ``prefix_bytes``; raises
            :class:`FrameError` for an impossible length.
        check: raises :class:`FrameError` if a whole frame is not acceptable.
    """

    codec: str
    sync_words: tuple[bytes, ...]
    prefix_bytes: int
    frame_length: Callable[[bytes], int]
    check: Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class FramerStats:
    """What a :class:`FrameBuffer` has seen so far.

    Attributes:
        frames: whole frames that passed the codec's checks.
        garbage_bytes: bytes skipped while hunting for a sync word.
        bad_checksums: frames dropped for a checksum mismatch.
        bad_frames: frames dropped for a bad length, tail or layout (often a partial frame
            overrun by the next one).
    """

    frames: int = 0
    garbage_bytes: int = 0
    bad_checksums: int = 0
    bad_frames: int = 0


class FrameBuffer:
    """Incremental framer: :meth:`feed` bytes in any chunking, get whole checked frames out."""

    __slots__ = ("_buffer", "_spec", "_stats", "_sync_max")

    def __init__(self, spec: FrameSpec) -> None:
        """Start with an empty buffer for the protocol ``spec``."""
        self._spec = spec
        self._buffer = bytearray()
        self._stats = FramerStats()
        self._sync_max = max(len(word) for word in spec.sync_words)

    @property
    def stats(self) -> FramerStats:
        """Counters so far."""
        return self._stats

    @property
    def pending(self) -> int:
        """Bytes buffered that are not resolved yet (a partial frame or sync word)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data`` and return every whole frame that is now complete and valid."""
        self._buffer += data
        frames: list[bytes] = []
        frames_n, garbage, bad_sum, bad = 0, 0, 0, 0
        buffer = self._buffer
        spec = self._spec
        while True:
            start = self._find_sync()
            if start < 0:
                keep = self._partial_sync_suffix()
                garbage += len(buffer) - keep
                del buffer[: len(buffer) - keep]
                break
            garbage += start
            del buffer[:start]
            if len(buffer) < spec.prefix_bytes:
                break
            try:
                length = spec.frame_length(bytes(buffer[: spec.prefix_bytes]))
            except FrameError:
                bad += 1
                del buffer[:1]
                continue
            if len(buffer) < length:
                break
            frame = bytes(buffer[:length])
            try:
                spec.check(frame)
            except BadChecksum:
                bad_sum += 1
                del buffer[:1]
            except FrameError:
                bad += 1
                del buffer[:1]
            else:
                frames.append(frame)
                frames_n += 1
                del buffer[:length]
        stats = self._stats
        self._stats = FramerStats(
            stats.frames + frames_n,
            stats.garbage_bytes + garbage,
            stats.bad_checksums + bad_sum,
            stats.bad_frames + bad,
        )
        return frames

    def _find_sync(self) -> int:
        hits = [i for word in self._spec.sync_words if (i := self._buffer.find(word)) >= 0]
        return min(hits, default=-1)

    def _partial_sync_suffix(self) -> int:
        """Length of the longest buffer suffix that could still become a sync word."""
        for size in range(min(self._sync_max - 1, len(self._buffer)), 0, -1):
            tail = self._buffer[-size:]
            if any(word.startswith(tail) for word in self._spec.sync_words):
                return size
        return 0
