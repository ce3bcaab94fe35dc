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
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from firmware_bridge._bodies import (
    _BODY_TYPES,
    AckBody,
    AlertBody,
    Body,
    CommandBody,
    DeviceBody,
    StatusBody,
    UpdateBody,
    _body_from_json,
    _body_to_json,
)
from firmware_bridge._checks import (
    EARLIEST_UTC,
    ID_PATTERN,
    LATEST_UTC,
    MAX_JSON_DEPTH,
    TextValue,
    _check_id,
    _check_ulid,
    _check_utc,
    _enum,
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
)
from firmware_bridge._ulid import IdMinter, encode_ulid, ulid_time_ms
from firmware_bridge._vocab import (
    MAX_CHECKIN_S,
    MAX_COMMAND_ARGS,
    MAX_EVIDENCE_ITEMS,
    MAX_PAYLOAD_BYTES,
    PAGING_KINDS,
    SCHEMA_VERSION,
    SERVER_KINDS,
    TOPIC_ROOT,
    AlertKind,
    AlertUpdate,
    Command,
    DeviceState,
    EdgeState,
    MessageKind,
    Severity,
    Topic,
    TopicKind,
    parse_topic,
    topic_filter,
)
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
    "DeviceState",
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
    if type(schema) is not int or schema != SCHEMA_VERSION:  # not True, not 3.0
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
