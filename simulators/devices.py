"""Virtual devices that fit the edge's ``DeviceLink`` by shape: a wearable and a room (shell).

Each wraps a seeded physiology stream and hands out :class:`~firmware_bridge.samples.SampleBlock`
values paced against the event loop's clock, ``speed`` times faster than real time (1.0 for the
live demo, more for tests). A chest wearable sends what a real one does: accelerometer axes,
heart rate and SpO2; the room sends what its radar and door contact do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Final

from firmware_bridge.samples import Channel, SampleBlock
from simulators._physio_room import RoomStream
from simulators.physiology import PhysiologyStream

CHUNK_S: Final = 1.0
"""One block per channel per second, like a BLE wearable batching its notifications."""

WEARABLE_CHANNELS: Final = frozenset(
    {Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z, Channel.HR, Channel.SPO2}
)
"""A chest wearable has no respiration belt: breathing must be read from the accelerometer."""


class _PacedDevice:
    """Shared pacing: produce a chunk, then sleep until its end in scaled wall time."""

    def __init__(self, device_id: str, speed: float) -> None:
        if not speed > 0:
            message = f"speed must be positive, got {speed!r}"
            raise ValueError(message)
        self.device_id = device_id
        self.speed = speed
        self.paused = False
        """While True the device sends nothing (as if out of range); its time still passes."""

    async def _paced(
        self, produce: Callable[[float], tuple[SampleBlock, ...]]
    ) -> AsyncIterator[SampleBlock]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        t_s = 0.0
        while True:
            blocks = produce(CHUNK_S)
            t_s += CHUNK_S
            if not self.paused:
                for block in blocks:
                    yield block
            delay = started + t_s / self.speed - loop.time()
            await asyncio.sleep(max(delay, 0.0))


class VirtualWearable(_PacedDevice):
    """A chest wearable on a simulated person.

    Args:
        device_id: the enrolled device id.
        stream: the person's physiology (seeded by the caller).
        speed: simulated seconds per wall-clock second.
    """

    def __init__(self, device_id: str, stream: PhysiologyStream, speed: float = 1.0) -> None:
        super().__init__(device_id, speed)
        self.physiology = stream

    def _produce(self, duration_s: float) -> tuple[SampleBlock, ...]:
        blocks = self.physiology.advance_blocks(duration_s, self.device_id)
        return tuple(block for block in blocks if block.channel in WEARABLE_CHANNELS)

    def stream(self) -> AsyncIterator[SampleBlock]:
        """Sample blocks, paced, until cancelled."""
        return self._paced(self._produce)


class VirtualRoom(_PacedDevice):
    """A room's radar and door contact watching the same simulated person.

    Args:
        device_id: the enrolled room-sensor id.
        room: the room stream, from :meth:`PhysiologyStream.room` of the occupant's wearable.
        speed: simulated seconds per wall-clock second.
    """

    def __init__(self, device_id: str, room: RoomStream, speed: float = 1.0) -> None:
        super().__init__(device_id, speed)
        self.room = room

    def _produce(self, duration_s: float) -> tuple[SampleBlock, ...]:
        return self.room.advance(duration_s).sample_blocks(self.device_id)

    def stream(self) -> AsyncIterator[SampleBlock]:
        """Sample blocks, paced, until cancelled."""
        return self._paced(self._produce)
