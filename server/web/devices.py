"""Devices and enrolment: pair a wearable with a resident's pseudonym (shell; staff and admin).

Reading the enrolments shows which pseudonym wears which device, so the page writes an audit row
before it renders; every enrolment and ending is audited too.

**Consent.** Enrolling makes the pseudonym a resident of the site (:mod:`server.store.residents`)
and starts with consent ``pending``; the browser is then sent to ``/enrolments/{id}/consent``,
which leads to the resident's consent page (:mod:`server.web.consent`). The enrolment's
``consent`` column mirrors the resident's consent records; the board shows the wearable as
"not consented" until monitoring consent is given.

**Device list.** An enrolment that names the edge, the model and the address puts the device on
that edge's list, which is republished (retained) after every enrolment and ending
(:mod:`server.device_lists`): the edge starts or stops the link without a restart.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from firmware_bridge.errors import WireError
from firmware_bridge.wire import DeviceEntry, DeviceModel
from server.store.enrolments import EnrolmentError, Enrolments
from server.store.residents import ResidentError, Residents
from server.web.deps import AuditDep, StaffUser, StoreDep, context_of, services_of
from server.web.templating import render

router = APIRouter()

FormId = Annotated[str, Form(max_length=64)]

ROWID_MAX: Final = 2**63 - 1
"""SQLite's largest integer: a larger id in a path cannot be bound to a query, so it is a 422."""
EnrolmentId = Annotated[int, Path(ge=1, le=ROWID_MAX)]


def _enrolments(request: Request, store: StoreDep) -> Enrolments:
    return Enrolments(store.db, context_of(request).now)


def _page(
    request: Request, store: StoreDep, error: str | None = None, status: int = 200
) -> Response:
    enrolments = _enrolments(request, store)
    settings = context_of(request).settings
    sites = [(s.id, s.name, [(r.id, r.label) for r in s.rooms]) for s in settings.sites]
    context = {
        "devices": enrolments.devices(),
        "enrolments": enrolments.live(),
        "sites": sites,
        "models": [model.value for model in DeviceModel],
        "edges": sorted({edge for _, edge in enrolments.listed_edges()} | _known_edges(store)),
        "error": error,
    }
    return render(request, "devices.html", context, status=status)


def _known_edges(store: StoreDep) -> set[str]:
    return {str(row["edge_id"]) for row in store.edges()}


def _optional(value: str) -> str | None:
    return value.strip() or None


def _entry(
    device_id: str, participant_id: str, room_id: str, model: str, address: str
) -> DeviceEntry | None:
    """The device-list entry an enrolment would add; None if it is malformed (enrol says why)."""
    try:
        return DeviceEntry(
            device_id,
            DeviceModel(model.strip()),
            participant_id,
            room_id or None,
            _optional(address),
        )
    except (ValueError, WireError):
        return None


@router.get("/devices")
async def devices_page(
    request: Request, store: StoreDep, user: StaffUser, audit: AuditDep
) -> Response:
    """Devices the server has heard from, live enrolments and the enrol form."""
    audit.record(user.username, user.role.value, "read.enrolments", "enrolments")
    return _page(request, store)


@router.post("/devices/enrol")
async def enrol(
    request: Request,
    store: StoreDep,
    user: StaffUser,
    audit: AuditDep,
    device_id: FormId,
    site_id: FormId,
    participant_id: FormId,
    room_id: Annotated[str, Form(max_length=64)] = "",
    edge_id: Annotated[str, Form(max_length=64)] = "",
    model: Annotated[str, Form(max_length=64)] = "",
    address: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Pair a wearable with a pseudonym, then go to the consent step.

    With an edge and a model (and the address the model needs), the device goes on that edge's
    device list and the edge starts its link once the resident has consented.
    """
    device_id, participant_id = device_id.strip().lower(), participant_id.strip().lower()
    settings = context_of(request).settings
    site = next((s for s in settings.sites if s.id == site_id), None)
    if site is None:
        return _page(request, store, f"no site {site_id!r}", status=400)
    if room_id and all(room.id != room_id for room in site.rooms):
        return _page(request, store, f"no room {room_id!r} at {site.name}", status=400)
    lists = services_of(request).device_lists
    listed = _entry(device_id, participant_id, room_id, model, address)
    if listed is not None and edge_id and not lists.fits(site_id, edge_id.strip(), listed):
        reason = (
            f"edge {edge_id.strip()}'s device list is full (the wire's 4 KiB); use another edge"
        )
        return _page(request, store, reason, status=400)
    audit.record(
        user.username,
        user.role.value,
        "enrolment.create",
        participant_id,
        {"device": device_id, "site": site_id, "room": room_id, "edge": edge_id, "model": model},
    )
    try:
        Residents(store.db, context_of(request).now).ensure(participant_id, site_id, user.username)
        enrolment_id = _enrolments(request, store).enrol(
            device_id,
            site_id,
            room_id or None,
            participant_id,
            user.username,
            edge_id=_optional(edge_id),
            model=_optional(model),
            address=_optional(address),
        )
    except ResidentError as error:
        return _page(request, store, error.reason, status=400)
    except EnrolmentError as error:
        return _page(request, store, error.reason, status=400)
    gate = services_of(request).consent_gate
    gate.consents.sync_site(site_id)  # a resident who already consented is active at once
    await gate.publish_site(site_id)
    await lists.publish_site(site_id)
    return RedirectResponse(consent_step(enrolment_id), status_code=303)


def consent_step(enrolment_id: int) -> str:
    """Where a new enrolment goes next: its resident's consent page."""
    return f"/enrolments/{enrolment_id}/consent"


@router.get("/enrolments/{enrolment_id}/consent")
async def consent_of_enrolment(
    request: Request, enrolment_id: EnrolmentId, store: StoreDep, user: StaffUser
) -> Response:
    """The consent step of an enrolment: the resident's consent page."""
    del user
    enrolment = _enrolments(request, store).get(enrolment_id)
    if enrolment is None:
        raise HTTPException(status_code=404, detail=f"no enrolment {enrolment_id}")
    return RedirectResponse(f"/residents/{enrolment['participant_id']}", status_code=303)


@router.post("/devices/enrolments/{enrolment_id}/end")
async def end_enrolment(
    request: Request,
    enrolment_id: EnrolmentId,
    store: StoreDep,
    user: StaffUser,
    audit: AuditDep,
) -> Response:
    """End an enrolment: the wearable is free for someone else."""
    enrolments = _enrolments(request, store)
    enrolment = enrolments.get(enrolment_id)
    if enrolment is None or enrolment["ended_at"] is not None:
        return _page(request, store, f"no live enrolment {enrolment_id}", status=404)
    audit.record(
        user.username,
        user.role.value,
        "enrolment.end",
        enrolment["participant_id"],
        {"device": enrolment["device_id"]},
    )
    enrolments.end(enrolment_id, user.username)
    if enrolment["model"] is not None:  # its edge stops it: no stale "connected" on the board
        enrolments.forget_health(enrolment["site_id"], enrolment["device_id"])
    lists = services_of(request).device_lists
    await lists.publish_site(enrolment["site_id"])
    return RedirectResponse("/devices", status_code=303)
