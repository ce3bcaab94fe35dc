"""The ``[[devices]]`` entries of the edge config: model, link and each link's keys (pure).

Every real device names its model; the model fixes the link (BLE, UART, GPIO, zigbee2mqtt) and
the role, and the link fixes which keys it needs. Nothing is guessed from what a device happens
to offer. :func:`device_problem` names the first missing or misplaced key, so a bad entry stops
start-up with ``devices.<n>.<key>: <reason>``. Example::

    [[devices]]
    id = "h10-12"
    model = "polar_h10"          # link = "ble", role = "wearable" follow from it
    address = "A0:9E:1A:12:34:56"

    [[devices]]
    id = "radar-12"
    model = "mr60bha1"
    port = "/dev/ttyAMA0"

    [[devices]]
    id = "door-12"
    model = "z2m_door"
    topic = "zigbee2mqtt/door-12"
    silence_timeout_s = 7200     # quiet this long (no report, no heartbeat): a device fault
    [devices.broker]             # optional: the edge's [mqtt] broker when left out
    host = "127.0.0.1"
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from firmware_bridge.wire import (
    CHECKIN_MODELS,
    ID_PATTERN,
    MAX_CHECKIN_S,
    DeviceEntry,
    DeviceModel,
)
from firmware_bridge.wire import MODEL_ROLE as WIRE_MODEL_ROLE


def check_id(value: str) -> str:
    """Pydantic validator: an id of the wire's form."""
    if not ID_PATTERN.fullmatch(value):
        message = "must be 1-64 characters of a-z, 0-9, _ and -, starting alphanumeric"
        raise ValueError(message)
    return value


