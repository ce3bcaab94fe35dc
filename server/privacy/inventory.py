"""The declared inventory of personal data: what is held, why, on what basis, for how long (pure).

Every table and column the server stores, and every MQTT topic, is declared here. The record of
processing (``odart privacy report``) is generated from it, retention periods are looked up by
its record classes, and a test fails when a table, column or topic exists without a declaration.
"""

from __future__ import annotations

from typing import Final

from server.privacy.declarations import (
    CONSENT_AND_VITAL,
    LEGITIMATE,
    SERVER_DB,
    Declaration,
    Purpose,
    RecordClass,
)
from server.privacy.inventory_residents import RIGHTS_TABLES

__all__ = [
    "EDGE_MEMORY",
    "RIGHTS_TABLES",
    "TABLES",
    "TOPICS",
    "Declaration",
    "Purpose",
    "RecordClass",
    "declared",
    "record_classes",
]


_CONSENT_AND_VITAL = CONSENT_AND_VITAL
_SERVER_DB = SERVER_DB
_LEGITIMATE = LEGITIMATE

TABLES: Final[tuple[Declaration, ...]] = (
    Declaration(
        "alerts",
        (
            "id",
            "site_id",
            "edge_id",
            "device_id",
            "participant_id",
            "room_id",
            "kind",
            "severity",
            "state",
            "detected_at",
            "onset_at",
            "published_at",
            "stored_at",
            "evidence",
            "level",
            "cycle",
            "deadline",
            "timer",
            "version",
            "checkin_s",
            "assignee",
            "outcome",
            "outcome_detail",
            "closed_at",
            "origin",
        ),
        "detections about a pseudonymous resident and how each was handled",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.ALERT_RECORD,
        "on-shift staff and paged responders (room and kind only on pushes)",
        _SERVER_DB,
        subject="participant_id",
    ),
    Declaration(
        "alert_timeline",
        ("id", "alert_id", "at", "event", "detail"),
        "what happened to each alert, step by step",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.ALERT_RECORD,
        "staff",
        _SERVER_DB,
        via=("alert_id", "alerts", "id"),
    ),
    Declaration(
        "deliveries",
        ("id", "alert_id", "responder_id", "channel", "outcome", "at", "detail"),
        "each push attempt: responder, channel scheme, outcome",
        True,
        (Purpose.MONITORING, Purpose.OPERATIONS),
        _LEGITIMATE,
        RecordClass.DELIVERY_LOG,
        "admins",
        _SERVER_DB,
        via=("alert_id", "alerts", "id"),
    ),
    Declaration(
        "device_events",
        (
            "id",
            "site_id",
            "edge_id",
            "device_id",
            "state",
            "battery_pct",
            "rssi_dbm",
            "created_at",
            "stored_at",
        ),
        "device link state and battery",
        True,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.DEVICE_HEALTH,
        "staff",
        _SERVER_DB,
    ),
    Declaration(
        "device_health",
        ("device_id", "site_id", "edge_id", "state", "battery_pct", "battery_low", "updated_at"),
        "latest device state (reserved)",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.DEVICE_HEALTH,
        "staff",
        _SERVER_DB,
    ),
    Declaration(
        "edges",
        ("site_id", "edge_id", "state", "conn", "updated_at", "offline_since"),
        "whether each site hub is online",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "staff",
        _SERVER_DB,
    ),
    Declaration(
        "enrolments",
        (
            "id",
            "device_id",
            "site_id",
            "room_id",
            "participant_id",
            "consent",
            "enrolled_at",
            "enrolled_by",
            "ended_at",
            "ended_by",
            "edge_id",
            "model",
            "address",
        ),
        "which wearable a pseudonymous resident wears, in which room, and how its edge reaches it",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.ENROLMENT,
        "staff",
        _SERVER_DB,
        subject="participant_id",
    ),
    Declaration(
        "users",
        (
            "id",
            "username",
            "role",
            "password_hash",
            "disabled",
            "created_at",
            "updated_at",
            "totp_secret",
            "totp_pending",
            "totp_last_step",
        ),
        "staff and responder accounts, with their second-factor (TOTP) secrets",
        True,
        (Purpose.OPERATIONS,),
        "Art 6(1)(b) contract / 6(1)(f) legitimate interests",
        RecordClass.STAFF_ACCOUNT,
        "admins",
        _SERVER_DB,
    ),
    Declaration(
        "sessions",
        ("token_hash", "user_id", "csrf", "created_at", "seen_at", "address"),
        "logged-in sessions (hashed tokens, address)",
        True,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SESSION,
        "nobody",
        _SERVER_DB,
    ),
    Declaration(
        "used_tokens",
        ("nonce", "alert_id", "used_at"),
        "single-use action links already used",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SECURITY_TOKEN,
        "nobody",
        _SERVER_DB,
        via=("alert_id", "alerts", "id"),
    ),
    Declaration(
        "secrets",
        ("name", "value"),
        "server signing keys",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "nobody",
        _SERVER_DB,
    ),
    Declaration(
        "audit_log",
        ("seq", "at", "actor", "role", "action", "subject", "detail", "prev_hash", "hash"),
        "who read or changed personal data, hash-chained",
        True,
        (Purpose.ACCOUNTABILITY,),
        "Art 6(1)(c) legal obligation (Art 5(2), 30, 32)",
        RecordClass.AUDIT_LOG,
        "admins; the resident on a subject access request",
        _SERVER_DB,
        subject="subject",
    ),
    *RIGHTS_TABLES,
    Declaration(
        "drills",
        ("id", "site_id", "edge_id", "requested_at", "stored_at", "delivered_at", "outcome"),
        "end-to-end drill timings",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.DRILL_RECORD,
        "admins",
        _SERVER_DB,
    ),
    Declaration(
        "_migrations",
        ("name", "applied_at"),
        "schema version bookkeeping",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "nobody",
        _SERVER_DB,
    ),
)

