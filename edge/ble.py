"""BLE wearable links on bleak: one supervised GATT connection per enrolled wearable (shell).

With :mod:`edge.ble_scanner` (the shared scanner) and :mod:`edge.ble_scan` (the installer's
scan), the only modules that import bleak. Each :class:`BleakDeviceLink` waits for its device to
advertise on the site's :class:`~edge.ble_scanner.BleScanner` (re-exported here), connects through
bleak-retry-connector, subscribes to exactly its model's characteristics
(:data:`edge.notify_decode.PROFILES`; again after every reconnect, starting Polar PMD where the
model has it) and hands the notifications to :func:`edge.notify_decode.decode_stream`, the decode
and no-data watchdog every wearable goes through; ``alert()`` buzzes a wearer whose device can
ask. A drop becomes a "disconnected" status, and :func:`edge.supervisor.supervise` retries with
capped, jittered backoff; Bluetooth missing on the machine is retried the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Final

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from edge.ble_scanner import GATT_TIMEOUT_S, BleScanner
from edge.device_config import Model
from edge.notify_decode import (
    ALERT_LEVEL_UUID,
    BATTERY_LEVEL_UUID,
    DEFAULT_NO_DATA_TIMEOUT_S,
    PMD_ACC_FS_HZ,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PROFILES,
    BleProfile,
    NotificationDecoder,
    decode_stream,
)
from edge.supervisor import BackoffPolicy, LinkLost, supervise
from edge.transport import DeviceStatus, LinkEvent
from firmware_bridge import (
    AlertLevel,
    FrameError,
    PmdCommand,
    PmdMeasurementType,
    PmdOpCode,
    PmdResponse,
    PmdSetting,
    PmdSettingType,
    decode_pmd_control,
    encode_alert_level,
    encode_pmd_control,
)
from firmware_bridge.wire import DeviceState

__all__ = [
    "DEFAULT_NO_DATA_TIMEOUT_S",
    "PMD_ACC_FS_HZ",
    "PMD_ACC_START",
    "PMD_CONTROL_UUID",
    "PMD_DATA_UUID",
    "BleScanner",
    "BleakDeviceLink",
]

_LOGGER = logging.getLogger(__name__)

PMD_ACC_START: Final = PmdCommand(
    PmdOpCode.START,
    PmdMeasurementType.ACC,
    (
        PmdSetting(PmdSettingType.SAMPLE_RATE, (PMD_ACC_FS_HZ,)),
        PmdSetting(PmdSettingType.RESOLUTION, (16,)),
        PmdSetting(PmdSettingType.RANGE, (2,)),
    ),
)

# How long a session waits for the device to advertise before counting a failed attempt.
DEFAULT_SCAN_WAIT_S: Final = 30.0
# bleak-retry-connector tries each connection for up to 20 s (its BLEAK_TIMEOUT); two tries, then
# our own backoff takes over. The outer bound covers its 60 s safety timeout.
CONNECT_ATTEMPTS: Final = 2
CONNECT_TIMEOUT_S: Final = 60.0


_LOST: Final = object()


class BleakDeviceLink:
    """A :class:`~edge.transport.DeviceLink` for one enrolled BLE wearable of a known model."""

    def __init__(
        self,
        device_id: str,
        address: str,
        scanner: BleScanner,
        *,
        profile: BleProfile = PROFILES[Model.ODART_WEARABLE],
        no_data_timeout_s: float = DEFAULT_NO_DATA_TIMEOUT_S,
        scan_wait_s: float = DEFAULT_SCAN_WAIT_S,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Describe the link; nothing connects until :meth:`stream` runs."""
        self.device_id = device_id
        self.address = address.upper()
        self._scanner = scanner
        self.profile = profile
        self.no_data_timeout_s = no_data_timeout_s
        self.scan_wait_s = scan_wait_s
        self._policy = policy
        self._clock = clock
        self._jitter = jitter
        self._decoder = NotificationDecoder(device_id)
        self.connections = 0
        self._client: BleakClient | None = None

    @property
    def checkin_possible(self) -> bool:
        """Whether the device can ask its wearer "are you OK?" (buzzer and button)."""
        return self.profile.checkin

    @property
    def frames_dropped(self) -> int:
        """Frames lost to garbage or sequence gaps so far."""
        return self._decoder.frames_dropped

    async def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield samples and status changes until cancelled, reconnecting as needed.

        The scanner remembers this device's advertisements only while its link runs.
        """
        self._scanner.enrol(self.address)
        try:
            async for event in supervise(
                self.device_id,
                self._session,
                policy=self._policy,
                clock=self._clock,
                jitter=self._jitter,
            ):
                yield event
        finally:
            self._scanner.forget(self.address)

    def _status(self) -> DeviceStatus:
        return DeviceStatus(
            self.device_id,
            DeviceState.CONNECTED,
            self._clock(),
            battery_pct=self._decoder.battery_pct,
            rssi_dbm=self._scanner.rssi_dbm(self.address),
            frames_dropped=self.frames_dropped,
        )

    async def _session(self) -> AsyncIterator[LinkEvent]:
        try:
            await self._scanner.__aenter__()
        except (BleakError, OSError, EOFError, TimeoutError) as exc:
            # No adapter, BlueZ not running, no D-Bus: the site's Bluetooth is down, not the
            # device; retried like any loss so the link comes up once Bluetooth does.
            message = f"Bluetooth unavailable: {exc.__class__.__name__}: {exc}"
            raise LinkLost(message) from exc
        try:
            async for event in self._connected_session():
                yield event
        finally:
            await self._scanner.__aexit__(None, None, None)

    async def _connected_session(self) -> AsyncIterator[LinkEvent]:
        device = await self._scanner.wait_for(self.address, self.scan_wait_s)
        queue: asyncio.Queue[object] = asyncio.Queue()
        client = await self._connect(device, queue)
        self._client = client
        try:
            await self._subscribe(client, queue)
            yield self._status()
            async for item in decode_stream(
                self._decoder,
                self.profile,
                _drain(queue),
                status=self._status,
                no_data_timeout_s=self.no_data_timeout_s,
                clock=self._clock,
            ):
                yield item
        finally:
            self._client = None
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                async with asyncio.timeout(GATT_TIMEOUT_S):
                    await client.disconnect()

    async def alert(self, level: AlertLevel) -> bool:
        """Make the wearable buzz: write ``level`` to its Immediate Alert service (0x2A06).

        Returns:
            ``True`` if written; ``False`` if the device is not connected right now or has no
            Immediate Alert service. Never raises for a device that misbehaves.
        """
        client = self._client
        if not self.profile.checkin or client is None or not client.is_connected:
            return False
        char = client.services.get_characteristic(ALERT_LEVEL_UUID)
        if char is None:
            return False
        try:
            async with asyncio.timeout(GATT_TIMEOUT_S):
                # IAS defines Alert Level as write-without-response (IAS 1.0 §3.1).
                await client.write_gatt_char(char, encode_alert_level(level), response=False)
        except (BleakError, TimeoutError) as exc:
            _LOGGER.warning("device %s: alert not written: %s", self.device_id, exc)
            return False
        return True

    async def _connect(self, device: BLEDevice, queue: asyncio.Queue[object]) -> BleakClient:
        def lost(_client: BleakClient) -> None:
            queue.put_nowait(_LOST)

        async with self._scanner.connect_lock:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    client = await establish_connection(
                        BleakClient,
                        device,
                        self.device_id,
                        disconnected_callback=lost,
                        max_attempts=CONNECT_ATTEMPTS,
                        ble_device_callback=lambda: self._scanner.latest(self.address) or device,
                        use_services_cache=False,
                        **self._scanner.client_kwargs,
                    )
            except (BleakError, TimeoutError) as exc:
                message = f"connect failed: {exc.__class__.__name__}"
                raise LinkLost(message) from exc
        self.connections += 1
        _LOGGER.info("device %s: connected (#%d)", self.device_id, self.connections)
        return client

    async def _subscribe(self, client: BleakClient, queue: asyncio.Queue[object]) -> None:
        """Read the battery, subscribe to the profile's characteristics, start PMD if it has it."""
        try:
            async with asyncio.timeout(GATT_TIMEOUT_S):
                battery = client.services.get_characteristic(BATTERY_LEVEL_UUID)
                if battery is not None and "read" in battery.properties:
                    self._decoder.battery(bytes(await client.read_gatt_char(battery)))
                if battery is not None and "notify" in battery.properties:
                    await client.start_notify(battery, functools.partial(_enqueue, queue))
                subscribed = 0
                for wanted in self.profile.data:
                    char = client.services.get_characteristic(wanted.uuid)
                    if char is None or not {"notify", "indicate"} & set(char.properties):
                        if wanted.required:
                            message = f"{self.profile.model} without {wanted.uuid}"
                            raise LinkLost(message)
                        continue
                    if wanted.uuid != PMD_DATA_UUID:
                        await client.start_notify(char, functools.partial(_enqueue, queue))
                        subscribed += 1
                if self.profile.pmd_acc:
                    await self._start_pmd(client, queue)
                    subscribed += 1
        except (BleakError, TimeoutError) as exc:
            message = f"subscribe failed: {exc.__class__.__name__}"
            raise LinkLost(message) from exc
        if not subscribed:
            # Services can be missing while the device restarts; retry rather than give up.
            message = f"none of the {self.profile.model} data characteristics"
            raise LinkLost(message)

    async def _start_pmd(self, client: BleakClient, queue: asyncio.Queue[object]) -> None:
        """Start Polar PMD accelerometer streaming.

        A sensor forgets its streams on disconnect, so this runs after every reconnect; "already
        in state" counts as started.
        """
        control = client.services.get_characteristic(PMD_CONTROL_UUID)
        data = client.services.get_characteristic(PMD_DATA_UUID)
        if control is None or data is None:
            message = "Polar PMD service missing"
            raise LinkLost(message)
        replies: asyncio.Queue[bytes] = asyncio.Queue()
        await client.start_notify(control, lambda _char, value: replies.put_nowait(bytes(value)))
        await client.start_notify(data, functools.partial(_enqueue, queue))
        await client.write_gatt_char(control, encode_pmd_control(PMD_ACC_START), response=True)
        while True:  # bounded by the caller's GATT timeout
            try:
                reply = decode_pmd_control(await replies.get())
            except FrameError:
                continue
            if isinstance(reply, PmdResponse) and reply.op is PmdOpCode.START:
                break
        if not reply.ok:
            message = f"PMD start refused: {reply.status.name}"
            raise LinkLost(message)


def _enqueue(queue: asyncio.Queue[object], char: BleakGATTCharacteristic, data: bytearray) -> None:
    queue.put_nowait((char.uuid, bytes(data)))


async def _drain(queue: asyncio.Queue[object]) -> AsyncIterator[tuple[str, bytes]]:
    """The notifications a connection's callbacks queued, until the disconnect marker."""
    while True:
        item = await queue.get()
        if item is _LOST:
            message = "disconnected"
            raise LinkLost(message)
        assert isinstance(item, tuple)  # only _enqueue and the battery read put anything else
        yield item
