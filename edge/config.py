"""Edge agent settings: one TOML file, read and checked completely at start-up (shell).

A bad file stops the agent before it touches a device, naming the key and the reason
(:class:`EdgeConfigError`). Example::

    site = "hostel-1"
    edge = "pi-1"
    outbox = "/var/lib/odart/outbox.db"
    checkin_s = 20             # "are you OK?" window before a warning pages; 0 turns it off
    consent_default = "active" # residents the server's consent snapshot does not name

    [mqtt]
    host = "broker.local"      # port 8883 with [mqtt.tls], else 1883
    [mqtt.tls]                 # odart broker certs; docs/mqtt-security.md
    ca = "/etc/odart/ca.crt"
    cert = "/etc/odart/hostel-1.pi-1.crt"
    key = "/etc/odart/hostel-1.pi-1.key"

    [health]                   # the file systemd and `odart edge health` read
    file = "/run/odart/edge-health.json"
    period_s = 5

    [detector]                 # any DetectorSettings field; defaults are the documented ones

    [[people]]
    participant = "p-7f3a"     # pseudonymous id, never a name
    room = "room-12"
    devices = ["wearable-12", "radar-12"]

    [ble]
    adapter = "hci0"           # the Bluetooth adapter; the system default when left out

    [[devices]]
    id = "wearable-12"
    role = "wearable"          # wearable | radar | door
    link = "virtual"           # virtual (simulated); real devices name a model instead
    [devices.virtual]          # only for link = "virtual"
    seed = 12
    answers_checkin = true     # the simulated wearer presses the button when buzzed
    episodes = [{ kind = "abrupt_apnoea", start_s = 60 }]

    [[devices]]
    id = "h10-12"
    model = "polar_h10"        # see edge.device_config for every model and its keys
    address = "A0:9E:1A:12:34:56"
"""

from __future__ import annotations

import os
import ssl
import tomllib
from pathlib import Path
from typing import Any, Final, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from edge.checkin import DEFAULT_CHECKIN_S
from edge.consent import ConsentState
from edge.detector import DetectorSettings, SettingsError
from edge.device_config import (
    Broker,
    DeviceConfig,
    LinkKind,
    Model,
    Role,
    Strict,
    VirtualDevice,
    VirtualEpisode,
    check_id,
    device_problem,
)
from firmware_bridge.wire import MAX_CHECKIN_S

__all__ = [
    "BleConfig",
    "Broker",
    "DeviceConfig",
    "EdgeConfig",
    "EdgeConfigError",
    "LinkKind",
    "Model",
    "MqttConfig",
    "PersonConfig",
    "Role",
    "VirtualDevice",
    "VirtualEpisode",
    "config_from_mapping",
    "load_config",
]


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


_check_id = check_id
_Strict = Strict


TLS_PORT: Final = 8883
"""MQTT over TLS (IANA); the default port once ``[mqtt.tls]`` is set."""

PLAIN_PORT: Final = 1883
"""MQTT without TLS: the loopback demo and tests only."""


def _readable(value: Path) -> Path:
    if not value.is_file():
        message = f"no such file: {value}"
        raise ValueError(message)
    if not os.access(value, os.R_OK):
        message = f"not readable by this user: {value}"
        raise ValueError(message)
    return value


class MqttTls(_Strict):
    """This edge's certificate for MQTT over TLS (``odart broker certs``; docs/mqtt-security.md).

    The broker takes the certificate's CN (``site/edge``) as this edge's username and client id.
    """

    ca: Path
    """The site CA that signed the broker's certificate."""
    cert: Path
    key: Path

    _files = field_validator("ca", "cert", "key")(_readable)

    @field_validator("ca")
    @classmethod
    def _ca_loads(cls, value: Path) -> Path:
        try:
            ssl.create_default_context(cafile=value)
        except ssl.SSLError as error:
            message = f"not a PEM CA certificate: {error}"
            raise ValueError(message) from None
        return value

    @field_validator("cert")
    @classmethod
    def _is_a_certificate(cls, value: Path) -> Path:
        _common_name(value)
        return value

    @field_validator("key")
    @classmethod
    def _matches(cls, value: Path, info: ValidationInfo) -> Path:
        cert = info.data.get("cert")
        if isinstance(cert, Path):  # else the certificate's own error is reported
            _pair(cert, value)
        return value

    def common_name(self) -> str | None:
        """The CN of ``cert``: the identity the broker knows this edge by."""
        return _common_name(self.cert)

    def context(self) -> ssl.SSLContext:
        """A client TLS context: verifies the broker against ``ca``, presents ``cert``."""
        context = ssl.create_default_context(cafile=self.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        _pair(self.cert, self.key, context)
        return context


def _common_name(cert: Path) -> str | None:
    try:
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError:
        message = f"not a PEM certificate: {cert}"
        raise ValueError(message) from None
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _pair(cert: Path, key: Path, context: ssl.SSLContext | None = None) -> None:
    """Load ``cert`` with ``key`` (into ``context``); ValueError when the key is not its own."""
    try:
        (context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)).load_cert_chain(
            cert, key, password=_no_passphrase
        )
    except ssl.SSLError as error:
        message = f"cert and key do not load as a matching PEM pair: {error}"
        raise ValueError(message) from None


