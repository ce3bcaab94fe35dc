"""The declared inventory of personal data: what is held, why, on what basis, for how long (pure).

Every table and column the server stores, and every MQTT topic, is declared here. The record of
processing (``odart privacy report``) is generated from it, retention periods are looked up by
its record classes, and a test fails when a table, column or topic exists without a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Purpose(StrEnum):
    """Why data is processed; consent is checked per purpose where consent is the basis."""

    MONITORING = "monitoring"
    """Detecting overdose signs and alerting responders (needs the resident's consent)."""
    AMBULANCE_SHARING = "ambulance_sharing"
    """A minimal data set for paramedics during an escalated emergency."""
    REFERRAL = "referral"
    """A follow-up referral to a treatment service after an overdose."""
    STATISTICS = "statistics"
    """Anonymous aggregate statistics with small counts suppressed."""
    OPERATIONS = "operations"
    """Running the service: device health, delivery records, staff accounts, security."""
    ACCOUNTABILITY = "accountability"
    """The audit trail: who did what, when; required to show compliance."""


class RecordClass(StrEnum):
    """A kind of record with its own retention period (see :mod:`server.privacy.retention`)."""

    ALERT_RECORD = "alert_record"
    DEVICE_HEALTH = "device_health"
    DELIVERY_LOG = "delivery_log"
    CONSENT_RECORD = "consent_record"
    ENROLMENT = "enrolment"
    STAFF_ACCOUNT = "staff_account"
    SESSION = "session"
    SECURITY_TOKEN = "security_token"
    AUDIT_LOG = "audit_log"
    DRILL_RECORD = "drill_record"
    SYSTEM = "system"
    """Not personal data (schema bookkeeping, edge status, keys)."""


@dataclass(frozen=True, slots=True)
class Declaration:
    """One stored table (or topic) and what it holds.

    Attributes:
        name: table name, or ``mqtt:<topic kind>``.
        columns: every column (or envelope field) it carries.
        holds: what it is about, in plain words.
        personal: whether it is personal data (pseudonymous data is still personal data).
        purposes: why it is processed.
        basis: the lawful basis in UK GDPR terms.
        record_class: which retention period applies.
        recipients: who sees it beyond the system itself.
        stored: where it lives.
        subject: the column naming the resident (their pseudonym), if rows are about one;
            subject access export and erasure walk the tables that have one.
        via: for rows about a resident through a parent row: (column here, parent table,
            parent key), e.g. an alert's timeline through the alert.
    """

    name: str
    columns: tuple[str, ...]
    holds: str
    personal: bool
    purposes: tuple[Purpose, ...]
    basis: str
    record_class: RecordClass
    recipients: str
    stored: str
    subject: str | None = None
    via: tuple[str, str, str] | None = None


_CONSENT_AND_VITAL = (
    "Art 6(1)(a) consent + Art 9(2)(a) explicit consent; Art 6(1)(d)/9(2)(c) vital interests "
    "only for emergency disclosure"
)
_SERVER_DB = "server SQLite database"
_LEGITIMATE = "Art 6(1)(f) legitimate interests (running a safe service)"

_CONSENT_ONLY = "Art 6(1)(a) consent + Art 9(2)(a) explicit consent"

RIGHTS_TABLES: Final[tuple[Declaration, ...]] = (
    Declaration(
        "residents",
        ("participant_id", "site_id", "created_at", "created_by"),
        "each resident's pseudonym and site (no name)",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.ENROLMENT,
        "staff",
        _SERVER_DB,
        subject="participant_id",
    ),
    Declaration(
        "resident_identity",
        (
            "id",
            "participant_id",
            "version",
            "name",
            "date_of_birth",
            "notes",
            "recorded_at",
            "recorded_by",
            "voided_at",
            "voided_by",
            "void_reason",
        ),
        "a resident's name, date of birth and notes, versioned; shown to staff and admins only",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.ENROLMENT,
        "staff and admins (each view audited); never responders or the wire",
        _SERVER_DB,
        subject="participant_id",
    ),
    Declaration(
        "consent_records",
        (
            "id",
            "participant_id",
            "action",
            "purposes",
            "method",
            "witness",
            "text_version",
            "text_sha256",
            "capacity_confirmed",
            "review_due",
            "recorded_at",
            "recorded_by",
        ),
        "each consent given, declined or withdrawn, per purpose, with the text shown",
        True,
        (Purpose.ACCOUNTABILITY,),
        "Art 6(1)(c) legal obligation: showing consent was given (Art 7(1))",
        RecordClass.CONSENT_RECORD,
        "staff; the resident on a subject access request",
        _SERVER_DB,
        subject="participant_id",
    ),
    Declaration(
        "erasure_permits",
        ("participant_id",),
        "a pseudonym being erased, inside the erasure's own transaction only (empty otherwise)",
        True,
        (Purpose.ACCOUNTABILITY,),
        "Art 6(1)(c) legal obligation (Art 17)",
        RecordClass.CONSENT_RECORD,
        "nobody",
        _SERVER_DB,
    ),
    Declaration(
        "erasures",
        ("participant_id", "site_id", "erased_at"),
        "pseudonyms erased (nothing else), so edges and ingest keep refusing them",
        True,
        (Purpose.ACCOUNTABILITY,),
        "Art 6(1)(c) legal obligation: making erasure effective (Art 17, 19)",
        RecordClass.CONSENT_RECORD,
        "the edges serving the site (as 'erased')",
        _SERVER_DB,
    ),
    Declaration(
        "disclosures",
        (
            "id",
            "alert_id",
            "participant_id",
            "recipient",
            "reason",
            "basis",
            "fields",
            "released_at",
            "released_by",
        ),
        "the disclosure register: what emergency data went to whom, why, on what basis",
        True,
        (Purpose.AMBULANCE_SHARING, Purpose.ACCOUNTABILITY),
        _CONSENT_AND_VITAL,
        RecordClass.ALERT_RECORD,
        "staff; the resident on a subject access request",
        _SERVER_DB,
        subject="participant_id",
    ),
    Declaration(
        "referrals",
        ("id", "alert_id", "participant_id", "service", "note", "created_at", "created_by"),
        "follow-up referrals to a treatment service after an overdose",
        True,
        (Purpose.REFERRAL,),
        _CONSENT_ONLY,
        RecordClass.ALERT_RECORD,
        "the named treatment service (as a FHIR ServiceRequest)",
        _SERVER_DB,
        subject="participant_id",
    ),
)

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
        ),
        "which wearable a pseudonymous resident wears, in which room",
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
        ("id", "username", "role", "password_hash", "disabled", "created_at", "updated_at"),
        "staff and responder accounts",
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
