"""Consent records: per-purpose state, the texts and their hashes, append-only rows, the API."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from firmware_bridge.wire import CommandBody
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.privacy.consent import (
    CONSENT_PURPOSES,
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    ConsentRefused,
    EdgeConsent,
    PurposeState,
    check_against,
    edge_consent,
    permits,
    purpose_states,
    snapshot,
    text_sha256,
)
from server.privacy.consent_texts import TEXTS_DIR, consent_texts, current_text
from server.privacy.gate import ConsentGate
from server.privacy.inventory import Purpose
from server.store.consents import Consents, Verdict
from server.store.db import Store
from server.store.residents import Residents
from tests.server.conftest import add_user, log_in, staff_client

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
M, A, R, S = (
    Purpose.MONITORING,
    Purpose.AMBULANCE_SHARING,
    Purpose.REFERRAL,
    Purpose.STATISTICS,
)


def record(
    action: ConsentAction, *purposes: Purpose, at: datetime = NOW, review: date | None = None
) -> ConsentRecord:
    text = current_text()
    giving = action is ConsentAction.GIVE
    return ConsentRecord(
        participant_id="p-0001",
        action=action,
        purposes=purposes,
        method=ConsentMethod.WRITTEN,
        witness="night-staff",
        recorded_at=at,
        recorded_by="night-staff",
        text_version=text.version,
        text_sha256=text.sha256,
        capacity_confirmed=giving,
        review_due=(review or (at.date() + timedelta(days=90))) if giving else None,
    )


GIVE, DECLINE, WITHDRAW = ConsentAction.GIVE, ConsentAction.DECLINE, ConsentAction.WITHDRAW


# -- the pure core --------------------------------------------------------------------------------


def test_consent_state_per_purpose_is_the_latest_record_naming_it() -> None:
    history = [record(GIVE, M, A, R), record(WITHDRAW, A), record(DECLINE, S)]
    assert purpose_states(history) == {
        M: PurposeState.GIVEN,
        A: PurposeState.WITHDRAWN,
        R: PurposeState.GIVEN,
        S: PurposeState.DECLINED,
    }
    assert permits(history, M, TODAY)
    assert not permits(history, A, TODAY)  # withdrawing one purpose stops only that flow
    assert permits(history, R, TODAY)
    assert edge_consent(history, erased=False, today=TODAY) is EdgeConsent.ACTIVE


def test_consent_declining_changes_nothing_else() -> None:
    given = [record(GIVE, M, A)]
    after = [*given, record(DECLINE, R)]
    states = purpose_states(after)
    assert states[R] is PurposeState.DECLINED
    assert {p: s for p, s in states.items() if p is not R} == {
        p: s for p, s in purpose_states(given).items() if p is not R
    }
    assert edge_consent(after, erased=False, today=TODAY) is EdgeConsent.ACTIVE
    assert edge_consent([record(DECLINE, *CONSENT_PURPOSES)], erased=False, today=TODAY) is (
        EdgeConsent.WITHDRAWN
    )


@pytest.mark.parametrize(
    ("history", "erased", "expected"),
    [
        ([], False, EdgeConsent.PAUSED),
        ([record(GIVE, M)], False, EdgeConsent.ACTIVE),
        ([record(GIVE, M), record(WITHDRAW, M)], False, EdgeConsent.WITHDRAWN),
        ([record(GIVE, M), record(WITHDRAW, M), record(GIVE, M)], False, EdgeConsent.ACTIVE),
        ([record(GIVE, M, review=TODAY + timedelta(days=1))], False, EdgeConsent.ACTIVE),
        ([record(GIVE, M)], True, EdgeConsent.ERASED),
    ],
)
def test_consent_edge_state(
    history: list[ConsentRecord], erased: bool, expected: EdgeConsent
) -> None:
    assert edge_consent(history, erased=erased, today=TODAY) is expected


def test_consent_review_date_passing_pauses_monitoring_and_every_other_purpose() -> None:
    history = [record(GIVE, M, A, review=TODAY + timedelta(days=3))]
    later = TODAY + timedelta(days=3)
    assert edge_consent(history, erased=False, today=later) is EdgeConsent.PAUSED
    assert not permits(history, A, later)
    assert snapshot({"p-0001": history}, ["p-0009"], later) == {
        "p-0001": "paused",
        "p-0009": "erased",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text_version": None}, "text"),
        ({"text_sha256": None}, "text"),
        ({"capacity_confirmed": False}, "capacity_confirmed"),
        ({"review_due": None}, "review_due"),
        ({"review_due": TODAY}, "review_due"),
        ({"review_due": TODAY + timedelta(days=400)}, "review_due"),
        ({"purposes": ()}, "purposes"),
        ({"purposes": (M, M)}, "purposes"),
        ({"purposes": (Purpose.OPERATIONS,)}, "purposes"),
        ({"witness": ""}, "witness"),
        ({"participant_id": "Bob Smith"}, "participant"),
    ],
)
def test_consent_incomplete_record_is_refused(change: dict[str, Any], field: str) -> None:
    good = record(GIVE, M)
    with pytest.raises(ConsentRefused) as caught:
        replace(good, **change)
    assert caught.value.field == field


def test_consent_withdrawal_needs_nothing_but_the_purpose_and_who() -> None:
    quick = ConsentRecord("p-0001", WITHDRAW, (M,), ConsentMethod.PANEL, "night-staff", NOW, "x")
    assert quick.text_version is None


def test_consent_other_purposes_need_monitoring() -> None:
    with pytest.raises(ConsentRefused):
        check_against(record(GIVE, A), [])
    check_against(record(GIVE, A), [record(GIVE, M)])
    check_against(record(GIVE, M, A), [])


def test_consent_texts_are_versioned_and_hashed_and_say_what_they_must() -> None:
    texts = consent_texts()
    assert "v1" in texts
    for version, text in texts.items():
        body = (TEXTS_DIR / f"consent-{version}.md").read_bytes()
        assert text.sha256 == text_sha256(body)
        lowered = text.body.lower()
        for needed in (
            "changes nothing",
            "change your mind",
            "ambulance",
            "referral",
            "statistics",
            "raw readings",
            "review",
            "delete",
        ):
            assert needed in lowered, f"{version} does not say {needed!r}"
    # Pin v1: a shipped text is never edited; a change is a new version file.
    assert texts["v1"].sha256 == "24bb8114bef95c5cd3b4400907eee507370f34ea55420f84c0d89ee9d6df1253"


# -- the store ------------------------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store(None)
    Residents(store.db, lambda: NOW).ensure("p-0001", "hostel-1", "t")
    yield store
    store.close()


def test_consent_records_are_never_edited_or_deleted(store: Store) -> None:
    Consents(store.db, lambda: NOW).add(record(GIVE, M))
    with pytest.raises(sqlite3.IntegrityError, match="never edited"):
        store.db.execute("UPDATE consent_records SET action = 'withdraw'")
    with pytest.raises(sqlite3.IntegrityError, match="only erasure"):
        store.db.execute("DELETE FROM consent_records")


def test_consent_record_with_an_unknown_text_or_a_wrong_hash_is_refused(store: Store) -> None:
    consents = Consents(store.db, lambda: NOW)
    with pytest.raises(ConsentRefused, match="does not match"):
        consents.add(replace(record(GIVE, M), text_sha256="0" * 64))
    with pytest.raises(ConsentRefused, match="no consent text"):
        consents.add(replace(record(GIVE, M), text_version="v999"))
    assert consents.history("p-0001") == []


def test_consent_verdict_for_ingest(store: Store) -> None:
    consents = Consents(store.db, lambda: NOW)
    assert consents.verdict("p-0001") is Verdict.REFUSED  # known, not yet asked
    assert consents.verdict("p-7777") is Verdict.UNENROLLED
    consents.add(record(GIVE, M))
    assert consents.verdict("p-0001") is Verdict.CONSENTED
    consents.add(record(WITHDRAW, M))
    assert consents.verdict("p-0001") is Verdict.REFUSED


def _alert(participant: str | None) -> wire.Envelope:
    return wire.Envelope(
        wire.encode_ulid(1_800_000_000_000, 1),
        wire.MessageKind.DEVICE,
        "hostel-1",
        "pi-1",
        NOW,
        wire.DeviceBody("connected"),
        participant_id=participant,
    )


def test_consent_gate_refuses_known_residents_without_consent_and_can_refuse_strangers(
    store: Store,
) -> None:
    gate = ConsentGate(Consents(store.db, lambda: NOW), lambda: NOW)
    assert not gate.admits(_alert("p-0001"))
    assert gate.admits(_alert("p-7777"))  # unenrolled: stored, counted, logged
    assert gate.admits(_alert(None))  # about a device, not a person
    strict = ConsentGate(Consents(store.db, lambda: NOW), lambda: NOW, refuse_unenrolled=True)
    assert not strict.admits(_alert("p-7777"))
    assert gate.counts == {"refused_no_consent": 1, "unenrolled": 1}


def test_consent_review_date_passing_republishes_the_site_paused(store: Store) -> None:
    clock = [NOW]
    consents = Consents(store.db, lambda: clock[0])
    consents.add(record(GIVE, M, review=TODAY + timedelta(days=2)))
    store.set_edge_status("hostel-1", "pi-1", "online", "c1", NOW)
    sent: list[tuple[str, str, CommandBody]] = []

    async def send(site: str, edge: str, body: CommandBody) -> None:
        sent.append((site, edge, body))

    async def scenario() -> None:
        gate = ConsentGate(consents, lambda: clock[0])
        gate.set_sender(send)
        await gate.edge_online("hostel-1", "pi-1")
        assert gate.tick() == 0
        clock[0] = NOW + timedelta(days=2)
        assert gate.tick() == 1
        await asyncio.sleep(0.01)  # the publish runs as a task

    asyncio.run(scenario())
    assert [dict(body.args) for _, _, body in sent] == [{"p-0001": "active"}, {"p-0001": "paused"}]
    assert all(body.command == "consent" for _, _, body in sent)


# -- the API --------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = settings_from_mapping(
        {"mqtt": {"port": 1}, "sites": [{"id": "hostel-1", "name": "Hostel"}]}
    )
    with TestClient(create_app(settings, store=Store(None))) as client:
        staff_client(client)
        assert (
            client.post(
                "/api/residents", json={"participant_id": "p-0001", "site_id": "hostel-1"}
            ).status_code
            == 201
        )
        yield client


def api_give(client: TestClient, *purposes: str, **change: Any) -> Any:
    text = current_text()
    body = {
        "action": "give",
        "purposes": list(purposes),
        "method": "verbal",
        "witness": "day-staff",
        "text_version": text.version,
        "text_sha256": text.sha256,
        "capacity_confirmed": True,
        "review_due": (datetime.now(UTC).date() + timedelta(days=90)).isoformat(),
        **change,
    }
    return client.post("/api/residents/p-0001/consent", json=body)


def test_consent_api_give_withdraw_one_purpose_and_history(client: TestClient) -> None:
    given = api_give(client, "monitoring", "ambulance_sharing", "referral")
    assert given.status_code == 201, given.text
    assert given.json()["edge"] == "active"
    one = client.post(
        "/api/residents/p-0001/consent/withdraw", json={"purposes": ["ambulance_sharing"]}
    )
    assert one.status_code == 201
    assert one.json()["purposes"] == {
        "monitoring": "given",
        "ambulance_sharing": "withdrawn",
        "referral": "given",
        "statistics": "none",
    }
    assert one.json()["edge"] == "active"  # monitoring continues
    everything = client.post("/api/residents/p-0001/consent/withdraw", json={})
    assert everything.json()["edge"] == "withdrawn"
    assert set(everything.json()["purposes"].values()) == {"withdrawn", "none"}
    view = client.get("/api/residents/p-0001/consent").json()
    assert [(r["action"], r["witness"]) for r in view["history"]] == [
        ("give", "day-staff"),
        ("withdraw", "night-staff"),
        ("withdraw", "night-staff"),
    ]
    audit = client.app.state.services.audit  # type: ignore[attr-defined]
    actions = [e["action"] for e in audit.entries("p-0001")]
    assert actions[:4] == ["read.consent", "consent.withdraw", "consent.withdraw", "consent.give"]


def test_consent_api_refuses_bad_records_with_a_reason(client: TestClient) -> None:
    assert api_give(client, "monitoring", text_sha256="0" * 64).status_code == 422
    assert api_give(client, "monitoring", capacity_confirmed=False).status_code == 422
    assert api_give(client, "referral").status_code == 422  # needs monitoring first
    assert api_give(client, "monitoring", purposes=["tenancy"]).status_code == 422
    assert client.post("/api/residents/p-9999/consent/withdraw", json={}).status_code == 404
    assert client.get("/api/residents/p-0001/consent").json()["history"] == []


def test_consent_decline_is_recorded_and_changes_nothing_else(client: TestClient) -> None:
    declined = api_give(client, "monitoring", "statistics", action="decline")
    assert declined.status_code == 201, declined.text
    assert declined.json()["purposes"]["monitoring"] == "declined"
    assert client.get("/residents").status_code == 200  # still a resident, nothing removed


def test_consent_panel_withdraw_is_one_button(client: TestClient) -> None:
    api_give(client, "monitoring")
    page = client.get("/residents/p-0001")
    assert page.status_code == 200
    assert 'id="withdraw-all"' in page.text
    csrf = client.headers["x-csrf-token"]
    done = client.post(
        "/residents/p-0001/withdraw", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    assert client.get("/api/residents/p-0001/consent").json()["edge"] == "withdrawn"


def test_consent_panel_give_form_records_the_text_shown(client: TestClient) -> None:
    text = current_text()
    form = {
        "csrf_token": client.headers["x-csrf-token"],
        "action": "give",
        "purposes": ["monitoring", "statistics"],
        "method": "easy_read",
        "text_version": text.version,
        "text_sha256": text.sha256,
        "capacity_confirmed": "yes",
        "review_due": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
    }
    done = client.post("/residents/p-0001/consent", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    (row,) = client.get("/api/residents/p-0001/consent").json()["history"]
    assert (row["text_sha256"], row["method"], row["purposes"]) == (
        text.sha256,
        "easy_read",
        "monitoring,statistics",
    )


def test_consent_pages_are_not_for_responders(client: TestClient) -> None:
    add_user(client, "resp-1", Role.RESPONDER)
    log_in(client, "resp-1")
    assert client.get("/api/residents/p-0001/consent").status_code == 403
    assert client.post("/api/residents/p-0001/consent/withdraw", json={}).status_code == 403


def test_consent_residents_list_flags_reviews_due_soon_and_holds_no_identity(
    client: TestClient,
) -> None:
    client.post("/api/residents/p-0001/identity", json={"name": "Morag Example"})
    assert "pending" in client.get("/residents").text
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    api_give(client, "monitoring", review_due=soon)
    page = client.get("/residents").text
    assert soon in page
    assert "ask again soon" in page
    assert "Morag" not in page


def test_consent_a_site_too_big_for_one_snapshot_is_refused_loudly_every_time(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """More residents than a snapshot holds: nothing is sent (an edge would get a partial list),
    the refusal is counted and logged each time, and a site within the limit is still served."""
    residents = Residents(store.db, lambda: NOW)
    for n in range(wire.MAX_COMMAND_ARGS + 1):
        residents.ensure(f"p-{n + 2000:04d}", "big-site", "x")
    residents.ensure("p-9999", "hostel-1", "x")
    store.set_edge_status("big-site", "pi-9", "online", "c1", NOW)
    store.set_edge_status("hostel-1", "pi-1", "online", "c1", NOW)
    sent: list[tuple[str, str]] = []

    async def send(site: str, edge: str, _body: CommandBody) -> None:
        sent.append((site, edge))

    async def scenario() -> ConsentGate:
        gate = ConsentGate(Consents(store.db, lambda: NOW), lambda: NOW)
        gate.set_sender(send)
        await gate.publish_all()
        await gate.edge_online("big-site", "pi-9")
        return gate

    gate = asyncio.run(scenario())
    assert sent == [("hostel-1", "pi-1")]
    assert gate.counts["snapshot_too_big"] == 2
    assert sum("big-site has 201 residents and erasures" in r.message for r in caplog.records) == 2
