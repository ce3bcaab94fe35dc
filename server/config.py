"""Server settings: read once from a TOML file at start-up and checked completely (shell).

A bad file stops start-up with the offending key and the reason (:class:`ConfigError`); nothing
after start-up reads the environment or the file again.
"""

from __future__ import annotations

import tomllib
from datetime import time
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from firmware_bridge.wire import ID_PATTERN
from server.domain.hours import OperatingHours
from server.domain.lifecycle import EscalationPolicy
from server.errors import ConfigError
from server.ingest_queue import SHED_ABOVE
from server.mqtt_tls import MqttTls
from server.privacy.inventory import RecordClass, record_classes
from server.privacy.retention import DEFAULT_RETENTION_DAYS, missing_periods


def _id_shape(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        message = "must be 1-64 characters of a-z, 0-9, _ and - (it goes into MQTT topics)"
        raise ValueError(message)
    return value


Id = Annotated[str, AfterValidator(_id_shape)]
"""A site, room or responder id: the wire's id shape, checked whole."""


MFA_ROLES: Final[tuple[Literal["admin", "staff", "responder"], ...]] = ("admin", "staff")
"""Roles that see personal data, so must have a second factor by default (ASVS 6.3.3)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TLS_PORT: Final = 8883
"""MQTT over TLS (IANA); the default port once ``[mqtt.tls]`` is set."""

PLAIN_PORT: Final = 1883
"""MQTT without TLS: the loopback demo and tests only."""


class MqttConfig(_Strict):
    """The broker the server subscribes to; ``[mqtt.tls]`` turns on TLS (port 8883)."""

    host: str = "127.0.0.1"
    port: int = Field(default=PLAIN_PORT, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: MqttTls | None = None
    routine_backlog_max: int = Field(default=SHED_ABOVE, ge=100, le=1_000_000)
    """Routine messages (device reports, edge status) allowed to wait; newer ones are shed (not
    stored, not acked, so the edge resends them) and counted. Alerts are never shed."""

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


class HttpConfig(_Strict):
    """Where the API and panel listen, and the address responders' phones reach them at."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8000"
    session_idle_s: float = Field(default=1800.0, gt=0)
    """A panel session ends after this long without a request (the live board keeps it alive)."""
    session_absolute_s: float = Field(default=43200.0, gt=0)
    """A panel session ends this long after login, whatever happens: one shift."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses (or networks) of reverse proxies whose ``X-Forwarded-For`` is believed. Empty:
    the peer's own address is used for throttling and audit, whatever headers say."""
    mfa_roles: list[Literal["admin", "staff", "responder"]] = Field(
        default_factory=lambda: list(MFA_ROLES)
    )
    """Roles that must set up a second factor (an authenticator app) before using the panel:
    the roles that see personal data (ASVS 6.3.3). Responders may add one."""

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ip_network(entry, strict=False)
            except ValueError:
                message = f"{entry!r} is not an IP address or network"
                raise ValueError(message) from None
        return value

    @model_validator(mode="after")
    def _session_order(self) -> HttpConfig:
        if self.session_idle_s > self.session_absolute_s:
            message = "session_idle_s must not exceed session_absolute_s"
            raise ValueError(message)
        return self


class ResponderConfig(_Strict):
    """A person or team to page; ``urls`` are apprise URLs in order of preference.

    ``level`` is the escalation level at which they are added; ``sites`` limits them to some
    sites (empty: every site).
    """

    id: str
    name: str
    urls: list[str] = Field(min_length=1)
    level: int = Field(default=0, ge=0, le=9)
    sites: list[str] = Field(default_factory=list)

    def serves(self, site_id: str) -> bool:
        """Whether this responder covers ``site_id``."""
        return not self.sites or site_id in self.sites

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.fullmatch(value):
            message = "must be 1-64 characters of a-z, 0-9, _ and -"
            raise ValueError(message)
        return value


class RoomConfig(_Strict):
    """A room at a site; the label is what a responder sees on the push."""

    id: Id
    label: str


class EscalationConfig(_Strict):
    """How fast alerts climb a site's levels (seconds); defaults from the research notes."""

    level_timeouts_s: list[float] = Field(default=[60.0, 60.0, 90.0], min_length=1)
    ack_to_en_route_s: float = Field(default=60.0, gt=0)
    en_route_to_on_scene_s: float = Field(default=180.0, gt=0)
    checkin_grace_s: float = Field(default=10.0, ge=0)

    @field_validator("level_timeouts_s")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            message = "every level timeout must be positive"
            raise ValueError(message)
        return value

    def policy(self) -> EscalationPolicy:
        """The pure policy value."""
        return EscalationPolicy(
            tuple(self.level_timeouts_s),
            self.ack_to_en_route_s,
            self.en_route_to_on_scene_s,
            self.checkin_grace_s,
        )


class HoursConfig(_Strict):
    """When non-urgent messages (low battery, device faults) may go out, in the site's zone."""

    opens: time = time(9, 0)
    closes: time = time(17, 0)
    timezone: str = "Europe/London"
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4, 5, 6], min_length=1)

    def hours(self) -> OperatingHours:
        """The pure value; raises ValueError for an unknown zone or weekday."""
        return OperatingHours(self.opens, self.closes, self.timezone, frozenset(self.weekdays))

    @model_validator(mode="after")
    def _valid(self) -> HoursConfig:
        try:
            self.hours()
        except (ValueError, KeyError) as error:
            message = f"invalid operating hours: {error}"
            raise ValueError(message) from None
        return self


