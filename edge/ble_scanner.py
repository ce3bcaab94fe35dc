"""The site's one BLE scanner on bleak: the latest advertisement of each enrolled wearable (shell).

:class:`BleScanner` runs the site's single ``BleakScanner`` and remembers the latest
advertisement of *enrolled* addresses only; everything else is ignored without being logged.
Every :class:`~edge.ble.BleakDeviceLink` on an adapter shares it, for the device handle and RSSI
last advertised, the ``BleakClient`` keyword arguments and the lock that serialises connects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any, Final

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from edge.supervisor import LinkLost

__all__ = [
    "GATT_TIMEOUT_S",
    "BleScanner",
]

# A GATT read, subscribe or disconnect on a live link answers within a few connection intervals.
GATT_TIMEOUT_S: Final = 10.0


class BleScanner:
    """The site's one BLE scanner; remembers the latest advertisement of enrolled devices only.

    Share one instance between every :class:`~edge.ble.BleakDeviceLink` of an adapter. It scans
    while any link is streaming (each ``stream()`` enters it) or while it is used as a context
    manager.
    """

    def __init__(
        self, enrolled_addresses: Iterable[str] = (), *, adapter: str | None = None
    ) -> None:
        """Prepare to scan for ``enrolled_addresses`` on ``adapter`` (e.g. ``"hci0"``)."""
        self._enrolled = {address.upper() for address in enrolled_addresses}
        self._bluez: dict[str, Any] = {"bluez": {"adapter": adapter}} if adapter else {}
        self._seen: dict[str, tuple[BLEDevice, int | None]] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self._scanner: BleakScanner | None = None
        self._users = 0
        self._start_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()
        """Held while connecting: concurrent ``Connect()`` on one controller fails InProgress."""

    def enrol(self, address: str) -> None:
        """Start remembering ``address``'s advertisements (a device enrolled while running)."""
        self._enrolled.add(address.upper())

    def forget(self, address: str) -> None:
        """Stop remembering ``address`` and drop what was seen of it."""
        address = address.upper()
        self._enrolled.discard(address)
        self._seen.pop(address, None)
        self._arrived.pop(address, None)

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
