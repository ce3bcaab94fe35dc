"""Which devices the edge runs, for whom: from its TOML or from the server's device list (pure).

An edge that has never received the server's retained ``devices`` command runs the devices its
TOML assigns to people (a site without a server). Once a list arrives it is authoritative: the
agent diffs it against what runs (:func:`plan`) and starts and stops links to match, without a
restart (docs/wire.md, "The device list").
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

from edge.config import DeviceConfig, EdgeConfig, LinkKind, VirtualDevice
from edge.device_config import device_from_entry
from firmware_bridge.wire import DeviceEntry

VIRTUAL_SEED_MOD: Final = 2**31
"""A listed virtual wearable is seeded from its id (CRC-32), so each one breathes differently
and the same id breathes the same way every time it is started."""


class RosterError(ValueError):
    """A listed device the edge cannot run.

    Attributes:
        device_id: the device.
        reason: why, safe to log.
    """

    def __init__(self, device_id: str, reason: str) -> None:
        self.device_id = device_id
        self.reason = reason
        super().__init__(f"device {device_id}: {reason}")


@dataclass(frozen=True, slots=True)
class Assignment:
    """One device the edge runs: its config and the resident it watches."""

    device: DeviceConfig
    participant: str
    room: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """What to change: devices to stop, then devices to start (a changed device is in both)."""

    stop: tuple[str, ...]
    start: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """Nothing to do (the same list again, e.g. the retained copy after a reconnect)."""
        return not self.stop and not self.start


def from_config(config: EdgeConfig) -> dict[str, Assignment]:
    """The devices the TOML assigns to people."""
    devices = {device.id: device for device in config.devices}
    return {
        device_id: Assignment(devices[device_id], person.participant, person.room)
        for person in config.people
        for device_id in person.devices
    }


def device_config(entry: DeviceEntry) -> DeviceConfig:
    """The ``[[devices]]`` entry a listed device stands for.

    Raises:
        RosterError: the edge's config rules refuse it.
    """
    try:
        device = device_from_entry(entry)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "device"
        raise RosterError(entry.device_id, f"{key}: {first['msg']}") from None
    if device.link is LinkKind.VIRTUAL:
        seed = zlib.crc32(entry.device_id.encode()) % VIRTUAL_SEED_MOD
        device = device.model_copy(update={"virtual": VirtualDevice(seed=seed)})
    return device


def from_list(entries: Iterable[DeviceEntry]) -> tuple[dict[str, Assignment], list[RosterError]]:
    """The assignments a device list asks for, and the entries that were refused."""
    wanted: dict[str, Assignment] = {}
    refused: list[RosterError] = []
    for entry in entries:
        try:
            device = device_config(entry)
        except RosterError as error:
            refused.append(error)
            continue
        wanted[entry.device_id] = Assignment(device, entry.participant_id, entry.room_id)
    return wanted, refused


def plan(running: Mapping[str, Assignment], wanted: Mapping[str, Assignment]) -> Plan:
    """Stop what is no longer wanted or has changed; start what is new or has changed."""
    changed = {d for d in running.keys() & wanted.keys() if running[d] != wanted[d]}
    stop = sorted((running.keys() - wanted.keys()) | changed)
    start = sorted((wanted.keys() - running.keys()) | changed)
    return Plan(tuple(stop), tuple(start))