TOPICS: Final[tuple[Declaration, ...]] = (
    Declaration(
        "mqtt:event",
        ("id", "type", "site", "edge", "device", "participant", "created_at", "sent_at", "body"),
        "derived detections and device state; never raw signals",
        True,
        (Purpose.MONITORING, Purpose.OPERATIONS),
        _CONSENT_AND_VITAL,
        RecordClass.SYSTEM,
        "the server only (broker ACL)",
        "in transit; edge outbox until acknowledged",
    ),
    Declaration(
        "mqtt:status",
        ("id", "type", "site", "edge", "created_at", "body"),
        "site hub online state",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "the server",
        "broker (retained)",
    ),
    Declaration(
        "mqtt:ack",
        ("id", "type", "site", "edge", "created_at", "body"),
        "receipts for stored messages",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "the edge",
        "in transit",
    ),
    Declaration(
        "mqtt:cmd",
        ("id", "type", "site", "edge", "created_at", "body"),
        "consent state per pseudonym, check-in cancels, drills",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.CONSENT_RECORD,
        "the edge",
        "broker (consent retained)",
    ),
)

EDGE_MEMORY: Final = Declaration(
    "edge:raw_signals",
    ("acc_x", "acc_y", "acc_z", "resp", "spo2", "hr", "presence", "motion", "door"),
    "raw sensor samples, held in the edge agent's memory only (about two minutes)",
    True,
    (Purpose.MONITORING,),
    _CONSENT_AND_VITAL,
    RecordClass.SYSTEM,
    "nobody",
    "edge RAM only; never written to disk or sent",
)


def declared(name: str) -> Declaration | None:
    """The declaration for a table or ``mqtt:<kind>`` topic, if any."""
    for item in (*TABLES, *TOPICS):
        if item.name == name:
            return item
    return None


def record_classes() -> frozenset[RecordClass]:
    """Every record class used by a declaration: each needs a retention period."""
    return frozenset(item.record_class for item in (*TABLES, *TOPICS, EDGE_MEMORY))
