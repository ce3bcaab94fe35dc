"""Sharing, only as consented: emergency disclosure and follow-up referrals (shell).

``POST /api/alerts/{id}/disclosure`` (any logged-in role: the responder on scene hands over to
paramedics) releases the fixed emergency data set; ``POST /api/alerts/{id}/referral`` and
``GET /api/referrals/{id}`` (staff and admin) make and read a FHIR ``ServiceRequest``. The rules
are :mod:`server.privacy.sharing`; each release writes its audit row first, then its register
row, then answers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Final

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from firmware_bridge.wire import format_utc, parse_utc
from server.domain.alerts import Alert
from server.privacy.inventory import Purpose
from server.privacy.sharing import (
    EMERGENCY_BASIS,
    EMERGENCY_FIELDS,
    Refusal,
    disclosure_refusal,
    emergency_data_set,
    referral_refusal,
    service_request,
)
from server.store.residents import Residents
from server.web.deps import AnyUser, AuditDep, StaffUser, StoreDep, context_of, services_of

router = APIRouter()

REASON_MIN_CHARS: Final = 5
"""A reason must say something ("handover to paramedics"), not just tick a box."""


class DisclosureIn(BaseModel):
    """Who receives the emergency data set, and why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=REASON_MIN_CHARS, max_length=500)
    recipient: str = Field(default="Scottish Ambulance Service", min_length=1, max_length=100)


class ReferralIn(BaseModel):
    """Which treatment service, and a short note for them."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=1000)


def _alert(store: StoreDep, alert_id: str) -> Alert:
    alert = store.alert(alert_id)
    if alert is None:
        raise HTTPException(status_code=404, detail=f"no alert {alert_id!r}")
    return alert


def _permits(request: Request, participant: str | None, purpose: Purpose) -> bool:
    gate = services_of(request).consent_gate
    return participant is not None and gate.consents.permits(participant, purpose)


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise HTTPException(status_code=refusal.status, detail=refusal.reason)


@router.post("/api/alerts/{alert_id}/disclosure", status_code=201)
async def disclose(
    request: Request,
    alert_id: str,
    body: DisclosureIn,
    store: StoreDep,
    user: AnyUser,
    audit: AuditDep,
) -> dict[str, Any]:
    """Release the emergency data set for an escalated alert (any role; consent checked)."""
    alert = _alert(store, alert_id)
    consented = _permits(request, alert.participant_id, Purpose.AMBULANCE_SHARING)
    _refuse(disclosure_refusal(alert, consented=consented))
    assert alert.participant_id is not None
    data = emergency_data_set(
        alert, context_of(request).settings.room_label(alert.site_id, alert.room_id)
    )
    released_at = context_of(request).now()
    audit.record(
        user.username,
        user.role.value,
        "disclose.emergency",
        alert.participant_id,
        {"alert": alert.alert_id, "recipient": body.recipient, "fields": list(EMERGENCY_FIELDS)},
    )
    with store.db.conn:
        cursor = store.db.execute(
            "INSERT INTO disclosures (alert_id, participant_id, recipient, reason, basis, fields, "
            "released_at, released_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                alert.alert_id,
                alert.participant_id,
                body.recipient,
                body.reason,
                EMERGENCY_BASIS,
                json.dumps(list(EMERGENCY_FIELDS)),
                format_utc(released_at),
                user.username,
            ],
        )
    return {"disclosure": cursor.lastrowid, "recipient": body.recipient, "data": data}


@router.post("/api/alerts/{alert_id}/referral", status_code=201)
async def refer(
    request: Request,
    alert_id: str,
    body: ReferralIn,
    store: StoreDep,
    user: StaffUser,
    audit: AuditDep,
) -> JSONResponse:
    """Refer the resident to a treatment service after an overdose, if they consented."""
    alert = _alert(store, alert_id)
    consented = _permits(request, alert.participant_id, Purpose.REFERRAL)
    _refuse(referral_refusal(alert, consented=consented))
    assert alert.participant_id is not None
    referral_id = str(uuid.uuid4())
    now = context_of(request).now()
    audit.record(
        user.username,
        user.role.value,
        "referral.create",
        alert.participant_id,
        {"alert": alert.alert_id, "referral": referral_id, "service": body.service},
    )
    with store.db.conn:
        store.db.execute(
            "INSERT INTO referrals (id, alert_id, participant_id, service, note, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                referral_id,
                alert.alert_id,
                alert.participant_id,
                body.service,
                body.note,
                format_utc(now),
                user.username,
            ],
        )
    return JSONResponse(_document(request, store, referral_id), status_code=201)


@router.get("/api/referrals/{referral_id}")
async def get_referral(
    request: Request, referral_id: str, store: StoreDep, user: StaffUser, audit: AuditDep
) -> dict[str, Any]:
    """A referral as its FHIR ``ServiceRequest`` (staff, admin; audited before it answers)."""
    row = store.db.execute(
        "SELECT participant_id FROM referrals WHERE id = ?", [referral_id]
    ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail=f"no referral {referral_id!r}")
    audit.record(user.username, user.role.value, "read.referral", row[0], {"referral": referral_id})
    return _document(request, store, referral_id)


def _document(request: Request, store: StoreDep, referral_id: str) -> dict[str, Any]:
    row = next(store.db.query("SELECT * FROM referrals WHERE id = ?", [referral_id]))
    alert = store.alert(row["alert_id"])
    if alert is None:  # purged with its alert; the referral went with it
        raise HTTPException(status_code=404, detail=f"no referral {referral_id!r}")
    identity = Residents(store.db, context_of(request).now).identity(row["participant_id"])
    return service_request(
        referral_id,
        alert,
        service=row["service"],
        note=row["note"],
        authored_on=parse_utc(row["created_at"]),
        requester=row["created_by"],
        identity=identity,
    )
