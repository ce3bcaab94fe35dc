"""Residents, their identity and their consent: panel pages and JSON API (shell; staff and admin).

Identity (name, date of birth, notes) is shown to staff and admins only, never to responders,
and every read writes its audit row before the data is returned. Giving, declining and
withdrawing consent each add a record and publish the site's retained consent snapshot to its
edges at once; withdrawing is one button (or one API call) with nothing to fill in.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from server.auth.models import User
from server.privacy.consent import (
    CONSENT_PURPOSES,
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    ConsentRefused,
    PurposeState,
    purpose_states,
    review_due,
)
from server.privacy.consent_texts import current_text
from server.privacy.gate import ConsentGate
from server.privacy.inventory import Purpose
from server.store.residents import ResidentError, Residents
from server.web.deps import AuditDep, StaffUser, context_of, services_of
from server.web.templating import render
from server.web.visibility import WINDOW_H, visibility_view

router = APIRouter()

REVIEW_SOON_DAYS: Final = 14
"""Residents whose review is this close are flagged on the list, so staff can ask in time."""


class ConsentIn(BaseModel):
    """A consent record as the API takes it."""

    model_config = ConfigDict(extra="forbid")

    action: ConsentAction
    purposes: list[Purpose] = Field(min_length=1, max_length=len(CONSENT_PURPOSES))
    method: ConsentMethod
    witness: str | None = Field(default=None, max_length=64)
    text_version: str | None = Field(default=None, max_length=16)
    text_sha256: str | None = Field(default=None, max_length=64)
    capacity_confirmed: bool = False
    review_due: date | None = None


class WithdrawIn(BaseModel):
    """Withdrawal: nothing is required; no purposes means every purpose given."""

    model_config = ConfigDict(extra="forbid")

    purposes: list[Purpose] = Field(default_factory=list, max_length=len(CONSENT_PURPOSES))


class ResidentIn(BaseModel):
    """A new pseudonymous resident."""

    model_config = ConfigDict(extra="forbid")

    participant_id: str = Field(max_length=64)
    site_id: str = Field(max_length=64)


class IdentityIn(BaseModel):
    """A resident's identity, or a correction of it (``reason`` then required)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    date_of_birth: date | None = None
    notes: str = Field(default="", max_length=2000)
    reason: str = Field(default="", max_length=500)


def _gate(request: Request) -> ConsentGate:
    return services_of(request).consent_gate


def _residents(request: Request) -> Residents:
    return Residents(services_of(request).store.db, context_of(request).now)


def _resident(request: Request, participant_id: str) -> dict[str, Any]:
    row = _residents(request).get(participant_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"no resident {participant_id!r}")
    return row


def consent_view(request: Request, participant_id: str) -> dict[str, Any]:
    """The consent state and history of a resident (the caller audits first)."""
    consents = _gate(request).consents
    history = consents.history(participant_id)
    return {
        "participant_id": participant_id,
        "purposes": {p.value: s.value for p, s in purpose_states(history).items()},
        "edge": consents.edge_state(participant_id).value,
        "review_due": None if (due := review_due(history)) is None else due.isoformat(),
        "history": consents.rows(participant_id),
    }


async def change_consent(
    request: Request, user: User, audit: AuditDep, participant_id: str, body: ConsentIn
) -> dict[str, Any]:
    """Audit, record and publish one consent change; returns the new view.

    Raises:
        HTTPException: 404 for an unknown resident, 422 for a refused record.
    """
    site_id = _resident(request, participant_id)["site_id"]
    try:
        record = ConsentRecord(
            participant_id=participant_id,
            action=body.action,
            purposes=tuple(body.purposes),
            method=body.method,
            witness=body.witness or user.username,
            recorded_at=context_of(request).now(),
            recorded_by=user.username,
            text_version=body.text_version,
            text_sha256=body.text_sha256,
            capacity_confirmed=body.capacity_confirmed,
            review_due=body.review_due,
        )
    except ConsentRefused as error:
        raise HTTPException(status_code=422, detail=error.reason) from None
    audit.record(
        user.username,
        user.role.value,
        f"consent.{body.action.value}",
        participant_id,
        {"purposes": [p.value for p in body.purposes], "method": body.method.value},
    )
    gate = _gate(request)
    try:
        gate.consents.add(record)
    except ConsentRefused as error:
        raise HTTPException(status_code=422, detail=f"{error.field}: {error.reason}") from None
    await gate.publish_site(site_id)
    return consent_view(request, participant_id)


def withdrawal(request: Request, participant_id: str, body: WithdrawIn) -> ConsentIn:
    """The record a one-click withdrawal makes: the named purposes, or every one given."""
    purposes = body.purposes
    if not purposes:
        states = purpose_states(_gate(request).consents.history(participant_id))
        purposes = [p for p, s in states.items() if s is PurposeState.GIVEN]
        purposes = purposes or [Purpose.MONITORING]
    return ConsentIn(action=ConsentAction.WITHDRAW, purposes=purposes, method=ConsentMethod.PANEL)