class MqttConfig(_Strict):
    """The broker; ``[mqtt.tls]`` turns on TLS with a client certificate (port 8883)."""

    host: str = "127.0.0.1"
    port: int = Field(default=PLAIN_PORT, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: MqttTls | None = None
    reconnect_max_s: float = Field(default=15.0, ge=0.1, le=300.0)
    """The longest wait between reconnect attempts (doubling from 0.5 s). After an outage the
    outbox drains at the next attempt, so this bounds how late a held alert can be; shorter
    costs a few more connection attempts against a broker that is away."""

    @model_validator(mode="before")
    @classmethod
    def _tls_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("tls") is not None and "port" not in data:
            return {**data, "port": TLS_PORT}
        return data

    @model_validator(mode="after")
    def _one_identity(self) -> MqttConfig:
        if self.tls is not None and (self.username is not None or self.password is not None):
            message = "username and password are not used with tls: the certificate is the identity"
            raise ValueError(message)
        return self


class HealthConfig(_Strict):
    """The local health file that systemd and monitoring read (see :mod:`edge.health`)."""

    file: Path | None = None
    """Default: beside the outbox, ``<outbox stem>-health.json`` (systemd units set
    ``/run/odart/edge-health.json``)."""
    period_s: float = Field(default=5.0, gt=0, le=300)
    """Seconds between writes (and systemd watchdog pings)."""


class BleConfig(_Strict):
    """The site's Bluetooth adapter (one scanner is shared by every BLE device)."""

    adapter: str | None = None
    """BlueZ adapter name, e.g. ``"hci0"``; the system's default adapter when left out."""


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
    health: HealthConfig = HealthConfig()
    ble: BleConfig = BleConfig()
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

    @property
    def health_file(self) -> Path:
        """Where the health file is written: ``[health] file``, else beside the outbox."""
        return self.health.file or self.outbox.with_name(self.outbox.stem + "-health.json")

    def detector_settings(self) -> DetectorSettings:
        """The detector settings this config asks for (defaults where it is silent)."""
        return DetectorSettings.from_mapping(self.detector)


def config_from_mapping(data: dict[str, Any]) -> EdgeConfig:
    """Validate a parsed mapping; raise :class:`EdgeConfigError` naming the first bad key."""
    try:
        config = EdgeConfig.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
        # An unknown model explains the role and link it could not fill in: name it first.
        first = next((e for e in errors if e["loc"][-1:] == ("model",)), errors[0])
        key = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise EdgeConfigError(key, first["msg"]) from None
    for index, device in enumerate(config.devices):
        problem = device_problem(device)
        if problem is not None:
            raise EdgeConfigError(f"devices.{index}.{problem[0]}", problem[1])
        if device.link is LinkKind.ZIGBEE2MQTT and device.broker is None and config.mqtt.tls:
            # The TLS site broker gives this edge's certificate one connection (the publisher's)
            # and no zigbee2mqtt topics (docs/mqtt-security.md).
            raise EdgeConfigError(
                f"devices.{index}.broker",
                "a zigbee2mqtt door needs zigbee2mqtt's own broker when [mqtt] uses tls",
            )
    tls = config.mqtt.tls
    identity = f"{config.site}/{config.edge}"
    if tls is not None and tls.common_name() != identity:
        # The ACL gives a certificate only its own SITE/EDGE topics (docs/mqtt-security.md).
        reason = (
            f"the certificate is for {tls.common_name()!r}, this edge is {identity!r}: "
            "the broker would drop everything it sends"
        )
        raise EdgeConfigError("mqtt.tls.cert", reason)
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


def _no_passphrase() -> str:
    """Called only for an encrypted key: the service cannot type a passphrase at start-up."""
    message = "the key is encrypted: the service needs it unencrypted, readable by it alone (0600)"
    raise ValueError(message)
