"""BLE links on bleak: one shared scanner, one supervised link per enrolled wearable (shell).

This is the only module that imports bleak. :class:`BleScanner` runs the site's single
``BleakScanner`` and remembers the latest advertisement of *enrolled* addresses only; everything
else is ignored without being logged. Each :class:`BleakDeviceLink` waits for its device to
advertise, connects through bleak-retry-connector, subscribes to every known data characteristic
(again after every reconnect), and turns notifications into sample blocks and button presses;
``alert()`` buzzes the wearer. Silence trips a watchdog, a drop becomes a "disconnected" status,
and :func:`edge.supervisor.supervise` retries with capped, jittered backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from edge.notify_decode import (
    ALERT_LEVEL_UUID,
    BATTERY_LEVEL_UUID,
    DATA_UUIDS,
    DECODERS,
    NotificationDecoder,
)
from edge.supervisor import BackoffPolicy, LinkLost, LinkSilent, Watchdog, supervise
from edge.transport import ButtonPress, DeviceStatus, LinkEvent, LinkState
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
    decode_pmd_data,
    encode_alert_level,
    encode_pmd_control,
)
from firmware_bridge.samples import SampleBlock

_LOGGER = logging.getLogger(__name__)

# Polar Measurement Data (polar-ble-sdk online_measurement.pdf): control point and data.
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
# Chest ACC from a Polar H10 at its lowest rate, 25 Hz, 16 bit, +/-2 G: breathing is below 1 Hz
# and moves the chest by far less than 1 g, so the finest range and slowest rate fit best
# (documentation/products/PolarH10.md: 25/50/100/200 Hz, 2/4/8 G).
PMD_ACC_FS_HZ: Final = 25
PMD_ACC_START: Final = PmdCommand(
    PmdOpCode.START,
    PmdMeasurementType.ACC,
    (
        PmdSetting(PmdSettingType.SAMPLE_RATE, (PMD_ACC_FS_HZ,)),
        PmdSetting(PmdSettingType.RESOLUTION, (16,)),
        PmdSetting(PmdSettingType.RANGE, (2,)),
    ),
)

# Heart rate notifies at 1 Hz and our wearable at >= 2 Hz; 10 s of silence is a lost link even
# when BlueZ has not noticed yet (its supervision timeout can take several seconds).
DEFAULT_NO_DATA_TIMEOUT_S: Final = 10.0
# How long a session waits for the device to advertise before counting a failed attempt.
DEFAULT_SCAN_WAIT_S: Final = 30.0
# bleak-retry-connector tries each connection for up to 20 s (its BLEAK_TIMEOUT); two tries, then
# our own backoff takes over. The outer bound covers its 60 s safety timeout.
CONNECT_ATTEMPTS: Final = 2
CONNECT_TIMEOUT_S: Final = 60.0
# A GATT read, subscribe or disconnect on a live link answers within a few connection intervals.
GATT_TIMEOUT_S: Final = 10.0
_DECODERS: Final = DECODERS


class BleScanner:
    """The site's one BLE scanner; remembers the latest advertisement of enrolled devices only.

    Share one instance between every :class:`BleakDeviceLink` of an adapter. It scans while any
    link is streaming (each ``stream()`` enters it) or while it is used as a context manager.
    """

    def __init__(self, enrolled_addresses: Iterable[str], *, adapter: str | None = None) -> None:
        """Prepare to scan for ``enrolled_addresses`` on ``adapter`` (e.g. ``"hci0"``)."""
        self._enrolled = frozenset(address.upper() for address in enrolled_addresses)
        self._bluez: dict[str, Any] = {"bluez": {"adapter": adapter}} if adapter else {}
        self._seen: dict[str, tuple[BLEDevice, int | None]] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self._scanner: BleakScanner | None = None
        self._users = 0
        self._start_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()
        """Held while connecting: concurrent ``Connect()`` on one controller fails InProgress."""

    @property
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every ``BleakClient`` on this adapter needs."""
        return dict(self._bluez)

    async def __aenter__(self) -> BleScanner:
        """Start scanning (if no link has started it already)."""
        async with self._start_lock:
            if self._users == 0:
                scanner = BleakScanner(
                    self._on_advertisement, scanning_mode="active", **self._bluez
                )
                async with asyncio.timeout(GATT_TIMEOUT_S):
                    await scanner.start()
                self._scanner = scanner
            self._users += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop scanning once the last user is done."""
        async with self._start_lock:
            self._users -= 1
            if self._users == 0 and self._scanner is not None:
                with contextlib.suppress(BleakError, TimeoutError):
                    async with asyncio.timeout(GATT_TIMEOUT_S):
                        await self._scanner.stop()
                self._scanner = None

    def _on_advertisement(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        address = device.address.upper()
        if address not in self._enrolled:
            return  # not ours: never connected, never logged
        self._seen[address] = (device, advertisement.rssi)
        self._event(address).set()

    def _event(self, address: str) -> asyncio.Event:
        return self._arrived.setdefault(address, asyncio.Event())

    def latest(self, address: str) -> BLEDevice | None:
        """The most recent advertisement's device handle for ``address``."""
        seen = self._seen.get(address.upper())
        return None if seen is None else seen[0]

    def rssi_dbm(self, address: str) -> int | None:
        """The most recent advertised RSSI for ``address``."""
        seen = self._seen.get(address.upper())
        return None if seen is None else seen[1]

    async def wait_for(self, address: str, timeout_s: float) -> BLEDevice:
        """Return the device once it has advertised at least once.

        Raises:
            LinkLost: it did not advertise within ``timeout_s``.
        """
        address = address.upper()
        try:
            async with asyncio.timeout(timeout_s):
                await self._event(address).wait()
        except TimeoutError:
            message = f"not advertising for {timeout_s} s"
            raise LinkLost(message) from None
        device = self.latest(address)
        assert device is not None  # the event is only set after storing it
        return device


