"""The message bodies: one checked dataclass per message kind, and their JSON form (pure).

:mod:`firmware_bridge.wire` wraps a body in its envelope and re-exports the body classes; the
JSON conversion here is private to the envelope's encoder and decoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeAlias

from firmware_bridge._checks import (
    TextValue,
    _check_evidence,
    _check_id,
    _check_ulid,
    _check_utc,
    _enum,
    _optional_bool,
    _optional_number,
    _optional_str,
    _str,
    format_utc,
    key_name,
    parse_utc,
)
from firmware_bridge._devices import MAX_DEVICES, DeviceEntry, entries_from_json, entry_to_json
from firmware_bridge._vocab import (
    MAX_CHECKIN_S,
    MAX_COMMAND_ARGS,
    MAX_EVIDENCE_ITEMS,
    AlertKind,
    AlertUpdate,
    Command,
    DeviceState,
    EdgeState,
    MessageKind,
    Severity,
)
from firmware_bridge.errors import WireError

# --------------------------------------------------------------------------------------------
# Bodies


@dataclass(frozen=True, slots=True)
class AlertBody:
    """A detection: what, how urgent, when it was detected and when it probably began."""

    alert_kind: AlertKind
    severity: Severity
    detected_at: datetime
    onset_at: datetime
    evidence: Mapping[str, TextValue] = field(default_factory=dict)
    room_id: str | None = None
    checkin_s: float | None = None
    """Seconds the edge checks in with the wearer before responders are paged; None pages now."""

    def __post_init__(self) -> None:
        if self.checkin_s is not None and not 0 < self.checkin_s <= MAX_CHECKIN_S:
            raise WireError("checkin_s", f"must be between 0 and {MAX_CHECKIN_S:.0f} seconds")
        _check_utc("detected_at", self.detected_at)
        _check_utc("onset_at", self.onset_at)
        if self.onset_at > self.detected_at:
            raise WireError("onset_at", "onset is after detection")
        _check_evidence(self.evidence, "evidence", MAX_EVIDENCE_ITEMS)
        if self.room_id is not None:
            _check_id("room_id", self.room_id)


@dataclass(frozen=True, slots=True)
class DeviceBody:
    """A device's state: link state plus optional battery and signal strength.

    ``checkin_possible`` says whether a wearable can ask its wearer "are you OK?" (it has a
    buzzer and a button); ``False`` means its warnings page at once. ``None``: not a wearable.
    """

    state: DeviceState
    battery_pct: float | None = None
    rssi_dbm: float | None = None
    checkin_possible: bool | None = None

    def __post_init__(self) -> None:
        # A caller's plain string that names a state becomes the member; any other is refused.
        object.__setattr__(self, "state", _enum(DeviceState, self.state, "state"))
        if self.battery_pct is not None and not 0 <= self.battery_pct <= 100:
            raise WireError("battery_pct", "must be between 0 and 100")
        if self.rssi_dbm is not None and not -150 <= self.rssi_dbm <= 20:
            raise WireError("rssi_dbm", "must be between -150 and 20 dBm")


@dataclass(frozen=True, slots=True)
class StatusBody:
    """The edge's online state; ``conn`` tells a stale Last Will from a newer "online"."""

    state: EdgeState
    conn: str

    def __post_init__(self) -> None:
        _check_id("conn", self.conn)


@dataclass(frozen=True, slots=True)
class AckBody:
    """The server has committed message ``of`` to its database."""

    of: str
    stored_at: datetime

    def __post_init__(self) -> None:
        _check_ulid("of", self.of)
        _check_utc("stored_at", self.stored_at)


@dataclass(frozen=True, slots=True)
class UpdateBody:
    """Alert ``of`` had something happen to it at ``at``."""

    of: str
    update: AlertUpdate
    at: datetime

    def __post_init__(self) -> None:
        _check_ulid("of", self.of)
        _check_utc("at", self.at)


@dataclass(frozen=True, slots=True)
class CommandBody:
    """An instruction or a piece of state for the edge, with small scalar arguments.

    ``command`` is a :class:`Command` when this build knows it; an unknown one still decodes,
    so the edge can log and count it. ``devices`` is the device list of a ``devices`` command
    and empty for every other.
    """

    command: str
    args: Mapping[str, TextValue] = field(default_factory=dict)
    devices: tuple[DeviceEntry, ...] = ()

    def __post_init__(self) -> None:
        _check_id("command", self.command)
        _check_evidence(self.args, "args", MAX_COMMAND_ARGS)
        if self.devices and self.command != Command.DEVICES:
            raise WireError("devices", "only a devices command carries a device list")
        if len(self.devices) > MAX_DEVICES:
            raise WireError("devices", f"more than {MAX_DEVICES} items")
        ids = [entry.device_id for entry in self.devices]
        if len(set(ids)) != len(ids):
            raise WireError("devices", "a device is listed twice")


