"""The device list the server sends an edge: one entry per enrolled device (pure).

The panel's enrolment is the single source of truth for which devices an edge runs. The server
sends each edge a retained ``devices`` command whose ``devices`` array holds a
:class:`DeviceEntry` per device: its id, model, the connection detail the model needs, and the
pseudonym and room of the resident it watches. Names and health data never travel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from firmware_bridge._checks import _check_id, _enum, _optional_str, _str
from firmware_bridge.errors import WireError

MAX_DEVICES: Final = 40
"""Entries in one device list. A Pi's Bluetooth controller holds about ten connections, so an
edge runs far fewer; the 4096-byte payload cap binds first (about 30 entries with MAC
addresses), and the server logs and counts a list that does not fit."""

MAX_ADDRESS_CHARS: Final = 64
"""A MAC address, a serial device path, a GPIO pin or a zigbee2mqtt friendly name all fit."""

MAC_PATTERN: Final = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
"""A Bluetooth device address, as BlueZ and bleak write it."""

_ADDRESS_PATTERN: Final = re.compile(r"^[\x21-\x7e][\x20-\x7e]*$")
"""Printable ASCII that does not start with a space: paths, pins and zigbee2mqtt names."""


class DeviceModel(StrEnum):
    """What a device is; the edge builds its link from the model (nothing is probed)."""

    POLAR_H10 = "polar_h10"
    """Polar H10 chest strap: PMD accelerometer (breathing) plus heart rate."""
    BLE_HR = "ble_hr"
    """Any standard Bluetooth heart-rate sensor (0x2A37)."""
    BLE_PLX = "ble_plx"
    """A standard Bluetooth pulse oximeter (0x2A5F, and 0x2A5E spot-checks)."""
    ODART_WEARABLE = "odart_wearable"
    """The project's own wearable: breathing, SpO2, a button and a buzzer."""
    MR60BHA1 = "mr60bha1"
    """Seeed 60 GHz breathing radar on a serial port."""
    LD2410 = "ld2410"
    """HLK-LD2410 24 GHz presence radar on a serial port."""
    GPIO_DOOR = "gpio_door"
    """A reed switch on a Raspberry Pi GPIO pin."""
    Z2M_DOOR = "z2m_door"
    """A Zigbee door contact reported by zigbee2mqtt."""
    VIRTUAL = "virtual"
    """A simulated wearable (demonstrations and tests); it answers a check-in."""


class DeviceRole(StrEnum):
    """What a device watches: the person or their room."""

    WEARABLE = "wearable"
    RADAR = "radar"
    DOOR = "door"


MODEL_ROLE: Final[Mapping[DeviceModel, DeviceRole]] = {
    DeviceModel.POLAR_H10: DeviceRole.WEARABLE,
    DeviceModel.BLE_HR: DeviceRole.WEARABLE,
    DeviceModel.BLE_PLX: DeviceRole.WEARABLE,
    DeviceModel.ODART_WEARABLE: DeviceRole.WEARABLE,
    DeviceModel.MR60BHA1: DeviceRole.RADAR,
    DeviceModel.LD2410: DeviceRole.RADAR,
    DeviceModel.GPIO_DOOR: DeviceRole.DOOR,
    DeviceModel.Z2M_DOOR: DeviceRole.DOOR,
    DeviceModel.VIRTUAL: DeviceRole.WEARABLE,
}
"""Each model watches one thing; the role follows from the model and is not sent."""

CHECKIN_MODELS: Final = frozenset({DeviceModel.ODART_WEARABLE, DeviceModel.VIRTUAL})
"""Models with a buzzer and a button, so the edge can ask the wearer "are you OK?". The H10 and
standard HR and PLX sensors have neither: a warning from them pages at once."""

BLE_MODELS: Final = frozenset(
    {DeviceModel.POLAR_H10, DeviceModel.BLE_HR, DeviceModel.BLE_PLX, DeviceModel.ODART_WEARABLE}
)
"""Models reached over Bluetooth LE: their address is a MAC address."""


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One enrolled device in an edge's device list.

    Attributes:
        device_id: the device's id (as in every message about it).
        model: what it is; the edge builds its link from this.
        participant_id: the pseudonym of the resident it watches (never a name).
        room_id: the resident's room, if known.
        address: how to reach it: a MAC address (BLE models), a serial device (radars), a GPIO
            pin (``gpio_door``) or the zigbee2mqtt friendly name (``z2m_door``); none for
            ``virtual``.
    """

    device_id: str
    model: DeviceModel
    participant_id: str
    room_id: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        _check_id("device", self.device_id)
        _check_id("participant", self.participant_id)
        if self.room_id is not None:
            _check_id("room", self.room_id)
        if not isinstance(self.model, DeviceModel):
            raise WireError("model", "not a known device model")
        if self.model is DeviceModel.VIRTUAL:
            if self.address is not None:
                raise WireError("address", "a virtual device has no address")
            return
        if self.address is None:
            raise WireError("address", f"a {self.model.value} device needs an address")
        if len(self.address) > MAX_ADDRESS_CHARS or not _ADDRESS_PATTERN.fullmatch(self.address):
            raise WireError("address", f"must be 1-{MAX_ADDRESS_CHARS} printable characters")
        if self.model in BLE_MODELS and not MAC_PATTERN.fullmatch(self.address):
            raise WireError("address", "must be a Bluetooth address like A0:9E:1A:12:34:56")

    @property
    def role(self) -> DeviceRole:
        """What the device watches."""
        return MODEL_ROLE[self.model]

    @property
    def can_check_in(self) -> bool:
        """Whether the device can buzz its wearer and hear their button."""
        return self.model in CHECKIN_MODELS


def entry_to_json(entry: DeviceEntry) -> dict[str, Any]:
    """One entry as JSON; absent room and address are left out to save bytes."""
    document: dict[str, Any] = {
        "id": entry.device_id,
        "model": entry.model.value,
        "participant": entry.participant_id,
    }
    if entry.room_id is not None:
        document["room"] = entry.room_id
    if entry.address is not None:
        document["address"] = entry.address
    return document


def entries_from_json(raw: object) -> tuple[DeviceEntry, ...]:
    """A ``devices`` array read back; raises :class:`WireError` naming the bad item."""
    if not isinstance(raw, list):
        raise WireError("body.devices", "not a JSON array")
    if len(raw) > MAX_DEVICES:
        raise WireError("body.devices", f"more than {MAX_DEVICES} items")
    entries = []
    for index, item in enumerate(raw):
        where = f"body.devices.{index}"
        if not isinstance(item, dict):
            raise WireError(where, "not a JSON object")
        unknown = sorted(set(item) - {"id", "model", "participant", "room", "address"})
        if unknown:
            raise WireError(f"{where}.{unknown[0]}", "unknown key")
        try:
            entries.append(
                DeviceEntry(
                    device_id=_str(item, "id"),
                    model=_enum(DeviceModel, item.get("model"), "model"),
                    participant_id=_str(item, "participant"),
                    room_id=_optional_str(item, "room"),
                    address=_optional_str(item, "address"),
                )
            )
        except WireError as error:
            raise WireError(f"{where}.{error.field}", error.reason) from None
    return tuple(entries)
