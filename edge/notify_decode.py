"""Wearable GATT notifications -> sample blocks, presses and battery: shared decoding (shell).

:class:`NotificationDecoder` is what :mod:`edge.ble` does with each notification's bytes: decode
by characteristic, count frames lost to garbage or sequence gaps, turn button frames into
:class:`~edge.transport.ButtonPress` and track the battery. :class:`NotificationLink` is a
:class:`~edge.transport.DeviceLink` over any other source of notifications — a BLE proxy, a
recording, or the simulators' framed wearable — so those bytes take exactly the same path.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Final, Protocol

from edge.supervisor import BackoffPolicy, LinkLost, supervise
from edge.transport import ButtonPress, DeviceStatus, LinkEvent, LinkState
from firmware_bridge import (
    AlertLevel,
    ButtonEvent,
    FrameError,
    decode_battery_level,
    decode_heart_rate,
    decode_plx_continuous,
    decode_wearable,
    encode_alert_level,
    frames_dropped,
    message_samples,
)
from firmware_bridge._wearable import DATA_CHAR_UUID
from firmware_bridge.samples import SampleBlock

_LOGGER = logging.getLogger(__name__)

# Bluetooth SIG 16-bit UUIDs on the base UUID (Assigned Numbers §3.8).
HEART_RATE_MEASUREMENT_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"
PLX_CONTINUOUS_UUID: Final = "00002a5f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"
ALERT_LEVEL_UUID: Final = "00002a06-0000-1000-8000-00805f9b34fb"
ODART_DATA_UUID: Final = DATA_CHAR_UUID
DATA_UUIDS: Final = (HEART_RATE_MEASUREMENT_UUID, PLX_CONTINUOUS_UUID, ODART_DATA_UUID)
DECODERS: Final[dict[str, Callable[[bytes], object]]] = {
    HEART_RATE_MEASUREMENT_UUID: decode_heart_rate,
    PLX_CONTINUOUS_UUID: decode_plx_continuous,
    ODART_DATA_UUID: decode_wearable,
}
"""How each data characteristic's notifications decode."""


class NotificationDecoder:
    """Per-device decoding state: sequence counter, frames lost, last battery reading."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.frames_dropped = 0
        self.battery_pct: int | None = None
        self._last_seq: int | None = None

    def data(
        self,
        decode: Callable[[bytes], object],
        data: bytes,
        now_s: float,
        fs_hz: float | None = None,
    ) -> list[SampleBlock | ButtonPress]:
        """What one data notification carries, received at ``now_s``; garbage is counted."""
        try:
            message = decode(data)
        except FrameError:
            self.frames_dropped += 1
            return []
        seq = getattr(message, "seq", None)
        if seq is not None:
            if self._last_seq is not None:
                self.frames_dropped += frames_dropped(self._last_seq, seq)
            self._last_seq = seq
        if isinstance(message, ButtonEvent):
            # Every kind of press counts: the wearer is answering, or calling for help.
            return [ButtonPress(self.device_id, now_s)]
        return list(message_samples(self.device_id, message, now_s, fs_hz=fs_hz))

    def battery(self, data: bytes) -> bool:
        """Take a Battery Level reading; ``True`` when it changed (worth a status)."""
        try:
            percent = decode_battery_level(data).percent
        except FrameError:
            return False
        changed = percent != self.battery_pct
        self.battery_pct = percent
        return changed


class NotificationSource(Protocol):
    """Anything that delivers a wearable's notifications and takes writes, like a GATT client."""

    def notifications(self) -> AsyncIterator[tuple[str, bytes]]:
        """``(characteristic uuid, value)`` pairs until the link drops (``ConnectionError``)."""
        ...

    async def write(self, uuid: str, data: bytes) -> bool:
        """Write a characteristic; ``False`` when not connected."""
        ...


class NotificationLink:
    """A :class:`~edge.transport.DeviceLink` (and buzzer) over a :class:`NotificationSource`.

    Args:
        device_id: the enrolled device.
        source: where the notifications come from.
        policy: reconnect backoff.
        clock: monotonic seconds, for sample times and statuses.
        jitter: uniform draws in [0, 1) for the backoff.
    """

    def __init__(
        self,
        device_id: str,
        source: NotificationSource,
        *,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.device_id = device_id
        self.source = source
        self._decoder = NotificationDecoder(device_id)
        self._policy = policy
        self._clock = clock
        self._jitter = jitter

    @property
    def frames_dropped(self) -> int:
        """Frames lost to garbage or sequence gaps so far."""
        return self._decoder.frames_dropped

    def _status(self) -> DeviceStatus:
        return DeviceStatus(
            self.device_id,
            LinkState.CONNECTED,
            self._clock(),
            battery_pct=self._decoder.battery_pct,
            frames_dropped=self.frames_dropped,
        )

    def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield samples, presses and status changes until cancelled, reconnecting as needed."""
        return supervise(
            self.device_id,
            self._session,
            policy=self._policy,
            clock=self._clock,
            jitter=self._jitter,
        )

    async def _session(self) -> AsyncIterator[LinkEvent]:
        yield self._status()
        try:
            async for uuid, data in self.source.notifications():
                if uuid == BATTERY_LEVEL_UUID:
                    if self._decoder.battery(data):
                        yield self._status()
                    continue
                decode = DECODERS.get(uuid)
                if decode is None:
                    continue
                for item in self._decoder.data(decode, data, self._clock()):
                    yield item
        except ConnectionError as error:
            message = f"connection lost: {error}"
            raise LinkLost(message) from error

    async def alert(self, level: AlertLevel) -> bool:
        """Write the Alert Level characteristic (buzz the wearer, or stop)."""
        return await self.source.write(ALERT_LEVEL_UUID, encode_alert_level(level))
