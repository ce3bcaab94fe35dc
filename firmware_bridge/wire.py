"""The edge-server wire contract: MQTT topics and the versioned JSON envelope (pure).

This module is the ONLY thing the edge and the server share. Everything that crosses the network
is an :class:`Envelope` serialised by :func:`encode_envelope` and read back by
:func:`decode_message`, which checks it completely and raises :class:`WireError` with the field
and a reason that is safe to log (it never echoes payload values).

Topics (``{site}`` and ``{edge}`` are ids, see :data:`ID_PATTERN`)::

    odart/v1/{site}/{edge}/status   edge -> server   retained; the Last Will says "offline"
    odart/v1/{site}/{edge}/alert    edge -> server   alerts and alert updates, QoS 1
    odart/v1/{site}/{edge}/event    edge -> server   device events, QoS 1
    odart/v1/{site}/{edge}/ack      server -> edge   "stored": sent after the server's commit
    odart/v1/{site}/{edge}/cmd      server -> edge   consent, device list and other commands

The envelope (``schema`` 3)::

    {"schema": 3, "id": "<26-char ULID>", "type": "alert", "site": "...", "edge": "...",
     "device": "..." | null, "participant": "<pseudonym>" | null,
     "created_at": "2026-11-22T16:35:59.123Z", "sent_at": "..." | null, "body": {...}}

Only pseudonymous participant ids travel; names and raw signals never do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeAlias

from firmware_bridge._checks import (
    EARLIEST_UTC,
    ID_PATTERN,
    LATEST_UTC,
    MAX_JSON_DEPTH,
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
    load_json,
    parse_utc,
)
from firmware_bridge._devices import (
    CHECKIN_MODELS,
    MAX_DEVICES,
    MODEL_ROLE,
    DeviceEntry,
    DeviceModel,
    DeviceRole,
    entries_from_json,
    entry_to_json,
)
from firmware_bridge._ulid import IdMinter, encode_ulid, ulid_time_ms
from firmware_bridge.errors import WireError

__all__ = [
    "CHECKIN_MODELS",
    "EARLIEST_UTC",
    "ID_PATTERN",
    "LATEST_UTC",
    "MAX_CHECKIN_S",
    "MAX_COMMAND_ARGS",
    "MAX_DEVICES",
    "MAX_EVIDENCE_ITEMS",
    "MAX_JSON_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MODEL_ROLE",
    "PAGING_KINDS",
    "SCHEMA_VERSION",
    "SERVER_KINDS",
    "TOPIC_ROOT",
    "AckBody",
    "AlertBody",
    "AlertKind",
    "AlertUpdate",
    "Body",
    "Command",
    "CommandBody",
    "DeviceBody",
    "DeviceEntry",
    "DeviceModel",
    "DeviceRole",
    "EdgeState",
    "Envelope",
    "IdMinter",
    "MessageKind",
    "Severity",
    "StatusBody",
    "TextValue",
    "Topic",
    "TopicKind",
    "UpdateBody",
    "WireError",
    "decode_envelope",
    "decode_message",
    "encode_envelope",
    "encode_ulid",
    "format_utc",
    "parse_topic",
    "parse_utc",
    "topic_filter",
    "ulid_time_ms",
]

SCHEMA_VERSION: Final = 3
"""Bumped in the same change that alters the envelope or a body; see CHANGELOG.md."""

TOPIC_ROOT: Final = "odart/v1"
"""Topic prefix; the ``v1`` follows the major schema version so old and new edges can coexist."""

MAX_PAYLOAD_BYTES: Final = 4096
"""Upper bound on one message: a derived event is a few hundred bytes, and a small cap keeps a raw
waveform from ever fitting through by accident (data minimisation) and bounds parsing work."""

MAX_CHECKIN_S: Final = 300.0
"""A check-in longer than five minutes would leave an apnoea unanswered far too long."""

MAX_COMMAND_ARGS: Final = 200
"""A consent snapshot names every resident an edge serves: 200 fits a large hostel in 4 KiB."""

MAX_EVIDENCE_ITEMS: Final = 16
"""Evidence is a handful of summary features (time since breath, rate, SpO2, quality), not data."""


class TopicKind(StrEnum):
    """The last level of every ODART topic."""

    STATUS = "status"
    EVENT = "event"
    """Routine messages: device reports."""
    ALERT = "alert"
    """Alerts and alert updates, on a topic of their own: the broker and the server's own
    connection for them never queue an alert behind routine traffic."""
    ACK = "ack"
    CMD = "cmd"


class MessageKind(StrEnum):
    """The ``type`` of an envelope; each has its own body class."""

    ALERT = "alert"
    """A detection from the edge detector (apnoea, desaturation, ...)."""
    DEVICE = "device"
    """A device's state changed (connected, no data, low battery, ...)."""
    STATUS = "status"
    """The edge itself is online or offline (retained, and the Last Will)."""
    ACK = "ack"
    """The server stored a message; the edge may now delete it from its outbox."""
    UPDATE = "update"
    """Something happened to an alert already sent (a check-in was answered or ran out)."""
    CMD = "cmd"
    """An instruction or a state for the edge (consent, configuration)."""