class Strict(BaseModel):
    """A frozen model that refuses unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    """What a device watches: the person (wearable) or their room (radar, door)."""

    WEARABLE = "wearable"
    RADAR = "radar"
    DOOR = "door"


class LinkKind(StrEnum):
    """How the edge reaches a device."""

    VIRTUAL = "virtual"
    BLE = "ble"
    UART = "uart"
    GPIO = "gpio"
    ZIGBEE2MQTT = "zigbee2mqtt"


Model = DeviceModel
"""The device models and protocols the edge speaks (the wire's list, shared with the server)."""

MODEL_LINK: Final = {
    Model.POLAR_H10: LinkKind.BLE,
    Model.BLE_HR: LinkKind.BLE,
    Model.BLE_PLX: LinkKind.BLE,
    Model.ODART_WEARABLE: LinkKind.BLE,
    Model.MR60BHA1: LinkKind.UART,
    Model.LD2410: LinkKind.UART,
    Model.GPIO_DOOR: LinkKind.GPIO,
    Model.Z2M_DOOR: LinkKind.ZIGBEE2MQTT,
    Model.VIRTUAL: LinkKind.VIRTUAL,
}
MODEL_ROLE: Final = {model: Role(role.value) for model, role in WIRE_MODEL_ROLE.items()}

LINK_KEYS: Final[dict[LinkKind, frozenset[str]]] = {
    LinkKind.VIRTUAL: frozenset({"virtual"}),
    LinkKind.BLE: frozenset({"address", "no_data_timeout_s"}),
    LinkKind.UART: frozenset({"port", "baud", "no_data_timeout_s"}),
    LinkKind.GPIO: frozenset({"pin", "closed_level_high"}),
    LinkKind.ZIGBEE2MQTT: frozenset({"topic", "broker", "silence_timeout_s"}),
}
"""The link-specific keys each link takes; any other link's key is a mistake worth naming."""
_REQUIRED: Final[dict[LinkKind, tuple[str, str]]] = {
    LinkKind.BLE: ("address", "the device's Bluetooth address, e.g. A0:9E:1A:12:34:56"),
    LinkKind.UART: ("port", "the serial port, e.g. /dev/ttyAMA0"),
    LinkKind.GPIO: ("pin", "the GPIO pin of the reed switch, e.g. 17 or 'GPIO17'"),
    LinkKind.ZIGBEE2MQTT: ("topic", "the sensor's zigbee2mqtt topic, e.g. zigbee2mqtt/door-12"),
}
_BLE_ADDRESS: Final = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")

DEFAULT_SILENCE_TIMEOUT_S: Final = 7200.0
"""A zigbee2mqtt contact sensor reports on every change and otherwise checks in about hourly
(Aqara MCCGQ11LM: ~50 min heartbeat); two missed heartbeats is a sensor gone, not a quiet door.
zigbee2mqtt's own passive availability timeout for battery devices is 25 h, far too long here."""


class Broker(Strict):
    """An MQTT broker (a zigbee2mqtt door's, when it is not the edge's own)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None


class VirtualEpisode(Strict):
    """One thing that happens to a simulated person (see simulators.physiology.EpisodeKind)."""

    kind: str
    start_s: float = Field(ge=0)
    duration_s: float | None = Field(default=None, gt=0)
    params: dict[str, float] = Field(default_factory=dict)


class VirtualDevice(Strict):
    """A simulated device: seeded physiology, paced ``speed`` times real time."""

    seed: int = 0
    speed: float = Field(default=1.0, gt=0, le=1000)
    rate_bpm: float | None = Field(default=None, gt=0)
    episodes: list[VirtualEpisode] = Field(default_factory=list)
    answers_checkin: bool = True
    """Whether the simulated wearer presses the button when the wearable buzzes."""
    answer_delay_s: float = Field(default=5.0, ge=0, le=MAX_CHECKIN_S)
    """Simulated seconds from the buzz to the press."""
    framed: bool = True
    """A wearable sends the bytes an ODART wearable notifies, decoded and watched exactly as a
    real BLE wearable's (``edge.notify_decode``); ``false`` hands the agent sample blocks."""


class DeviceConfig(Strict):
    """An enrolled device. ``model`` fills in ``link`` and ``role`` when they are left out."""

    id: str
    role: Role
    link: LinkKind
    model: Model | None = None
    address: str | None = None
    """BLE: the Bluetooth address."""
    port: str | None = None
    """UART: the serial port."""
    baud: int | None = Field(default=None, gt=0)
    """UART: the line speed, when not the model's datasheet default."""
    pin: int | str | None = None
    """GPIO: the reed switch's pin (gpiozero naming)."""
    closed_level_high: bool = False
    """GPIO: a closed door reads high (a normally-open switch to 3V3) instead of low."""
    topic: str | None = None
    """zigbee2mqtt: the sensor's topic; its availability is ``<topic>/availability``."""
    broker: Broker | None = None
    """zigbee2mqtt: the broker zigbee2mqtt publishes to; the edge's [mqtt] when left out."""
    silence_timeout_s: float = Field(default=DEFAULT_SILENCE_TIMEOUT_S, gt=0)
    """zigbee2mqtt: no message for this long is a device fault."""
    no_data_timeout_s: float | None = Field(default=None, gt=0)
    """BLE, UART: connected but silent this long is "no data"; the link's default when left out."""
    virtual: VirtualDevice | None = None

    _id = field_validator("id")(check_id)

    @model_validator(mode="before")
    @classmethod
    def _from_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model") in set(Model):
            model = Model(data["model"])
            data = {"link": MODEL_LINK[model].value, "role": MODEL_ROLE[model].value, **data}
        return data

    @model_validator(mode="after")
    def _virtual_default(self) -> DeviceConfig:
        if self.link is LinkKind.VIRTUAL and self.virtual is None:
            object.__setattr__(self, "virtual", VirtualDevice())
        return self

    @property
    def checkin_possible(self) -> bool:
        """Whether the device can ask its wearer "are you OK?" (a buzzer and a button)."""
        if self.role is not Role.WEARABLE:
            return False
        return self.link is LinkKind.VIRTUAL or self.model in CHECKIN_MODELS


def device_problem(device: DeviceConfig) -> tuple[str, str] | None:
    """The first key of ``device`` that is wrong, and why; ``None`` when it can be built (pure)."""
    link, model = device.link, device.model
    if link is not LinkKind.VIRTUAL or model is not None:
        if model is None:
            names = ", ".join(m.value for m in Model if MODEL_LINK[m] is link)
            return "model", f"a {link.value} device needs a model: one of {names}"
        if MODEL_LINK[model] is not link:
            wanted = MODEL_LINK[model].value
            return "link", f"a {model.value} is a {wanted} device, not {link.value}"
        if MODEL_ROLE[model] is not device.role and link is not LinkKind.VIRTUAL:
            return "role", f"a {model.value} is a {MODEL_ROLE[model].value}, not a {device.role}"
    set_keys = {key for key in device.model_fields_set if key in _ALL_LINK_KEYS}
    for key in sorted(set_keys - LINK_KEYS[link]):
        return key, f"only goes with link = '{_owner(key)}', not '{link.value}'"
    if link in _REQUIRED:
        key, what = _REQUIRED[link]
        if getattr(device, key) in (None, ""):
            return key, f"missing: {what}"
    if link is LinkKind.BLE and not _BLE_ADDRESS.match(device.address or ""):
        return "address", "must be six hex pairs separated by colons, e.g. A0:9E:1A:12:34:56"
    if link is LinkKind.ZIGBEE2MQTT:
        topic = device.topic or ""
        if set(topic) & {"+", "#"} or topic.startswith("/") or topic.endswith("/"):
            return "topic", "must be one device's topic: no wildcards, no leading or trailing /"
    return None


_ALL_LINK_KEYS: Final = frozenset().union(*LINK_KEYS.values())


def _owner(key: str) -> str:
    return " or ".join(link.value for link, keys in LINK_KEYS.items() if key in keys)


Z2M_BASE_TOPIC: Final = "zigbee2mqtt"
"""zigbee2mqtt's base topic (its ``mqtt.base_topic`` default)."""


def device_from_entry(entry: DeviceEntry, *, z2m_base_topic: str = Z2M_BASE_TOPIC) -> DeviceConfig:
    """The config of a device the server's device list names (pure).

    The list carries one ``address`` whose meaning follows the model: a Bluetooth address, a
    serial port, a GPIO pin, or a zigbee2mqtt friendly name (under ``z2m_base_topic``).
    """
    link = MODEL_LINK[entry.model]
    where: dict[str, object] = {}
    if link is LinkKind.BLE:
        where["address"] = entry.address
    elif link is LinkKind.UART:
        where["port"] = entry.address
    elif link is LinkKind.GPIO:
        pin = entry.address or ""
        where["pin"] = int(pin) if pin.isdigit() else pin
    elif link is LinkKind.ZIGBEE2MQTT:
        where["topic"] = f"{z2m_base_topic}/{entry.address}"
    return DeviceConfig.model_validate({"id": entry.device_id, "model": entry.model, **where})