# -- JSON API -------------------------------------------------------------------------------------


@router.post("/api/residents", status_code=201)
async def create_resident(
    request: Request, body: ResidentIn, user: StaffUser, audit: AuditDep
) -> dict[str, Any]:
    """Add a pseudonymous resident at a site (staff, admin)."""
    if all(site.id != body.site_id for site in context_of(request).settings.sites):
        raise HTTPException(status_code=422, detail=f"no site {body.site_id!r}")
    audit.record(user.username, user.role.value, "resident.create", body.participant_id)
    try:
        _residents(request).ensure(body.participant_id, body.site_id, user.username)
    except ResidentError as error:
        raise HTTPException(status_code=422, detail=f"{error.field}: {error.reason}") from None
    return {"participant_id": body.participant_id, "site_id": body.site_id}


@router.get("/api/residents/{participant_id}/consent")
async def get_consent(
    request: Request, participant_id: str, user: StaffUser, audit: AuditDep
) -> dict[str, Any]:
    """A resident's consent per purpose and its history (staff, admin; audited)."""
    _resident(request, participant_id)
    audit.record(user.username, user.role.value, "read.consent", participant_id)
    return consent_view(request, participant_id)


@router.get("/api/residents/{participant_id}/breathing-visibility")
async def get_visibility(
    request: Request,
    participant_id: str,
    user: StaffUser,
    audit: AuditDep,
    hours: Annotated[float, Query(gt=0, le=24 * 31)] = WINDOW_H,
) -> dict[str, Any]:
    """How long the resident's sensors could not see breathing (staff, admin; audited)."""
    _resident(request, participant_id)
    audit.record(user.username, user.role.value, "read.visibility", participant_id)
    return visibility_view(
        services_of(request).store, participant_id, context_of(request).now(), hours
    )


@router.post("/api/residents/{participant_id}/consent", status_code=201)
async def post_consent(
    request: Request, participant_id: str, body: ConsentIn, user: StaffUser, audit: AuditDep
) -> dict[str, Any]:
    """Give, decline or withdraw consent for some purposes (staff, admin)."""
    return await change_consent(request, user, audit, participant_id, body)


@router.post("/api/residents/{participant_id}/consent/withdraw", status_code=201)
async def withdraw(
    request: Request, participant_id: str, user: StaffUser, audit: AuditDep, body: WithdrawIn
) -> dict[str, Any]:
    """Withdraw (every purpose given, or the ones named): one call, nothing else needed."""
    _resident(request, participant_id)
    change = withdrawal(request, participant_id, body)
    return await change_consent(request, user, audit, participant_id, change)


@router.get("/api/residents/{participant_id}/identity")
async def get_identity(
    request: Request, participant_id: str, user: StaffUser, audit: AuditDep
) -> dict[str, Any]:
    """Who the resident is, with every version (staff, admin; audited before it answers)."""
    _resident(request, participant_id)
    audit.record(user.username, user.role.value, "read.identity", participant_id)
    residents = _residents(request)
    return {
        "participant_id": participant_id,
        "identity": residents.identity(participant_id),
        "history": residents.identity_history(participant_id),
    }


@router.post("/api/residents/{participant_id}/identity", status_code=201)
async def put_identity(
    request: Request, participant_id: str, body: IdentityIn, user: StaffUser, audit: AuditDep
) -> JSONResponse:
    """Record or rectify a resident's identity; a correction needs a reason (staff, admin)."""
    _resident(request, participant_id)
    # The audit detail names the fields, never their values (the log is not a copy of the data).
    audit.record(
        user.username,
        user.role.value,
        "identity.write",
        participant_id,
        {"fields": sorted(body.model_dump(exclude={"reason"}, exclude_defaults=True))},
    )
    try:
        version = _residents(request).set_identity(
            participant_id, body.name, body.date_of_birth, body.notes, user.username, body.reason
        )
    except ResidentError as error:
        raise HTTPException(status_code=422, detail=f"{error.field}: {error.reason}") from None
    return JSONResponse({"participant_id": participant_id, "version": version}, status_code=201)


# -- panel pages ----------------------------------------------------------------------------------