_LOST: Final = object()


class BleakDeviceLink:
    """A :class:`~edge.transport.DeviceLink` for one enrolled BLE wearable."""

    def __init__(
        self,
        device_id: str,
        address: str,
        scanner: BleScanner,
        *,
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
        self.no_data_timeout_s = no_data_timeout_s
        self.scan_wait_s = scan_wait_s
        self._policy = policy
        self._clock = clock
        self._jitter = jitter
        self._decoder = NotificationDecoder(device_id)
        self.connections = 0
        self._client: BleakClient | None = None

    @property
    def frames_dropped(self) -> int:
        """Frames lost to garbage or sequence gaps so far."""
        return self._decoder.frames_dropped

    async def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield samples and status changes until cancelled, reconnecting as needed."""
        async with self._scanner:
            async for event in supervise(
                self.device_id,
                self._session,
                policy=self._policy,
                clock=self._clock,
                jitter=self._jitter,
            ):
                yield event

    def _status(self) -> DeviceStatus:
        return DeviceStatus(
            self.device_id,
            LinkState.CONNECTED,
            self._clock(),
            battery_pct=self._decoder.battery_pct,
            rssi_dbm=self._scanner.rssi_dbm(self.address),
            frames_dropped=self.frames_dropped,
        )

    async def _session(self) -> AsyncIterator[LinkEvent]:
        device = await self._scanner.wait_for(self.address, self.scan_wait_s)
        queue: asyncio.Queue[object] = asyncio.Queue()
        client = await self._connect(device, queue)
        self._client = client
        try:
            await self._subscribe(client, queue)
            yield self._status()
            watchdog = Watchdog(self.no_data_timeout_s, self._clock())
            while True:
                try:
                    async with asyncio.timeout(watchdog.remaining_s(self._clock())):
                        item = await queue.get()
                except TimeoutError:
                    message = f"no data for {self.no_data_timeout_s} s"
                    raise LinkSilent(message) from None
                if item is _LOST:
                    message = "disconnected"
                    raise LinkLost(message)
                if isinstance(item, SampleBlock):
                    watchdog.feed(self._clock())
                assert isinstance(item, SampleBlock | DeviceStatus | ButtonPress)
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
        if client is None or not client.is_connected:
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
        """Subscribe to every known characteristic the device has; read the battery first."""
        try:
            async with asyncio.timeout(GATT_TIMEOUT_S):
                battery = client.services.get_characteristic(BATTERY_LEVEL_UUID)
                if battery is not None and "read" in battery.properties:
                    self._on_battery(queue, battery, await client.read_gatt_char(battery))
                if battery is not None and "notify" in battery.properties:
                    await client.start_notify(battery, functools.partial(self._on_battery, queue))
                subscribed = 0
                for uuid in DATA_UUIDS:
                    char = client.services.get_characteristic(uuid)
                    if char is not None and {"notify", "indicate"} & set(char.properties):
                        callback = functools.partial(self._on_data, queue, _DECODERS[uuid], None)
                        await client.start_notify(char, callback)
                        subscribed += 1
                subscribed += await self._start_pmd(client, queue)
        except (BleakError, TimeoutError) as exc:
            message = f"subscribe failed: {exc.__class__.__name__}"
            raise LinkLost(message) from exc
        if not subscribed:
            # Services can be missing while the device restarts; retry rather than give up.
            message = "no known data characteristic"
            raise LinkLost(message)

    async def _start_pmd(self, client: BleakClient, queue: asyncio.Queue[object]) -> int:
        """Start Polar PMD accelerometer streaming if the device has PMD; return 1 if started.

        A sensor forgets its streams on disconnect, so this runs after every reconnect; "already
        in state" counts as started.
        """
        control = client.services.get_characteristic(PMD_CONTROL_UUID)
        data = client.services.get_characteristic(PMD_DATA_UUID)
        if control is None or data is None:
            return 0
        replies: asyncio.Queue[bytes] = asyncio.Queue()
        await client.start_notify(control, lambda _char, value: replies.put_nowait(bytes(value)))
        on_data = functools.partial(self._on_data, queue, decode_pmd_data, float(PMD_ACC_FS_HZ))
        await client.start_notify(data, on_data)
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
        return 1

    def _on_battery(
        self, queue: asyncio.Queue[object], _char: BleakGATTCharacteristic, data: bytearray
    ) -> None:
        if self._decoder.battery(bytes(data)):
            queue.put_nowait(self._status())

    def _on_data(
        self,
        queue: asyncio.Queue[object],
        decode: Callable[[bytes], object],
        fs_hz: float | None,
        _char: BleakGATTCharacteristic,
        data: bytearray,
    ) -> None:
        for item in self._decoder.data(decode, bytes(data), self._clock(), fs_hz):
            queue.put_nowait(item)
