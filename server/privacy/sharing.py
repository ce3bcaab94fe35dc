"""Sharing rules: the emergency data set for paramedics and the follow-up referral (pure).

Both flows are checked at the point of use: the emergency disclosure needs an escalated alert,
the resident's ``ambulance_sharing`` consent and a reason; the referral needs an alert resolved
as an overdose and the resident's ``referral`` consent. The referral is shaped as a FHIR R4
``ServiceRequest`` so a treatment service's system can take it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from firmware_bridge.wire import format_utc
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Outcome

EMERGENCY_FIELDS: Final = ("room", "onset_at", "kind", "latest_evidence", "naloxone_given")
"""The fixed minimal data set for paramedics (F-08): where, since when, what was seen, and
whether naloxone was given. No name, no pseudonym, no history."""

EMERGENCY_BASIS: Final = (
    "consent (ambulance_sharing), Art 6(1)(a) + 9(2)(a); vital interests Art 6(1)(d) + 9(2)(c) "
    "while the resident cannot answer"
)

OVERDOSE_OUTCOMES: Final = frozenset(
    {Outcome.NALOXONE_GIVEN.value, Outcome.AMBULANCE_CALLED.value, Outcome.BREATHING_RESTORED.value}
)
"""Outcomes that mean the alert was an overdose: the follow-up pathway applies."""

REFERRAL_CODE_TEXT: Final = "Referral to a drug treatment service after a near-fatal overdose"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a sharing request is refused, and the HTTP status it is answered with."""

    status: int
    reason: str


def escalated(alert: Alert) -> bool:
    """A responder was paged beyond the first level, or the outcome is an ambulance call."""
    return alert.level > 0 or alert.outcome == Outcome.AMBULANCE_CALLED.value


def disclosure_refusal(alert: Alert, *, consented: bool) -> Refusal | None:
    """Whether the emergency data set may be released for ``alert``; None if it may."""
    if alert.participant_id is None:
        return Refusal(409, "this alert is not about an enrolled resident")
    if not escalated(alert):
        return Refusal(409, "only for an escalated alert (paged beyond level 0, or an ambulance)")
    if not consented:
        return Refusal(403, "the resident has not consented to sharing with the ambulance service")
    return None


def emergency_data_set(alert: Alert, room_label: str) -> dict[str, Any]:
    """The minimal data set, exactly :data:`EMERGENCY_FIELDS`."""
    if alert.outcome is not None:
        naloxone: bool | None = alert.outcome == Outcome.NALOXONE_GIVEN.value
    else:
        naloxone = None  # not recorded yet: the responder on scene says so
    return {
        "room": room_label,
        "onset_at": format_utc(alert.onset_at),
        "kind": alert.kind.value,
        "latest_evidence": dict(alert.evidence),
        "naloxone_given": naloxone,
    }


def referral_refusal(alert: Alert, *, consented: bool) -> Refusal | None:
    """Whether a follow-up referral may be made after ``alert``; None if it may."""
    if alert.participant_id is None:
        return Refusal(409, "this alert is not about an enrolled resident")
    if alert.state is not AlertState.RESOLVED or alert.outcome not in OVERDOSE_OUTCOMES:
        return Refusal(409, "only after an alert resolved as an overdose")
    if not consented:
        return Refusal(403, "the resident has not consented to a follow-up referral")
    return None


def service_request(
    referral_id: str,
    alert: Alert,
    *,
    service: str,
    note: str,
    authored_on: datetime,
    requester: str,
    identity: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The referral as a FHIR R4 ``ServiceRequest``-shaped document.

    The resident is the contained ``Patient``: the pseudonym as an identifier, and the name and
    date of birth when staff recorded them (the treatment service needs to reach the person).
    """
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "resident",
        "identifier": [{"system": "urn:odart:pseudonym", "value": alert.participant_id}],
    }
    if identity is not None:
        patient["name"] = [{"text": identity["name"]}]
        if identity.get("date_of_birth"):
            patient["birthDate"] = identity["date_of_birth"]
    document: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": referral_id,
        "contained": [patient],
        "status": "active",
        "intent": "order",
        "code": {"text": REFERRAL_CODE_TEXT},
        "subject": {"reference": "#resident"},
        "authoredOn": format_utc(authored_on),
        "requester": {"display": requester},
        "performer": [{"display": service}],
        "reasonCode": [{"text": f"{alert.kind.value} alert; outcome {alert.outcome}"}],
        "occurrenceDateTime": format_utc(alert.onset_at),
        "identifier": [{"system": "urn:odart:alert", "value": alert.alert_id}],
    }
    if note:
        document["note"] = [{"text": note}]
    return document