class SiteConfig(_Strict):
    """A hostel or supported-housing site."""

    id: Id
    name: str
    rooms: list[RoomConfig] = Field(default_factory=list)
    escalation: EscalationConfig = EscalationConfig()
    hours: HoursConfig = HoursConfig()
    drill_every_h: float | None = Field(default=None, gt=0)
    """Run an end-to-end drill this often (hours); None: no scheduled drills."""
    drill_urls: list[str] = Field(default_factory=list)
    """Where drill pushes go (never a responder's phone): e.g. a staff-office ntfy topic."""
    staff_urls: list[str] = Field(default_factory=list)
    """Where technical alerts go (nobody reachable, server disk full, device health); empty:
    to the first level's responders."""

    @model_validator(mode="after")
    def _drill_needs_a_channel(self) -> SiteConfig:
        if self.drill_every_h is not None and not self.drill_urls:
            message = "drill_every_h needs drill_urls (drills never page real responders)"
            raise ValueError(message)
        return self


class PrivacyConfig(_Strict):
    """How consent is enforced (docs/privacy.md)."""

    review_days: int = Field(default=90, ge=1, le=366)
    """The review date the panel proposes: consent is refreshed at least this often (F-06)."""
    refuse_unenrolled: bool = False
    """Refuse events naming a pseudonym the server has no record of. Off by default so an edge
    set up before its residents were enrolled on the panel still raises alarms; turn it on once
    every resident is enrolled through the panel. Known residents without active monitoring
    consent are refused either way."""


class Settings(_Strict):
    """Everything the server needs, validated."""

    database: Path = Path("var/odart.db")
    mqtt: MqttConfig = MqttConfig()
    http: HttpConfig = HttpConfig()
    sites: list[SiteConfig] = Field(default_factory=list)
    responders: list[ResponderConfig] = Field(default_factory=list)
    secret_key: str | None = Field(default=None, min_length=32)
    """Signs action links. Unset: ``secret_key_file``, or else a random key kept in the database."""
    secret_key_file: Path | None = None
    """A file holding the action-link key, outside the database (made 0600 with a random key if
    missing; refused if others may read it). Backups of the database then carry no key."""
    action_link_ttl_s: float = Field(default=3600.0, gt=0)
    """How long a push's acknowledge / on-my-way links work."""
    edge_offline_grace_s: float = Field(default=60.0, ge=0)
    """An edge must stay offline this long before staff are alerted (absorbs Wi-Fi blips)."""
    low_battery_pct: float = Field(default=20.0, gt=0, lt=100)
    battery_cleared_pct: float = Field(default=80.0, gt=0, le=100)
    privacy: PrivacyConfig = PrivacyConfig()
    retention_days: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_RETENTION_DAYS))
    """Days each record class is kept; every class in the data inventory needs one."""

    @field_validator("retention_days")
    @classmethod
    def _every_class_has_a_period(cls, value: dict[str, float]) -> dict[str, float]:
        known = {c.value for c in RecordClass}
        unknown = sorted(set(value) - known)
        if unknown:
            message = f"unknown record class {unknown[0]!r}; known: {', '.join(sorted(known))}"
            raise ValueError(message)
        missing = missing_periods(value, record_classes())
        if missing:
            message = f"no retention period for record class {missing[0]!r}"
            raise ValueError(message)
        if any(days <= 0 for days in value.values()):
            message = "retention periods must be positive numbers of days"
            raise ValueError(message)
        return value

    def site(self, site_id: str) -> SiteConfig:
        """The configured site, or defaults for a site the server was not told about."""
        for site in self.sites:
            if site.id == site_id:
                return site
        return SiteConfig(id=site_id, name=site_id)

    def responders_for(self, site_id: str) -> list[ResponderConfig]:
        """Responders covering ``site_id``."""
        return [r for r in self.responders if r.serves(site_id)]

    def room_label(self, site_id: str, room_id: str | None) -> str:
        """The label staff know a room by, or a neutral fallback."""
        for site in self.sites:
            if site.id == site_id:
                for room in site.rooms:
                    if room.id == room_id:
                        return room.label
        return room_id or "unknown room"


def settings_from_mapping(data: dict[str, Any]) -> Settings:
    """Validate a parsed mapping; raise :class:`ConfigError` naming the first bad key."""
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise ConfigError(key, first["msg"]) from None


def load_settings(path: Path) -> Settings:
    """Read and validate a TOML settings file."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"not valid TOML: {error}") from None
    return settings_from_mapping(data)
