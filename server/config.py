"""Server settings: read once from a TOML file at start-up and checked completely (shell).

A bad file stops start-up with the offending key and the reason (:class:`ConfigError`); nothing
after start-up reads the environment or the file again.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from firmware_bridge.wire import ID_PATTERN
from server.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(_Strict):
    """The broker the server subscribes to."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None


class HttpConfig(_Strict):
    """Where the API and panel listen, and the address responders' phones reach them at."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8000"


class ResponderConfig(_Strict):
    """A person or team to page; ``urls`` are apprise URLs in order of preference."""

    id: str
    name: str
    urls: list[str] = Field(min_length=1)
    level: int = Field(default=0, ge=0, le=9)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            message = "must be 1-64 characters of a-z, 0-9, _ and -"
            raise ValueError(message)
        return value


class RoomConfig(_Strict):
    """A room at a site; the label is what a responder sees on the push."""

    id: str
    label: str


class SiteConfig(_Strict):
    """A hostel or supported-housing site."""

    id: str
    name: str
    rooms: list[RoomConfig] = Field(default_factory=list)


class Settings(_Strict):
    """Everything the server needs, validated."""

    database: Path = Path("var/odart.db")
    mqtt: MqttConfig = MqttConfig()
    http: HttpConfig = HttpConfig()
    sites: list[SiteConfig] = Field(default_factory=list)
    responders: list[ResponderConfig] = Field(default_factory=list)

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
