"""UART links to room radars (MR60BHA1, LD2410): serial port -> framer -> sample blocks (shell).

Bytes from pyserial-asyncio-fast go through :class:`firmware_bridge.FrameBuffer`, which skips
garbage and broken frames; each good frame becomes timestamped samples with units. A vanished
port or a silent radar becomes a :class:`~edge.transport.DeviceStatus`, and the port is reopened
with backoff by :func:`edge.supervisor.supervise`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Final

from serial import SerialException  # type: ignore[import-untyped]
from serial_asyncio_fast import open_serial_connection

from edge.supervisor import BackoffPolicy, LinkLost, LinkSilent, Watchdog, supervise
from edge.transport import DeviceStatus, LinkEvent
from firmware_bridge import (
    LD2410_SPEC,
    MR60BHA1_SPEC,
    FrameBuffer,
    FrameError,
    FrameSpec,
    decode_ld2410,
    decode_mr60bha1,
    message_samples,
)
from firmware_bridge.wire import DeviceState

_LOGGER = logging.getLogger(__name__)

# Baud rates from the datasheets: MR60BHA1 115200 8N1 (Seeed wiki), LD2410 256000 8N1 (HLK manual).
MR60BHA1_BAUD: Final = 115_200
LD2410_BAUD: Final = 256_000
# Both radars report several times a second; 5 s of silence means the radar or its cable is gone.
DEFAULT_NO_DATA_TIMEOUT_S: Final = 5.0
# Opening a local serial port is instant when it works; 5 s bounds a wedged USB adapter.
OPEN_TIMEOUT_S: Final = 5.0
# One read returns whatever arrived, up to this many bytes.
READ_CHUNK_BYTES: Final = 4096


class RadarKind(StrEnum):
    """Which radar sits on the port."""

    MR60BHA1 = "mr60bha1"
    LD2410 = "ld2410"


_SPECS: Final[dict[RadarKind, FrameSpec]] = {
    RadarKind.MR60BHA1: MR60BHA1_SPEC,
    RadarKind.LD2410: LD2410_SPEC,
}
_BAUDS: Final = {RadarKind.MR60BHA1: MR60BHA1_BAUD, RadarKind.LD2410: LD2410_BAUD}


_DECODERS: Final[dict[RadarKind, Callable[[bytes], object]]] = {
    RadarKind.MR60BHA1: decode_mr60bha1,
    RadarKind.LD2410: decode_ld2410,
}


class UartRadarLink:
    """A :class:`~edge.transport.DeviceLink` for one radar on one serial port."""

    def __init__(
        self,
        device_id: str,
        port: str,
        kind: RadarKind,
        *,
        baudrate: int | None = None,
        no_data_timeout_s: float = DEFAULT_NO_DATA_TIMEOUT_S,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Describe the link; nothing is opened until :meth:`stream` runs."""
        self.device_id = device_id
        self.port = port
        self.kind = kind
        self.baudrate = baudrate or _BAUDS[kind]
        self.no_data_timeout_s = no_data_timeout_s
        self._policy = policy
        self._clock = clock
        self._jitter = jitter
        self._dropped_before = 0
        self._framer: FrameBuffer | None = None
        self._undecodable = 0

    @property
    def frames_dropped(self) -> int:
        """Frames lost to bad checksums, broken framing or undecodable payloads so far."""
        stats = self._framer.stats if self._framer else None
        current = stats.bad_checksums + stats.bad_frames if stats else 0
        return self._dropped_before + current + self._undecodable

    def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield samples and status changes until cancelled, reopening the port as needed."""
        return supervise(
            self.device_id,
            self._session,
            policy=self._policy,
            clock=self._clock,
            jitter=self._jitter,
        )

    async def _session(self) -> AsyncIterator[LinkEvent]:
        try:
            async with asyncio.timeout(OPEN_TIMEOUT_S):
                reader, writer = await open_serial_connection(url=self.port, baudrate=self.baudrate)
        except (OSError, SerialException, TimeoutError) as exc:
            message = f"cannot open serial port: {exc.__class__.__name__}"
            raise LinkLost(message) from exc
        if self._framer is not None:
            stats = self._framer.stats
            self._dropped_before += stats.bad_checksums + stats.bad_frames
        framer = self._framer = FrameBuffer(_SPECS[self.kind])
        decode = _DECODERS[self.kind]
        try:
            yield DeviceStatus(
                self.device_id,
                DeviceState.CONNECTED,
                self._clock(),
                frames_dropped=self.frames_dropped,
            )
            watchdog = Watchdog(self.no_data_timeout_s, self._clock())
            while True:
                try:
                    async with asyncio.timeout(watchdog.remaining_s(self._clock())):
                        chunk = await reader.read(READ_CHUNK_BYTES)
                except TimeoutError:
                    message = f"no frame for {self.no_data_timeout_s} s"
                    raise LinkSilent(message) from None
                if not chunk:
                    message = "serial port closed"
                    raise LinkLost(message)
                for frame in framer.feed(chunk):
                    now_s = self._clock()
                    watchdog.feed(now_s)
                    try:
                        blocks = message_samples(self.device_id, decode(frame), now_s)
                    except FrameError:
                        self._undecodable += 1
                        continue
                    for block in blocks:
                        yield block
        except SerialException as exc:
            message = f"serial read failed: {exc}"
            raise LinkLost(message) from exc
        finally:
            writer.close()
