"""Door contacts: a GPIO reed switch level and zigbee2mqtt contact-sensor JSON (pure).

A reed switch wired to ground with the internal pull-up reads *low* while the magnet holds it
closed. zigbee2mqtt publishes ``{"contact": true, ...}`` on ``zigbee2mqtt/<name>`` where
``contact: true`` means **closed** (magnet present), per the zigbee2mqtt device pages (Tuya ZD06,
TS0203, ...): "Indicates if the contact is closed (= true) or open (= false)".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Final

from firmware_bridge.errors import MalformedFrame

ZIGBEE2MQTT_CODEC: Final = "zigbee2mqtt"
# zigbee2mqtt's linkquality is an LQI, 0-255.
LINKQUALITY_MAX: Final = 255
# zigbee2mqtt's battery is a percentage.
BATTERY_MAX_PCT: Final = 100


class DoorState(Enum):
    """Whether a door is open; ``value`` is the :data:`Channel.DOOR` sample (1 open, 0 closed)."""

    OPEN = 1.0
    CLOSED = 0.0


@dataclass(frozen=True, slots=True)
class ContactReport:
    """One zigbee2mqtt contact-sensor state message (unknown keys are ignored).

    Attributes:
        door: open or closed, or ``None`` if the message has no ``contact`` key.
        battery_pct: battery percentage, if sent.
        linkquality: Zigbee link quality 0-255, if sent.
        tamper: the tamper switch, if sent.
    """

    door: DoorState | None
    battery_pct: int | None = None
    linkquality: int | None = None
    tamper: bool | None = None


def door_from_gpio(level_high: bool, *, closed_level_high: bool = False) -> DoorState:
    """Read a reed-switch GPIO level as a door state.

    Args:
        level_high: the pin reads high.
        closed_level_high: the level of a closed contact; low with the usual pull-up wiring.
    """
    return DoorState.CLOSED if level_high == closed_level_high else DoorState.OPEN


def _opt_bool(data: dict[str, object], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    message = f"{key} must be true or false, got {type(value).__name__}"
    raise MalformedFrame(ZIGBEE2MQTT_CODEC, message)


def _opt_int(data: dict[str, object], key: str, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    # bool is an int subclass; a number field must not accept true/false.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        message = f"{key} must be an integer 0-{high}"
        raise MalformedFrame(ZIGBEE2MQTT_CODEC, message)
    return value


def decode_contact(payload: bytes | str) -> ContactReport:
    """Decode a zigbee2mqtt contact-sensor message.

    Raises:
        MalformedFrame: not a JSON object, or a known key with the wrong type or range.
    """
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        message = f"not JSON: {exc.__class__.__name__}"
        raise MalformedFrame(ZIGBEE2MQTT_CODEC, message) from None
    if not isinstance(data, dict):
        message = "not a JSON object"
        raise MalformedFrame(ZIGBEE2MQTT_CODEC, message)
    contact = _opt_bool(data, "contact")
    door = None if contact is None else (DoorState.CLOSED if contact else DoorState.OPEN)
    return ContactReport(
        door,
        _opt_int(data, "battery", BATTERY_MAX_PCT),
        _opt_int(data, "linkquality", LINKQUALITY_MAX),
        _opt_bool(data, "tamper"),
    )


def encode_contact(report: ContactReport) -> str:
    """Encode a contact message the way zigbee2mqtt does (for simulators and tests)."""
    data: dict[str, object] = {}
    if report.door is not None:
        data["contact"] = report.door is DoorState.CLOSED
    if report.battery_pct is not None:
        data["battery"] = report.battery_pct
    if report.linkquality is not None:
        data["linkquality"] = report.linkquality
    if report.tamper is not None:
        data["tamper"] = report.tamper
    return json.dumps(data, separators=(",", ":"))