class Command(StrEnum):
    """The ``command`` of a ``cmd`` message (docs/wire.md, "Commands")."""

    CONSENT = "consent"
    """Retained: every resident's consent state; only ``active`` is monitored."""
    DEVICES = "devices"
    """Retained: the devices the edge runs, from the panel's enrolments."""
    CHECKIN_CANCEL = "checkin_cancel"
    """Staff cancelled a check-in on the panel."""
    DRILL = "drill"
    """Send a ``test`` alert through the whole chain."""


class AlertKind(StrEnum):
    """What the edge detector saw. The detector's event kinds must be a subset (tested)."""

    APNOEA = "apnoea"
    RESPIRATORY_DEPRESSION = "respiratory_depression"
    DESATURATION = "desaturation"
    STILLNESS = "stillness"
    PROLONGED_OCCUPANCY = "prolonged_occupancy"
    NO_SIGNAL = "no_signal"
    RECOVERED = "recovered"
    BUTTON = "button"
    """The wearer pressed the help button."""
    TEST = "test"
    """A training or drill alert: clearly marked, never a real emergency."""
    EDGE_OFFLINE = "edge_offline"
    """Raised by the server: an edge went silent (its Last Will arrived, or no heartbeat)."""
    DEVICE_FAULT = "device_fault"
    """A device disconnected, stopped sending, or reports a fault."""
    LOW_BATTERY = "low_battery"
    """A device's battery fell below the low mark."""
    NOBODY_REACHABLE = "nobody_reachable"
    """Raised by the server: every channel of every responder at a level failed."""
    EDGE_DISK_FULL = "edge_disk_full"
    """Raised by the server: an edge reports ``disk_full`` (alerts held in memory only)."""


PAGING_KINDS: Final = frozenset(
    {
        AlertKind.APNOEA,
        AlertKind.RESPIRATORY_DEPRESSION,
        AlertKind.DESATURATION,
        AlertKind.PROLONGED_OCCUPANCY,
        AlertKind.BUTTON,
        AlertKind.TEST,
    }
)
"""Kinds that page responders (and that the edge checks in about first when only a warning).
Stillness only amplifies other signs, recovery is good news, and device health goes to staff."""

SERVER_KINDS: Final = frozenset(
    {
        AlertKind.EDGE_OFFLINE,
        AlertKind.DEVICE_FAULT,
        AlertKind.LOW_BATTERY,
        AlertKind.NOBODY_REACHABLE,
        AlertKind.EDGE_DISK_FULL,
    }
)
"""Kinds only the server raises (from status and device messages); the server refuses an
``alert`` of these kinds from an edge, so an edge cannot forge a technical alarm."""


class AlertUpdate(StrEnum):
    """What became of an alert after it was sent (an ``update`` message)."""

    CANCELLED_BY_WEARER = "cancelled_by_wearer"
    """The wearer pressed the button during the check-in window: they are OK."""
    CHECKIN_EXPIRED = "checkin_expired"
    """Nobody answered the check-in: page responders now."""
    CONDITION_CLEARED = "condition_cleared"
    """The detector sees breathing again; a timeline note only, never a state change."""


class Severity(StrEnum):
    """How urgent an alert is: critical pages at once; warning may check in with the wearer."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class EdgeState(StrEnum):
    """The edge's connection state, published retained on ``status``."""

    ONLINE = "online"
    OFFLINE = "offline"
    DISK_FULL = "disk_full"
    """Online, but the outbox cannot write to disk: new messages are held in memory only."""


# --------------------------------------------------------------------------------------------
# Topics


@dataclass(frozen=True, slots=True)
class Topic:
    """One concrete ODART topic: ``odart/v1/{site_id}/{edge_id}/{kind}``."""

    site_id: str
    edge_id: str
    kind: TopicKind

    def __post_init__(self) -> None:
        _check_id("site", self.site_id)
        _check_id("edge", self.edge_id)

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.site_id}/{self.edge_id}/{self.kind.value}"


