"""Wearable GATT notifications -> sample blocks, presses and battery: the one decode path (shell).

Each BLE model has a :class:`BleProfile`: exactly which characteristics carry its data, whether
it streams Polar PMD, whether it can ask its wearer (buzzer and button). :func:`decode_stream`
is the loop every wearable's bytes go through, real (:mod:`edge.ble`) or simulated
(:class:`NotificationLink` over the simulators' framed wearable): decode by characteristic,
count frames lost to garbage or sequence gaps, turn button frames into
:class:`~edge.transport.ButtonPress`, track the battery, and trip the no-data watchdog.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from edge.device_config import Model
from edge.supervisor import BackoffPolicy, LinkLost, LinkSilent, Watchdog, supervise
from edge.transport import ButtonPress, DeviceStatus, LinkEvent
from firmware_bridge import (
    AlertLevel,
    ButtonEvent,
    FrameError,
    decode_battery_level,
    decode_heart_rate,
    decode_plx_continuous,
    decode_plx_spot_check,
    decode_pmd_data,
    decode_wearable,
    encode_alert_level,
    frames_dropped,
    message_samples,
)
from firmware_bridge._wearable import DATA_CHAR_UUID
from firmware_bridge.samples import SampleBlock
from firmware_bridge.wire import DeviceState

_LOGGER = logging.getLogger(__name__)

# Bluetooth SIG 16-bit UUIDs on the base UUID (Assigned Numbers §3.8).
HEART_RATE_MEASUREMENT_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"
PLX_CONTINUOUS_UUID: Final = "00002a5f-0000-1000-8000-00805f9b34fb"
PLX_SPOT_CHECK_UUID: Final = "00002a5e-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"
ALERT_LEVEL_UUID: Final = "00002a06-0000-1000-8000-00805f9b34fb"
ODART_DATA_UUID: Final = DATA_CHAR_UUID
# Polar Measurement Data (polar-ble-sdk online_measurement.pdf): control point and data.
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
# Chest ACC from a Polar H10 at its lowest rate, 25 Hz, 16 bit, +/-2 G: breathing is below 1 Hz
# and moves the chest by far less than 1 g, so the finest range and slowest rate fit best
# (documentation/products/PolarH10.md: 25/50/100/200 Hz, 2/4/8 G).
PMD_ACC_FS_HZ: Final = 25
# Heart rate notifies at 1 Hz and our wearable at >= 2 Hz; 10 s of silence is a lost link even
# when BlueZ has not noticed yet (its supervision timeout can take several seconds).
DEFAULT_NO_DATA_TIMEOUT_S: Final = 10.0

Decode = Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class DataChar:
    """A characteristic a model streams data on.

    Attributes:
        uuid: the characteristic.
        decode: bytes -> message (raises ``FrameError`` on garbage).
        fs_hz: the sample rate when the frames do not carry it (Polar PMD); else ``None``.
        required: the link is not up without it (else: used when the device has it).
    """

    uuid: str
    decode: Decode
    fs_hz: float | None = None
    required: bool = True


@dataclass(frozen=True, slots=True)
class BleProfile:
    """What the edge does with one BLE model; nothing outside it is touched.

    Attributes:
        model: the model.
        data: the characteristics it streams on; at least one must be there.
        pmd_acc: start Polar PMD accelerometer streaming after each connect.
        checkin: it can ask its wearer (Immediate Alert buzzer plus a button on the data).
    """

    model: Model
    data: tuple[DataChar, ...]
    pmd_acc: bool = False
    checkin: bool = False

    @property
    def decoders(self) -> dict[str, DataChar]:
        """Data characteristics by UUID."""
        return {char.uuid: char for char in self.data}


_HR: Final = DataChar(HEART_RATE_MEASUREMENT_UUID, decode_heart_rate)
PROFILES: Final[Mapping[Model, BleProfile]] = {
    # The H10's breathing signal is PMD ACC; its 0x2A37 heart rate is a second opinion.
    Model.POLAR_H10: BleProfile(
        Model.POLAR_H10,
        (
            DataChar(PMD_DATA_UUID, decode_pmd_data, float(PMD_ACC_FS_HZ)),
            DataChar(HEART_RATE_MEASUREMENT_UUID, decode_heart_rate, required=False),
        ),
        pmd_acc=True,
    ),
    Model.BLE_HR: BleProfile(Model.BLE_HR, (_HR,)),
    # Oximeters offer continuous (notify) or spot-check (indicate) readings, often only one.
    Model.BLE_PLX: BleProfile(
        Model.BLE_PLX,
        (
            DataChar(PLX_CONTINUOUS_UUID, decode_plx_continuous, required=False),
            DataChar(PLX_SPOT_CHECK_UUID, decode_plx_spot_check, required=False),
        ),
    ),
    Model.ODART_WEARABLE: BleProfile(
        Model.ODART_WEARABLE,
        (
            DataChar(ODART_DATA_UUID, decode_wearable),
            DataChar(HEART_RATE_MEASUREMENT_UUID, decode_heart_rate, required=False),
            DataChar(PLX_CONTINUOUS_UUID, decode_plx_continuous, required=False),
        ),
        checkin=True,
    ),
}
"""Every BLE model the config may name (:class:`edge.device_config.Model`)."""


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


async def decode_stream(
    decoder: NotificationDecoder,
    profile: BleProfile,
    notifications: AsyncIterator[tuple[str, bytes]],
    *,
    status: Callable[[], DeviceStatus],
    no_data_timeout_s: float,
    clock: Callable[[], float],
) -> AsyncIterator[LinkEvent]:
    """Decode one connection's notifications until it ends; the watchdog raises on silence.

    Args:
        decoder: the device's decoding state (kept across reconnects).
        profile: which characteristics mean what; any other is ignored.
        notifications: ``(characteristic uuid, value)`` pairs; ends or raises when the link
            drops (the caller's concern).
        status: the device's status now (sent when the battery changes).
        no_data_timeout_s: no sample for this long raises :class:`~edge.supervisor.LinkSilent`.
        clock: monotonic seconds, for sample times and the watchdog.
    """
    chars = profile.decoders
    watchdog = Watchdog(no_data_timeout_s, clock())
    items = aiter(notifications)
    try:
        while True:
            try:
                async with asyncio.timeout(watchdog.remaining_s(clock())):
                    uuid, value = await anext(items)
            except StopAsyncIteration:
                message = "notifications ended"
                raise LinkLost(message) from None
            except TimeoutError:
                message = f"no data for {no_data_timeout_s} s"
                raise LinkSilent(message) from None
            if uuid == BATTERY_LEVEL_UUID:
                if decoder.battery(value):
                    yield status()
                continue
            char = chars.get(uuid)
            if char is None:
                continue  # not part of this model: never decoded
            now_s = clock()
            for item in decoder.data(char.decode, value, now_s, char.fs_hz):
                if isinstance(item, SampleBlock):
                    watchdog.feed(now_s)
                yield item
    finally:
        # Closed here, not whenever it is collected: the source stops sending at once.
        await _close_source(items)


async def _close_source(items: AsyncIterator[tuple[str, bytes]]) -> None:
    """Close an async generator source (other iterators have nothing to close)."""
    close = getattr(items, "aclose", None)
    if close is not None:
        await close()


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

    The simulators' framed wearable runs through this, so a simulated night exercises the
    decoding and watchdog a real BLE wearable goes through.

    Args:
        device_id: the enrolled device.
        source: where the notifications come from.
        profile: the model it speaks (ODART's wearable by default).
        no_data_timeout_s: connected but no sample this long: "no data", reconnect.
        policy: reconnect backoff.
        clock: monotonic seconds, for sample times and statuses.
        jitter: uniform draws in [0, 1) for the backoff.
    """

    def __init__(
        self,
        device_id: str,
        source: NotificationSource,
        *,
        profile: BleProfile = PROFILES[Model.ODART_WEARABLE],
        no_data_timeout_s: float = DEFAULT_NO_DATA_TIMEOUT_S,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.device_id = device_id
        self.source = source
        self.profile = profile
        self.no_data_timeout_s = no_data_timeout_s
        self._decoder = NotificationDecoder(device_id)
        self._policy = policy
        self._clock = clock
        self._jitter = jitter

    @property
    def checkin_possible(self) -> bool:
        """Whether the device can ask its wearer "are you OK?"."""
        return self.profile.checkin

    @property
    def frames_dropped(self) -> int:
        """Frames lost to garbage or sequence gaps so far."""
        return self._decoder.frames_dropped

    def _status(self) -> DeviceStatus:
        return DeviceStatus(
            self.device_id,
            DeviceState.CONNECTED,
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
            async for item in decode_stream(
                self._decoder,
                self.profile,
                self.source.notifications(),
                status=self._status,
                no_data_timeout_s=self.no_data_timeout_s,
                clock=self._clock,
            ):
                yield item
        except ConnectionError as error:
            message = f"connection lost: {error}"
            raise LinkLost(message) from error

    async def alert(self, level: AlertLevel) -> bool:
        """Write the Alert Level characteristic (buzz the wearer, or stop)."""
        if not self.profile.checkin:
            return False
        return await self.source.write(ALERT_LEVEL_UUID, encode_alert_level(level))
