"""Virtual devices that speak bytes: wearable notifications, a radar on a pseudo-terminal (shell).

:class:`FramedWearable` fits the edge's ``NotificationSource`` by shape: it yields
``(characteristic, bytes)`` notifications paced ``speed`` times faster than real time, takes
Alert Level writes (a buzz, which its simulated wearer answers with a button frame), and on
demand drops off the air (``ConnectionError``), loses frames, sends garbage or runs its battery
flat. :class:`FramedRadar` writes MR60BHA1 or LD2410 frames into a pseudo-terminal whose other
end the edge opens as a serial port, with the same faults, and reports the room's door contact as
zigbee2mqtt JSON for the caller to publish. Both use :mod:`simulators.framed_encode`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tty
from collections.abc import AsyncIterator, Callable
from typing import Final

import numpy as np

from firmware_bridge import (
    AlertLevel,
    ContactReport,
    DoorState,
    FrameError,
    decode_alert_level,
    encode_contact,
)
from simulators._physio_room import RoomChunk, RoomStream
from simulators.framed_encode import Mr60Encoder, WearableEncoder, ld2410_frames
from simulators.physiology import PhysiologyStream
from simulators.scenario import TimelineEvent

__all__ = ["Faults", "FramedRadar", "FramedWearable"]

CHUNK_S: Final = 1.0
"""A framed device sends once a simulated second, like a wearable batching notifications."""
BATTERY_EVERY_S: Final = 60.0
"""Battery Level is notified once a minute (and at once when it changes a lot)."""
FULL_BATTERY_PCT: Final = 90
"""A freshly charged wearable at the start of a night."""
FLAT_BATTERY_PCT: Final = 5
"""``battery_flat`` drops the battery to this unless ``params.pct`` says otherwise."""
DOOR_OPEN_LEVEL: Final = 0.5
"""A door sample at or above this is open (the room stream's door is 1 open, 0 closed)."""
DOOR_BATTERY_PCT: Final = 80
DOOR_LINK_QUALITY: Final = 120
"""What a zigbee2mqtt contact sensor a few metres from its coordinator typically reports."""
RADAR_MOTION_THRESHOLD: Final = 15.0
"""Simulated motion energy above which the MR60BHA1 reports "active" (the detector's default)."""


class Faults:
    """What is going wrong with a device now, in simulated seconds on its own clock."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.offline = False
        self.drop_fraction = 0.0
        self.drop_until_s = 0.0
        self.garbage_until_s = 0.0
        self.battery_pct = FULL_BATTERY_PCT

    def apply(
        self, event: str, t_s: float, duration_s: float | None, params: dict[str, float]
    ) -> None:
        """Start a fault named by a scenario event at device time ``t_s``."""
        span = duration_s if duration_s is not None else float("inf")
        if event == "drop_frames":
            self.drop_fraction = float(params.get("fraction", 0.5))
            self.drop_until_s = t_s + span
        elif event == "garbage":
            self.garbage_until_s = t_s + span
        elif event == "battery_flat":
            self.battery_pct = int(params.get("pct", FLAT_BATTERY_PCT))
        else:
            message = f"no such device fault {event!r}"
            raise ValueError(message)

    def mangle(self, frame: bytes, t_s: float) -> bytes | None:
        """A frame as it reaches the edge: dropped (``None``), noise, or as sent."""
        if t_s < self.drop_until_s and self.rng.random() < self.drop_fraction:
            return None
        if t_s < self.garbage_until_s:
            return self.rng.integers(0, 256, len(frame), dtype=np.uint8).tobytes()
        return frame


class _Paced:
    def __init__(self, device_id: str, speed: float, seed: int) -> None:
        if not speed > 0:
            message = f"speed must be positive, got {speed!r}"
            raise ValueError(message)
        self.device_id = device_id
        self.speed = speed
        self.faults = Faults(seed)
        self.t_s = 0.0
        self._origin: float | None = None

    @property
    def paused(self) -> bool:
        """Whether the device is off the air (a disconnect)."""
        return self.faults.offline

    @paused.setter
    def paused(self, value: bool) -> None:
        self.faults.offline = value

    def fault(self, event: TimelineEvent) -> None:
        """Start a fault from a scenario timeline event."""
        self.faults.apply(event.event, self.t_s, event.duration_s, dict(event.params))

    def _catch_up(self, loop: asyncio.AbstractEventLoop, skip: Callable[[float], object]) -> float:
        """The loop time of device second zero; skips whole seconds lost while disconnected."""
        if self._origin is None:
            self._origin = loop.time()
        behind_s = (loop.time() - self._origin) * self.speed - self.t_s
        if behind_s >= CHUNK_S:
            lost_s = math.floor(behind_s / CHUNK_S) * CHUNK_S
            skip(lost_s)
            self.t_s += lost_s
        return self._origin

    async def _tick(self, loop: asyncio.AbstractEventLoop, origin: float) -> None:
        self.t_s += CHUNK_S
        await asyncio.sleep(max(origin + self.t_s / self.speed - loop.time(), 0.0))


class FramedWearable(_Paced):
    """A chest wearable's GATT notifications from a simulated person.

    Args:
        device_id: the enrolled device id.
        stream: the person's physiology (seeded by the caller).
        speed: simulated seconds per wall-clock second.
        seed: seeds the faults' randomness.
        answers_checkin: whether the wearer presses the button when it buzzes.
        answer_delay_s: simulated seconds from the buzz to the press.
    """

    def __init__(
        self,
        device_id: str,
        stream: PhysiologyStream,
        speed: float = 1.0,
        *,
        seed: int = 0,
        answers_checkin: bool = True,
        answer_delay_s: float = 5.0,
    ) -> None:
        super().__init__(device_id, speed, seed)
        self.physiology = stream
        self.encoder = WearableEncoder()
        self.answers_checkin = answers_checkin
        self.answer_delay_s = answer_delay_s
        self.alerts: list[AlertLevel] = []
        self.streaming = False
        """True while the edge is receiving its notifications (connected)."""
        self._press_at_s: float | None = None
        self._sent_battery: int | None = None
        self._last_battery_s = -BATTERY_EVERY_S

    @property
    def buzzing(self) -> bool:
        """Whether the wearable is buzzing its wearer now (the last Alert Level written)."""
        return bool(self.alerts) and self.alerts[-1] is not AlertLevel.NO_ALERT

    async def notifications(self) -> AsyncIterator[tuple[str, bytes]]:
        """Notifications once a simulated second until cancelled; ``ConnectionError`` if dropped."""
        self.streaming = True
        try:
            async for notification in self._notifications():
                yield notification
        finally:
            self.streaming = False

    async def _notifications(self) -> AsyncIterator[tuple[str, bytes]]:
        loop = asyncio.get_running_loop()
        origin = self._catch_up(loop, self.physiology.advance)
        while True:
            chunk = self.physiology.advance(CHUNK_S)
            await self._tick(loop, origin)
            if self.faults.offline:
                message = "out of range"
                raise ConnectionError(message)
            out = self.encoder.chunk(chunk)
            if self._press_at_s is not None and self._press_at_s <= self.t_s:
                self._press_at_s = None
                out.append(self.encoder.button())
            battery = self.faults.battery_pct
            if battery != self._sent_battery or self.t_s - self._last_battery_s >= BATTERY_EVERY_S:
                self._sent_battery, self._last_battery_s = battery, self.t_s
                out.append(self.encoder.battery(battery))
            for uuid, frame in out:
                mangled = self.faults.mangle(frame, self.t_s)
                if mangled is not None:
                    yield uuid, mangled

    def press(self) -> None:
        """The wearer presses the button (sent with the next notifications)."""
        self._press_at_s = self.t_s

    async def write(self, uuid: str, data: bytes) -> bool:
        """A GATT write: Alert Level buzzes the wearer, who presses the button if they answer."""
        del uuid
        if self.faults.offline:
            return False
        try:
            level = decode_alert_level(data)
        except FrameError:
            return False
        self.alerts.append(level)
        if level is AlertLevel.NO_ALERT:
            self._press_at_s = None
        elif self.answers_checkin and self._press_at_s is None:
            self._press_at_s = self.t_s + self.answer_delay_s
        return True


class FramedRadar(_Paced):
    """A room radar writing its UART frames into a pseudo-terminal.

    Args:
        device_id: the enrolled device id.
        room: the room stream of the person the radar watches.
        model: ``"mr60bha1"`` or ``"ld2410"``.
        speed: simulated seconds per wall-clock second.
        seed: seeds the faults' randomness.
    """

    def __init__(
        self, device_id: str, room: RoomStream, model: str, speed: float = 1.0, *, seed: int = 0
    ) -> None:
        super().__init__(device_id, speed, seed)
        if model not in ("mr60bha1", "ld2410"):
            message = f"no radar model {model!r}"
            raise ValueError(message)
        self.room = room
        self.model = model
        self._mr60 = Mr60Encoder(RADAR_MOTION_THRESHOLD)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        """The serial port path the edge opens."""
        self.bytes_written = 0
        self.door_reports: asyncio.Queue[str] = asyncio.Queue()
        """The room's door contact, as zigbee2mqtt JSON, on every change (to publish)."""
        self._door: DoorState | None = None

    async def run(self) -> None:
        """Write frames once a simulated second until cancelled (nothing while offline)."""
        loop = asyncio.get_running_loop()
        origin = self._catch_up(loop, self.room.advance)
        while True:
            chunk = self.room.advance(CHUNK_S)
            await self._tick(loop, origin)
            self._report_door(chunk)
            if self.faults.offline:
                continue
            frames = self._mr60.chunk(chunk) if self.model == "mr60bha1" else ld2410_frames(chunk)
            data = b"".join(
                f for f in (self.faults.mangle(frame, self.t_s) for frame in frames) if f
            )
            with contextlib.suppress(BlockingIOError):  # nobody reading: the bytes are lost
                self.bytes_written += os.write(self._master, data)

    def _report_door(self, chunk: RoomChunk) -> None:
        values = np.asarray(chunk.door.values, dtype=float)
        if not np.isfinite(values).any():
            return
        door = DoorState.OPEN if np.nanmax(values) >= DOOR_OPEN_LEVEL else DoorState.CLOSED
        if door is not self._door:
            self._door = door
            report = ContactReport(
                door, battery_pct=DOOR_BATTERY_PCT, linkquality=DOOR_LINK_QUALITY
            )
            self.door_reports.put_nowait(encode_contact(report))

    def close(self) -> None:
        """Close both ends of the pseudo-terminal."""
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