@router.get("/residents")
async def residents_page(request: Request, user: StaffUser, audit: AuditDep) -> Response:
    """Residents by pseudonym with their consent (no identity on this page), and the share of
    the last day a sensor could not see each one's breathing (audited per resident)."""
    audit.record(user.username, user.role.value, "read.residents", "residents")
    sites = [(s.id, s.name) for s in context_of(request).settings.sites]
    consents = _gate(request).consents
    store, now = services_of(request).store, context_of(request).now()
    rows = []
    for row in _residents(request).all():
        pid = row["participant_id"]
        history = consents.history(pid)
        due = review_due(history)
        # How long their sensors could not see breathing: derived health data, audited per
        # resident (their own access request lists it).
        audit.record(user.username, user.role.value, "read.visibility", pid)
        seen = visibility_view(store, pid, now)
        rows.append(
            {
                **row,
                "state": consents.edge_state(pid).value if history else "pending",
                "review_due": None if due is None else due.isoformat(),
                "review_soon": due is not None
                and (due - consents.today()).days <= REVIEW_SOON_DAYS,
                "blind_pct": max((s["blind_pct"] for s in seen["sources"]), default=0.0),
                "blind_now": seen["blind_now"],
                "advice": seen["advice"],
            }
        )
    return render(request, "residents.html", {"residents": rows, "sites": sites})


@router.post("/residents")
async def residents_create(
    request: Request,
    user: StaffUser,
    audit: AuditDep,
    participant_id: Annotated[str, Form(max_length=64)],
    site_id: Annotated[str, Form(max_length=64)],
) -> Response:
    """The add-a-resident form."""
    participant_id = participant_id.strip().lower()
    await create_resident(
        request, ResidentIn(participant_id=participant_id, site_id=site_id), user, audit
    )
    return RedirectResponse(f"/residents/{participant_id}", status_code=303)


@router.get("/residents/{participant_id}")
async def resident_page(
    request: Request, participant_id: str, user: StaffUser, audit: AuditDep
) -> Response:
    """One resident: identity, consent per purpose, the consent text, give/decline/withdraw,
    and how long their sensors could not see their breathing (both reads audited)."""
    resident = _resident(request, participant_id)
    audit.record(user.username, user.role.value, "read.identity", participant_id)
    audit.record(user.username, user.role.value, "read.visibility", participant_id)
    residents = _residents(request)
    now = context_of(request).now()
    today = now.date()
    context = {
        "resident": resident,
        "identity": residents.identity(participant_id),
        "identity_history": residents.identity_history(participant_id),
        "consent": consent_view(request, participant_id),
        "purposes": [p.value for p in CONSENT_PURPOSES],
        "methods": [m.value for m in ConsentMethod if m is not ConsentMethod.PANEL],
        "text": current_text(),
        "visibility": visibility_view(services_of(request).store, participant_id, now),
        "review_default": (
            today + timedelta(days=context_of(request).settings.privacy.review_days)
        ).isoformat(),
    }
    return render(request, "resident.html", context)


@router.post("/residents/{participant_id}/consent")
async def consent_form(
    request: Request, participant_id: str, user: StaffUser, audit: AuditDep
) -> Response:
    """The give / decline form."""
    _resident(request, participant_id)
    form = await request.form()
    purposes = [str(p) for p in form.getlist("purposes")]
    try:
        body = ConsentIn.model_validate(
            {
                "action": form.get("action"),
                "purposes": purposes,
                "method": form.get("method"),
                "witness": form.get("witness") or None,
                "text_version": form.get("text_version"),
                "text_sha256": form.get("text_sha256"),
                "capacity_confirmed": form.get("capacity_confirmed") == "yes",
                "review_due": form.get("review_due") or None,
            }
        )
    except ValueError as error:
        raise HTTPException(status_code=422, detail=f"the form is incomplete: {error}") from None
    await change_consent(request, user, audit, participant_id, body)
    return RedirectResponse(f"/residents/{participant_id}", status_code=303)


@router.post("/residents/{participant_id}/withdraw")
async def withdraw_form(
    request: Request, participant_id: str, user: StaffUser, audit: AuditDep
) -> Response:
    """The one-click withdraw button (every purpose given, or the one named)."""
    form = await request.form()
    named = form.get("purpose")
    _resident(request, participant_id)
    body = WithdrawIn(purposes=[Purpose(str(named))] if named in CONSENT_PURPOSES else [])
    await change_consent(
        request, user, audit, participant_id, withdrawal(request, participant_id, body)
    )
    return RedirectResponse(f"/residents/{participant_id}", status_code=303)


@router.post("/residents/{participant_id}/identity")
async def identity_form(
    request: Request,
    participant_id: str,
    user: StaffUser,
    audit: AuditDep,
    name: Annotated[str, Form(max_length=200)],
    date_of_birth: Annotated[str, Form(max_length=10)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record or correct the identity."""
    try:
        born = date.fromisoformat(date_of_birth) if date_of_birth else None
    except ValueError:
        raise HTTPException(status_code=422, detail="date of birth: YYYY-MM-DD") from None
    body = IdentityIn(name=name, date_of_birth=born, notes=notes, reason=reason)
    await put_identity(request, participant_id, body, user, audit)
    return RedirectResponse(f"/residents/{participant_id}", status_code=303)