def parse_topic(topic: str) -> Topic:
    """Split an ODART topic into its parts; anything else raises :class:`WireError`."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise WireError("topic", f"not of the form {TOPIC_ROOT}/SITE/EDGE/KIND")
    try:
        kind = TopicKind(parts[4])
    except ValueError:
        raise WireError("topic", "unknown topic kind") from None
    try:
        return Topic(parts[2], parts[3], kind)
    except WireError as error:
        raise WireError("topic", f"bad {error.field} id") from None


def topic_filter(kind: TopicKind, site_id: str = "+", edge_id: str = "+") -> str:
    """A subscription filter for one kind of topic; ``+`` matches any site or edge."""
    for name, value in (("site", site_id), ("edge", edge_id)):
        if value != "+":
            _check_id(name, value)
    return f"{TOPIC_ROOT}/{site_id}/{edge_id}/{kind.value}"


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

    state: str
    battery_pct: float | None = None
    rssi_dbm: float | None = None
    checkin_possible: bool | None = None

    def __post_init__(self) -> None:
        _check_id("state", self.state)
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

_TOPIC_OF: Final[dict[MessageKind, TopicKind]] = {
    MessageKind.ALERT: TopicKind.ALERT,
    MessageKind.DEVICE: TopicKind.EVENT,
    MessageKind.STATUS: TopicKind.STATUS,
    MessageKind.ACK: TopicKind.ACK,
    MessageKind.UPDATE: TopicKind.ALERT,
    MessageKind.CMD: TopicKind.CMD,
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message on the wire, checked on construction.

    Attributes:
        msg_id: a ULID minted where the message was created; the key for de-duplication.
        kind: which body this envelope carries.
        site_id: the site (hostel) the edge serves.
        edge_id: the edge agent that the message is from or for.
        created_at: when the message was created (UTC).
        body: the typed body matching ``kind``.
        device_id: the device concerned, if any.
        participant_id: the pseudonymous resident concerned, if any (never a name).
        sent_at: when this copy was published (UTC); each re-publish sets it anew.
    """

    msg_id: str
    kind: MessageKind
    site_id: str
    edge_id: str
    created_at: datetime
    body: Body
    device_id: str | None = None
    participant_id: str | None = None
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_ulid("id", self.msg_id)
        _check_id("site", self.site_id)
        _check_id("edge", self.edge_id)
        _check_utc("created_at", self.created_at)
        if self.sent_at is not None:
            _check_utc("sent_at", self.sent_at)
        for name, value in (("device", self.device_id), ("participant", self.participant_id)):
            if value is not None:
                _check_id(name, value)
        if not isinstance(self.body, _BODY_TYPES[self.kind]):
            raise WireError("body", f"a {self.kind.value} message needs a {self.kind.value} body")

    @property
    def topic(self) -> Topic:
        """The topic this message is published on."""
        return Topic(self.site_id, self.edge_id, _TOPIC_OF[self.kind])


# --------------------------------------------------------------------------------------------
# Encoding


def encode_envelope(envelope: Envelope) -> bytes:
    """Serialise to compact UTF-8 JSON; raises :class:`WireError` over :data:`MAX_PAYLOAD_BYTES`."""
    document = {
        "schema": SCHEMA_VERSION,
        "id": envelope.msg_id,
        "type": envelope.kind.value,
        "site": envelope.site_id,
        "edge": envelope.edge_id,
        "device": envelope.device_id,
        "participant": envelope.participant_id,
        "created_at": format_utc(envelope.created_at),
        "sent_at": None if envelope.sent_at is None else format_utc(envelope.sent_at),
        "body": _body_to_json(envelope.body),
    }
    payload = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError("payload", f"{len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return payload


def decode_envelope(payload: bytes) -> Envelope:
    """Parse and check a payload without a topic (see :func:`decode_message` for ingest)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError("payload", f"{len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    document = load_json(payload)
    if not isinstance(document, dict):
        raise WireError("payload", "not a JSON object")
    schema = document.get("schema")
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        reason = f"unsupported schema version (this build speaks {SCHEMA_VERSION})"
        raise WireError("schema", reason)
    allowed = {
        "schema",
        "id",
        "type",
        "site",
        "edge",
        "device",
        "participant",
        "created_at",
        "sent_at",
        "body",
    }
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise WireError(key_name(unknown[0]), "unknown envelope key")
    kind = _enum(MessageKind, document.get("type"), "type")
    sent_at = document.get("sent_at")
    return Envelope(
        msg_id=_str(document, "id"),
        kind=kind,
        site_id=_str(document, "site"),
        edge_id=_str(document, "edge"),
        created_at=parse_utc(document.get("created_at"), "created_at"),  # type: ignore[arg-type]
        body=_body_from_json(kind, document.get("body")),
        device_id=_optional_str(document, "device"),
        participant_id=_optional_str(document, "participant"),
        sent_at=None if sent_at is None else parse_utc(sent_at, "sent_at"),
    )


def decode_message(topic: str, payload: bytes) -> Envelope:
    """Parse a received message and check that it belongs on the topic it came on."""
    where = parse_topic(topic)
    envelope = decode_envelope(payload)
    if (envelope.site_id, envelope.edge_id) != (where.site_id, where.edge_id):
        raise WireError("topic", "site or edge in the envelope differs from the topic")
    if envelope.topic.kind is not where.kind:
        raise WireError("type", f"a {envelope.kind.value} message does not belong on {where.kind}")
    return envelope


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
                "state": body.state,
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
                state=_str(raw, "state", "body.state"),
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
