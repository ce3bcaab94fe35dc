"""The inventory's resident records: pseudonyms, identity, consent, erasures, sharing (pure).

Part of :mod:`server.privacy.inventory` (issue 8). Export and erasure walk every table with a
``subject`` column (:mod:`server.privacy.rights`).
"""

from __future__ import annotations

from typing import Final

from server.privacy.declarations import (
    CONSENT_AND_VITAL,
    CONSENT_ONLY,
    SERVER_DB,
    Declaration,
    Purpose,
    RecordClass,
)

_CONSENT_AND_VITAL = CONSENT_AND_VITAL
_CONSENT_ONLY = CONSENT_ONLY
_SERVER_DB = SERVER_DB

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