Body: TypeAlias = AlertBody | DeviceBody | StatusBody | AckBody | UpdateBody | CommandBody

_BODY_TYPES: Final[dict[MessageKind, type[Any]]] = {
    MessageKind.ALERT: AlertBody,
    MessageKind.DEVICE: DeviceBody,
    MessageKind.STATUS: StatusBody,
    MessageKind.ACK: AckBody,
    MessageKind.UPDATE: UpdateBody,
    MessageKind.CMD: CommandBody,
}


# --------------------------------------------------------------------------------------------
# Helpers


def _body_to_json(body: Body) -> dict[str, Any]:
    match body:
        case AlertBody():
            return {
                "alert_kind": body.alert_kind.value,
                "severity": body.severity.value,
                "detected_at": format_utc(body.detected_at),
                "onset_at": format_utc(body.onset_at),
                "evidence": dict(body.evidence),
                "room": body.room_id,
                "checkin_s": body.checkin_s,
            }
        case DeviceBody():
            device: dict[str, Any] = {
                "state": body.state.value,
                "battery_pct": body.battery_pct,
                "rssi_dbm": body.rssi_dbm,
            }
            if body.checkin_possible is not None:  # left out for rooms' devices
                device["checkin_possible"] = body.checkin_possible
            return device
        case StatusBody():
            return {"state": body.state.value, "conn": body.conn}
        case AckBody():
            return {"of": body.of, "stored_at": format_utc(body.stored_at)}
        case UpdateBody():
            return {"of": body.of, "update": body.update.value, "at": format_utc(body.at)}
        case CommandBody():
            document: dict[str, Any] = {"command": body.command, "args": dict(body.args)}
            if body.command == Command.DEVICES:
                document["devices"] = [entry_to_json(entry) for entry in body.devices]
            return document


def _body_from_json(kind: MessageKind, raw: object) -> Body:
    if not isinstance(raw, dict):
        raise WireError("body", "not a JSON object")
    fields: dict[MessageKind, set[str]] = {
        MessageKind.ALERT: {
            "alert_kind",
            "severity",
            "detected_at",
            "onset_at",
            "evidence",
            "room",
            "checkin_s",
        },
        MessageKind.DEVICE: {"state", "battery_pct", "rssi_dbm", "checkin_possible"},
        MessageKind.STATUS: {"state", "conn"},
        MessageKind.ACK: {"of", "stored_at"},
        MessageKind.UPDATE: {"of", "update", "at"},
        MessageKind.CMD: {"command", "args", "devices"},
    }
    unknown = sorted(set(raw) - fields[kind])
    if unknown:
        raise WireError(f"body.{key_name(unknown[0])}", "unknown key")
    match kind:
        case MessageKind.ALERT:
            evidence = raw.get("evidence", {})
            if not isinstance(evidence, dict):
                raise WireError("body.evidence", "not a JSON object")
            return AlertBody(
                alert_kind=_enum(AlertKind, raw.get("alert_kind"), "body.alert_kind"),
                severity=_enum(Severity, raw.get("severity"), "body.severity"),
                detected_at=parse_utc(raw.get("detected_at"), "body.detected_at"),  # type: ignore[arg-type]
                onset_at=parse_utc(raw.get("onset_at"), "body.onset_at"),  # type: ignore[arg-type]
                evidence=evidence,
                room_id=_optional_str(raw, "room", "body.room"),
                checkin_s=_optional_number(raw, "checkin_s"),
            )
        case MessageKind.DEVICE:
            return DeviceBody(
                state=_enum(DeviceState, raw.get("state"), "body.state"),
                battery_pct=_optional_number(raw, "battery_pct"),
                rssi_dbm=_optional_number(raw, "rssi_dbm"),
                checkin_possible=_optional_bool(raw, "checkin_possible"),
            )
        case MessageKind.STATUS:
            return StatusBody(
                state=_enum(EdgeState, raw.get("state"), "body.state"),
                conn=_str(raw, "conn", "body.conn"),
            )
        case MessageKind.ACK:
            return AckBody(
                of=_str(raw, "of", "body.of"),
                stored_at=parse_utc(raw.get("stored_at"), "body.stored_at"),  # type: ignore[arg-type]
            )
        case MessageKind.UPDATE:
            return UpdateBody(
                of=_str(raw, "of", "body.of"),
                update=_enum(AlertUpdate, raw.get("update"), "body.update"),
                at=parse_utc(raw.get("at"), "body.at"),  # type: ignore[arg-type]
            )
        case MessageKind.CMD:
            args = raw.get("args", {})
            if not isinstance(args, dict):
                raise WireError("body.args", "not a JSON object")
            devices = entries_from_json(raw["devices"]) if "devices" in raw else ()
            return CommandBody(
                command=_str(raw, "command", "body.command"), args=args, devices=devices
            )
