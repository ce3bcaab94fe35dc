"""The vocabulary of the data inventory: purposes, record classes, one declaration (pure).

:mod:`server.privacy.inventory` lists the declarations; they are split out so the inventory's
parts (:mod:`server.privacy.inventory_residents`) can share them.
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


CONSENT_AND_VITAL: Final = (
    "Art 6(1)(a) consent + Art 9(2)(a) explicit consent; Art 6(1)(d)/9(2)(c) vital interests "
    "only for emergency disclosure"
)
CONSENT_ONLY: Final = "Art 6(1)(a) consent + Art 9(2)(a) explicit consent"
SERVER_DB: Final = "server SQLite database"
LEGITIMATE: Final = "Art 6(1)(f) legitimate interests (running a safe service)"
