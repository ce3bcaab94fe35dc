"""Virtual devices that fit the edge's ``DeviceLink`` by shape: a wearable and a room (shell).

Each wraps a seeded physiology stream and hands out :class:`~firmware_bridge.samples.SampleBlock`
values paced against the event loop's clock, ``speed`` times faster than real time (1.0 for the
live demo, more for tests). A chest wearable sends what a real one does: accelerometer axes,
heart rate and SpO2; the room sends what its radar and door contact do. The wearable also
buzzes (``alert``, the shape of the edge's ``Buzzer``) and its simulated wearer answers a buzz
with the button after a delay, as :class:`~firmware_bridge.samples.ButtonPress`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Final

from firmware_bridge import AlertLevel
from firmware_bridge.samples import ButtonPress, Channel, SampleBlock
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
        self.streaming = False
        """True while a ``stream()`` runs: the device is "connected" to the edge."""
        self._started: float | None = None
        self._press_at: float | None = None  # loop time of the wearer's next button press
        self._poke = asyncio.Event()

    def _sim_s(self, loop_time: float) -> float:
        """Simulated seconds since the stream started at loop time ``loop_time``."""
        return 0.0 if self._started is None else (loop_time - self._started) * self.speed

    async def _paced(
        self, produce: Callable[[float], tuple[SampleBlock, ...]]
    ) -> AsyncIterator[SampleBlock | ButtonPress]:
        loop = asyncio.get_running_loop()
        self._started = started = loop.time()
        self.streaming = True
        t_s = 0.0
        try:
            while True:
                blocks = produce(CHUNK_S)
                t_s += CHUNK_S
                if not self.paused:
                    for block in blocks:
                        yield block
                chunk_end = started + t_s / self.speed
                while True:
                    now = loop.time()
                    press_at = self._press_at
                    if press_at is not None and press_at <= now:
                        self._press_at = None
                        yield ButtonPress(self.device_id, self._sim_s(now))
                        continue
                    if now >= chunk_end:
                        await asyncio.sleep(0)  # behind schedule: still let others run
                        break
                    self._poke.clear()
                    with contextlib.suppress(TimeoutError):
                        wake_at = min(chunk_end, press_at or chunk_end)
                        # Not wait_for: on Python 3.11 it can swallow a cancellation (gh-86296).
                        async with asyncio.timeout(wake_at - now):
                            await self._poke.wait()
        finally:
            self.streaming = False


class VirtualWearable(_PacedDevice):
    """A chest wearable on a simulated person, who answers its buzz with the button.

    Args:
        device_id: the enrolled device id.
        stream: the person's physiology (seeded by the caller).
        speed: simulated seconds per wall-clock second.
        answers_checkin: whether the wearer presses the button when the wearable buzzes.
        answer_delay_s: simulated seconds from the buzz to the press.
    """

    def __init__(
        self,
        device_id: str,
        stream: PhysiologyStream,
        speed: float = 1.0,
        *,
        answers_checkin: bool = True,
        answer_delay_s: float = 5.0,
    ) -> None:
        super().__init__(device_id, speed)
        if not answer_delay_s >= 0:
            message = f"answer_delay_s must not be negative, got {answer_delay_s!r}"
            raise ValueError(message)
        self.physiology = stream
        self.answers_checkin = answers_checkin
        self.answer_delay_s = answer_delay_s
        self.alert_level = AlertLevel.NO_ALERT
        """What the wearable is doing now: buzzing unless ``NO_ALERT``."""
        self.alerts: list[AlertLevel] = []
        """Every level the edge wrote, in order."""
        self.checkin_possible = True
        """It buzzes, and its wearer has a button to answer with."""

    @property
    def buzzing(self) -> bool:
        """Whether the wearable is buzzing its wearer now."""
        return self.alert_level is not AlertLevel.NO_ALERT

    async def alert(self, level: AlertLevel) -> bool:
        """Buzz (or stop); the wearer presses the button ``answer_delay_s`` later if they answer.

        Returns:
            ``False`` when not streaming or out of range (a real link is not connected then).
        """
        if not self.streaming or self.paused:
            return False
        self.alerts.append(level)
        self.alert_level = level
        if level is AlertLevel.NO_ALERT:
            self._press_at = None
        elif self.answers_checkin and self._press_at is None:
            loop = asyncio.get_running_loop()
            self._press_at = loop.time() + self.answer_delay_s / self.speed
            self._poke.set()
        return True

    def press(self) -> None:
        """The wearer presses the button now (the next thing the stream yields)."""
        self._press_at = asyncio.get_running_loop().time()
        self._poke.set()

    def _produce(self, duration_s: float) -> tuple[SampleBlock, ...]:
        blocks = self.physiology.advance_blocks(duration_s, self.device_id)
        return tuple(block for block in blocks if block.channel in WEARABLE_CHANNELS)

    def stream(self) -> AsyncIterator[SampleBlock | ButtonPress]:
        """Sample blocks and the wearer's button presses, paced, until cancelled."""
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

    def stream(self) -> AsyncIterator[SampleBlock | ButtonPress]:
        """Sample blocks, paced, until cancelled (a room has no button)."""
        return self._paced(self._produce)
