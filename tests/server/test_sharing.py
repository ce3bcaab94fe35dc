"""Sharing only as consented: the emergency data set and the follow-up referral."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from firmware_bridge.wire import AlertKind, Severity
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle
from server.privacy.enrol import enrol_consented
from server.privacy.sharing import EMERGENCY_FIELDS
from server.store.db import Store
from server.store.residents import Residents
from tests.server.conftest import add_user, log_in, staff_client

NOW = datetime.now(UTC)
QUIET, ESCALATED, RESOLVED, FALSE_ALARM = (
    wire.encode_ulid(int(NOW.timestamp() * 1000) + n, n) for n in range(4)
)


def _alert(alert_id: str) -> Alert:
    return Alert(
        alert_id,
        "hostel-1",
        "pi-1",
        AlertKind.APNOEA,
        Severity.CRITICAL,
        NOW,
        NOW - timedelta(seconds=25),
        NOW,
        participant_id="p-0001",
        room_id="room-3",
        evidence={"seconds_since_breath": 25.0},
    )


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = settings_from_mapping(
        {
            "mqtt": {"port": 1},
            "sites": [
                {"id": "hostel-1", "name": "H", "rooms": [{"id": "room-3", "label": "Room 3"}]}
            ],
        }
    )
    store = Store(None)
    now = lambda: NOW  # noqa: E731
    enrol_consented(
        store.db,
        now,
        site_id="hostel-1",
        device_id="wearable-1",
        room_id="room-3",
        participant_id="p-0001",
        by="night-staff",
    )
    Residents(store.db, now).set_identity("p-0001", "Morag Example", date(1984, 3, 2), "", "s")
    store.insert_alert(_alert(QUIET), Lifecycle(AlertState.ACKNOWLEDGED, 0))
    store.insert_alert(_alert(ESCALATED), Lifecycle(AlertState.TRIGGERED, 1))
    for alert_id, outcome in ((RESOLVED, "naloxone_given"), (FALSE_ALARM, "false_alarm")):
        store.insert_alert(_alert(alert_id), Lifecycle(AlertState.RESOLVED, 0))
        store.db.execute("UPDATE alerts SET outcome = ? WHERE id = ?", [outcome, alert_id])
    store.db.conn.commit()
    with TestClient(create_app(settings, store=store)) as client:
        staff_client(client)
        yield client


def _disclose(client: TestClient, alert_id: str, **body: str) -> tuple[int, dict[str, object]]:
    answer = client.post(
        f"/api/alerts/{alert_id}/disclosure", json={"reason": "handover to paramedics", **body}
    )
    return answer.status_code, answer.json()


def test_sharing_emergency_data_set_is_fixed_minimal_audited_and_registered(
    client: TestClient,
) -> None:
    status, answer = _disclose(client, ESCALATED)
    assert status == 201, answer
    data = answer["data"]
    assert isinstance(data, dict)
    assert tuple(data) == EMERGENCY_FIELDS
    assert data["room"] == "Room 3"
    assert data["latest_evidence"] == {"seconds_since_breath": 25.0}
    assert data["naloxone_given"] is None
    assert "p-0001" not in str(answer)
    assert "Morag" not in str(answer)
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    (row,) = store.db.query("SELECT * FROM disclosures")
    assert (row["alert_id"], row["recipient"], row["reason"]) == (
        ESCALATED,
        "Scottish Ambulance Service",
        "handover to paramedics",
    )
    assert "vital interests" in row["basis"]
    entry = client.app.state.services.audit.entries("p-0001")[0]  # type: ignore[attr-defined]
    assert (entry["action"], entry["detail"]["alert"]) == ("disclose.emergency", ESCALATED)


def test_sharing_emergency_disclosure_is_refused_unless_escalated_consented_and_reasoned(
    client: TestClient,
) -> None:
    assert _disclose(client, QUIET)[0] == 409
    assert _disclose(client, ESCALATED, reason="")[0] == 422
    assert client.post(f"/api/alerts/{ESCALATED}/disclosure", json={}).status_code == 422
    # Withdrawing ambulance sharing stops only that flow: monitoring carries on.
    withdrawn = client.post(
        "/api/residents/p-0001/consent/withdraw", json={"purposes": ["ambulance_sharing"]}
    )
    assert withdrawn.json()["edge"] == "active"
    assert _disclose(client, ESCALATED)[0] == 403
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    assert store.db.execute("SELECT COUNT(*) FROM disclosures").fetchone()[0] == 0


def test_sharing_a_responder_on_scene_can_hand_over(client: TestClient) -> None:
    add_user(client, "resp-1", Role.RESPONDER)
    log_in(client, "resp-1")
    status, answer = _disclose(client, ESCALATED)
    assert status == 201
    assert "p-0001" not in str(answer)
    assert client.post(f"/api/alerts/{RESOLVED}/referral", json={"service": "x"}).status_code == (
        403
    )


def test_sharing_referral_after_an_overdose_is_a_fhir_service_request(client: TestClient) -> None:
    made = client.post(
        f"/api/alerts/{RESOLVED}/referral",
        json={"service": "Cair Drugs Service", "note": "prefers mornings"},
    )
    assert made.status_code == 201, made.text
    document = made.json()
    assert document["resourceType"] == "ServiceRequest"
    assert (document["status"], document["intent"]) == ("active", "order")
    assert document["subject"] == {"reference": "#resident"}
    (patient,) = document["contained"]
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"][0]["value"] == "p-0001"
    assert patient["name"] == [{"text": "Morag Example"}]
    assert patient["birthDate"] == "1984-03-02"
    assert document["performer"] == [{"display": "Cair Drugs Service"}]
    assert document["note"] == [{"text": "prefers mornings"}]
    assert "naloxone_given" in document["reasonCode"][0]["text"]
    again = client.get(f"/api/referrals/{document['id']}")
    assert again.json() == document
    actions = [e["action"] for e in client.app.state.services.audit.entries("p-0001")]  # type: ignore[attr-defined]
    assert actions[:2] == ["read.referral", "referral.create"]


def test_sharing_referral_is_refused_without_an_overdose_or_consent(client: TestClient) -> None:
    for alert_id in (ESCALATED, FALSE_ALARM):  # open, and resolved as a false alarm
        refused = client.post(f"/api/alerts/{alert_id}/referral", json={"service": "x"})
        assert refused.status_code == 409, alert_id
    client.post("/api/residents/p-0001/consent/withdraw", json={"purposes": ["referral"]})
    refused = client.post(f"/api/alerts/{RESOLVED}/referral", json={"service": "x"})
    assert refused.status_code == 403
    assert client.post(f"/api/alerts/{RESOLVED}/referral", json={}).status_code == 422
