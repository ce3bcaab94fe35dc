"""Edge agent settings: one TOML file, read and checked completely at start-up (shell).

A bad file stops the agent before it touches a device, naming the key and the reason
(:class:`EdgeConfigError`). Example::

    site = "hostel-1"
    edge = "pi-1"
    outbox = "/var/lib/odart/outbox.db"
    checkin_s = 20             # "are you OK?" window before a warning pages; 0 turns it off
    consent_default = "active" # residents the server's consent snapshot does not name

    [mqtt]
    host = "broker.local"
    port = 1883

    [detector]                 # any DetectorSettings field; defaults are the documented ones

    [[people]]
    participant = "p-7f3a"     # pseudonymous id, never a name
    room = "room-12"
    devices = ["wearable-12", "radar-12"]

    [[devices]]
    id = "wearable-12"
    role = "wearable"          # wearable | radar | door
    link = "virtual"           # virtual (simulated) | ble | uart | gpio
    [devices.virtual]          # only for link = "virtual"
    seed = 12
    answers_checkin = true     # the simulated wearer presses the button when buzzed
    episodes = [{ kind = "abrupt_apnoea", start_s = 60 }]
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.checkin import DEFAULT_CHECKIN_S
from edge.consent import ConsentState
from edge.detector import DetectorSettings, SettingsError
from firmware_bridge.wire import ID_PATTERN, MAX_CHECKIN_S


class EdgeConfigError(Exception):
    """The edge config is missing, malformed or invalid.

    Attributes:
        key: the dotted key (or the file) at fault.
        reason: why it was refused.
    """

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        message = f"config {key}: {reason}"
        super().__init__(message)


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        message = "must be 1-64 characters of a-z, 0-9, _ and -, starting alphanumeric"
        raise ValueError(message)
    return value


class _Strict(BaseModel):
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


class MqttConfig(_Strict):
    """The broker."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None


class VirtualEpisode(_Strict):
    """One thing that happens to a simulated person (see simulators.physiology.EpisodeKind)."""

    kind: str
    start_s: float = Field(ge=0)
    duration_s: float | None = Field(default=None, gt=0)
    params: dict[str, float] = Field(default_factory=dict)


class VirtualDevice(_Strict):
    """A simulated device: seeded physiology, paced ``speed`` times real time."""

    seed: int = 0
    speed: float = Field(default=1.0, gt=0, le=1000)
    rate_bpm: float | None = Field(default=None, gt=0)
    episodes: list[VirtualEpisode] = Field(default_factory=list)
    answers_checkin: bool = True
    """Whether the simulated wearer presses the button when the wearable buzzes."""
    answer_delay_s: float = Field(default=5.0, ge=0, le=MAX_CHECKIN_S)
    """Simulated seconds from the buzz to the press."""


class DeviceConfig(_Strict):
    """An enrolled device."""

    id: str
    role: Role
    link: LinkKind
    address: str | None = None
    virtual: VirtualDevice | None = None

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _link_details(self) -> DeviceConfig:
        if self.link is LinkKind.VIRTUAL and self.virtual is None:
            object.__setattr__(self, "virtual", VirtualDevice())
        if self.link is not LinkKind.VIRTUAL and self.virtual is not None:
            message = "a [devices.virtual] table only goes with link = 'virtual'"
            raise ValueError(message)
        if self.link in (LinkKind.BLE, LinkKind.UART, LinkKind.GPIO) and not self.address:
            message = f"link = '{self.link}' needs an address"
            raise ValueError(message)
        return self


class PersonConfig(_Strict):
    """A monitored resident: pseudonymous id, their room, and the devices watching them."""

    participant: str
    room: str
    devices: list[str] = Field(min_length=1)

    _participant = field_validator("participant", "room")(_check_id)


class EdgeConfig(_Strict):
    """Everything the agent needs, validated."""

    site: str
    edge: str
    outbox: Path = Path("var/edge-outbox.db")
    mqtt: MqttConfig = MqttConfig()
    checkin_s: float = Field(default=DEFAULT_CHECKIN_S, ge=0, le=MAX_CHECKIN_S)
    """Seconds a warning waits for the wearer's button before responders are paged; 0: off."""
    consent_default: Literal["active", "paused"] = "active"
    """Consent of residents the server's snapshot leaves out; "paused" monitors nobody until the
    server names them."""
    detector: dict[str, Any] = Field(default_factory=dict)
    people: list[PersonConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)

    _ids = field_validator("site", "edge")(_check_id)

    @model_validator(mode="after")
    def _cross_references(self) -> EdgeConfig:
        known = [device.id for device in self.devices]
        if len(set(known)) != len(known):
            message = "device ids must be unique"
            raise ValueError(message)
        watched: set[str] = set()
        for person in self.people:
            for device_id in person.devices:
                if device_id not in known:
                    message = f"person {person.participant} names unknown device {device_id!r}"
                    raise ValueError(message)
                if device_id in watched:
                    message = f"device {device_id!r} is assigned to two people"
                    raise ValueError(message)
                watched.add(device_id)
        return self

    @property
    def default_consent(self) -> ConsentState:
        """:attr:`consent_default` as a consent state."""
        return ConsentState(self.consent_default)

    def detector_settings(self) -> DetectorSettings:
        """The detector settings this config asks for (defaults where it is silent)."""
        return DetectorSettings.from_mapping(self.detector)


def config_from_mapping(data: dict[str, Any]) -> EdgeConfig:
    """Validate a parsed mapping; raise :class:`EdgeConfigError` naming the first bad key."""
    try:
        config = EdgeConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise EdgeConfigError(key, first["msg"]) from None
    try:
        config.detector_settings()
    except SettingsError as error:
        raise EdgeConfigError(f"detector.{error.key}", error.reason) from None
    return config


def load_config(path: Path) -> EdgeConfig:
    """Read and validate a TOML edge config."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise EdgeConfigError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise EdgeConfigError(str(path), f"not valid TOML: {error}") from None
    return config_from_mapping(data)
