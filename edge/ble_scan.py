"""``odart edge scan``: list nearby BLE devices and the model each one looks like (shell).

One active scan with bleak; each advertiser becomes a :class:`Sighting` (name, address, RSSI,
advertised services) with the model :func:`recognise` makes of it, for an operator choosing what
to enrol. The result is returned to the caller to print; nothing here logs an address, so an
unenrolled passer-by's device leaves no trace beyond the operator's own terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from firmware_bridge._wearable import SERVICE_UUID as ODART_SERVICE_UUID
from firmware_bridge.wire import DeviceModel

_BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
HEART_RATE_SERVICE_UUID: Final = "0000180d" + _BASE_UUID_SUFFIX
PULSE_OXIMETER_SERVICE_UUID: Final = "00001822" + _BASE_UUID_SUFFIX
PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
"""Advertised services that identify a model (Bluetooth SIG Assigned Numbers; Polar's PMD)."""
POLAR_H10_NAME_PREFIX: Final = "Polar H10"
"""An H10 advertises only the Heart Rate service; its name ("Polar H10 1A2B3C4D") tells it apart."""
DEFAULT_SCAN_S: Final = 10.0
"""Wearables advertise every 0.1-2 s; 10 s catches a slow advertiser several times over."""


class ScanError(Exception):
    """The scan could not run: no adapter, BlueZ not running, or no D-Bus."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One advertiser seen during a scan.

    Attributes:
        address: its Bluetooth address.
        name: its advertised local name, if any.
        rssi_dbm: signal strength of its latest advertisement.
        services: advertised service UUIDs (128-bit, lower case).
        model: the model it looks like, or ``None`` when it is none the edge speaks.
    """

    address: str
    name: str | None
    rssi_dbm: int
    services: tuple[str, ...]
    model: DeviceModel | None


def recognise(name: str | None, services: tuple[str, ...]) -> DeviceModel | None:
    """The model an advertisement looks like, from its name and services (pure)."""
    uuids = {uuid.lower() for uuid in services}
    if ODART_SERVICE_UUID.lower() in uuids:
        return DeviceModel.ODART_WEARABLE
    if PMD_SERVICE_UUID in uuids or (name or "").startswith(POLAR_H10_NAME_PREFIX):
        return DeviceModel.POLAR_H10
    if PULSE_OXIMETER_SERVICE_UUID in uuids:
        return DeviceModel.BLE_PLX
    if HEART_RATE_SERVICE_UUID in uuids:
        return DeviceModel.BLE_HR
    return None


def short_uuid(uuid: str) -> str:
    """A SIG UUID as its 16-bit short form (``0x180d``); others unchanged (pure)."""
    uuid = uuid.lower()
    if uuid.endswith(_BASE_UUID_SUFFIX) and uuid.startswith("0000"):
        return "0x" + uuid[4:8]
    return uuid


async def scan(duration_s: float = DEFAULT_SCAN_S, adapter: str | None = None) -> list[Sighting]:
    """Scan for ``duration_s`` on ``adapter``; the strongest first.

    Raises:
        ScanError: Bluetooth is not available here.
    """
    from bleak import BleakScanner
    from bleak.exc import BleakError

    kwargs: dict[str, Any] = {"bluez": {"adapter": adapter}} if adapter else {}
    try:
        found = await BleakScanner.discover(timeout=duration_s, return_adv=True, **kwargs)
    except (BleakError, OSError, EOFError) as error:
        message = f"Bluetooth unavailable ({error.__class__.__name__}: {error})"
        raise ScanError(message) from error
    sightings = []
    for device, advertisement in found.values():
        name = advertisement.local_name or device.name
        services = tuple(sorted(uuid.lower() for uuid in advertisement.service_uuids))
        sightings.append(
            Sighting(
                device.address.upper(),
                name,
                advertisement.rssi,
                services,
                recognise(name, services),
            )
        )
    return sorted(sightings, key=lambda s: (-s.rssi_dbm, s.address))


def format_table(sightings: list[Sighting]) -> list[str]:
    """The sightings as aligned text lines for a terminal (pure)."""
    rows = [("ADDRESS", "RSSI", "MODEL", "NAME", "SERVICES")]
    for s in sightings:
        rows.append(
            (
                s.address,
                f"{s.rssi_dbm} dBm",
                s.model.value if s.model else "-",
                s.name or "-",
                " ".join(short_uuid(uuid) for uuid in s.services) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
