"""Staff see a sensor that cannot see breathing, until the edge sees breathing again (real MQTT).

The detector's ``no_signal`` warning is a technical alert: nobody is paged, but the wearable's
tile says "can't see breathing" while it stands, and the edge's ``recovered`` closes it. The
resident page's figures say how long that was over the last day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.conftest import staff_client
from tests.server.test_consent import api_give
from tests.server.test_escalation import alert_envelope
from tests.server.test_health import device

pytestmark = pytest.mark.integration

_n = iter(range(1, 10_000))
PARTICIPANT = "p-0001"
WEARABLE = "wearable-1"


def _settings(broker: MosquittoBroker, receiver: NotificationReceiver) -> dict[str, object]:
    return {
        "mqtt": {"host": broker.host, "port": broker.port},
        "sites": [
            {
                "id": "hostel-1",
                "name": "Hostel",
                "rooms": [{"id": "room-1", "label": "Room 1"}],
                "hours": {"opens": "00:00", "closes": "00:00", "timezone": "UTC"},
            }
        ],
        "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
    }


def _alert(
    kind: wire.AlertKind, onset_ago_s: float, severity: wire.Severity, **evidence: wire.TextValue
) -> wire.Envelope:
    return alert_envelope(
        next(_n),
        kind=kind,
        severity=severity,
        onset_ago_s=onset_ago_s,
        room="room-1",
        device=WEARABLE,
        evidence=evidence,
    )


def cannot_see(onset_ago_s: float) -> wire.Envelope:
    return _alert(
        wire.AlertKind.NO_SIGNAL,
        onset_ago_s,
        wire.Severity.WARNING,
        source="wearable",
        reason="noisy",
    )


def seen_again(onset_ago_s: float, cleared: str = "no_signal") -> wire.Envelope:
    return _alert(
        wire.AlertKind.RECOVERED,
        onset_ago_s,
        wire.Severity.INFO,
        cleared=cleared,
        source="wearable",
    )


@pytest.fixture
def site(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> Iterator[tuple[TestClient, MqttProbe]]:
    app = create_app(settings_from_mapping(_settings(mosquitto, receiver)), store=Store(None))
    with TestClient(app) as client, MqttProbe(mosquitto.host, mosquitto.port) as probe:
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        staff_client(client)
        client.post("/api/residents", json={"participant_id": PARTICIPANT, "site_id": "hostel-1"})
        assert api_give(client, "monitoring").status_code == 201
        yield client, probe


def _send(probe: MqttProbe, *messages: wire.Envelope) -> None:
    for message in messages:
        probe.publish(str(message.topic), wire.encode_envelope(message))


def _tile(client: TestClient) -> dict[str, object]:
    board = client.get("/api/board").json()["sites"]
    devices = [d for site in board for room in site["rooms"] for d in room["devices"]]
    devices += [d for site in board for d in site["unassigned"]]
    (tile,) = [d for d in devices if d["id"] == WEARABLE]
    return tile


def _state(client: TestClient, kind: str) -> list[str]:
    return [a["state"] for a in client.get("/api/alerts").json() if a["kind"] == kind]


def test_a_sensor_that_cannot_see_breathing_shows_on_the_board_until_it_can(
    site: tuple[TestClient, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, probe = site
    _send(probe, device("connected", 90.0), cannot_see(onset_ago_s=3600))
    assert wait_until(lambda: _state(client, "no_signal") == ["noted"])
    tile = _tile(client)
    assert (tile["status"], tile["label"]) == ("cannot_see_breathing", "can't see breathing")

    _send(probe, seen_again(onset_ago_s=600))
    assert wait_until(lambda: _state(client, "no_signal") == ["resolved"])
    (warning,) = [a for a in client.get("/api/alerts").json() if a["kind"] == "no_signal"]
    assert warning["outcome"] == "reconnected"
    assert _tile(client)["status"] == "ok"
    assert _state(client, "recovered") == ["resolved"]  # news, not a task: off the open list
    assert receiver.shown() == []  # a technical warning pages nobody

    figures = client.get(f"/api/residents/{PARTICIPANT}/breathing-visibility").json()
    (wearable,) = figures["sources"]
    # Unable to see from an hour ago until ten minutes ago: 50 min of the day.
    assert wearable["blind_s"] == pytest.approx(3000, abs=5)
    assert wearable["blind_pct"] == pytest.approx(100 * 3000 / 86400, abs=0.1)
    assert (figures["stretches"], figures["blind_now"], figures["advice"]) == (1, False, False)
    audit = client.app.state.services.audit  # type: ignore[attr-defined]
    assert next(e["action"] for e in audit.entries(PARTICIPANT)) == "read.visibility"


def test_a_resident_blind_most_of_the_day_gets_advice_and_it_stands_now(
    site: tuple[TestClient, MqttProbe],
) -> None:
    client, probe = site
    _send(probe, cannot_see(onset_ago_s=8 * 3600))
    assert wait_until(lambda: _state(client, "no_signal") == ["noted"])
    figures = client.get(f"/api/residents/{PARTICIPANT}/breathing-visibility").json()
    (wearable,) = figures["sources"]
    assert wearable["blind_pct"] == pytest.approx(100 / 3, abs=0.2)
    assert wearable["blind_since"] is not None
    assert (figures["blind_now"], figures["advice"]) == (True, True)
    # The residents list says so too, and each resident's figure shown is an audited read.
    listed = client.get("/residents").text
    row = listed[listed.index(f'data-resident="{PARTICIPANT}"') :].split("</tr>")[0]
    assert "33.3 %" in row
    assert "needs another sensor" in row
    audit = client.app.state.services.audit  # type: ignore[attr-defined]
    reads = [e["action"] for e in audit.entries(PARTICIPANT)]
    assert reads[:2] == ["read.visibility", "read.visibility"]  # the list's, then the API's
    assert client.get("/api/residents/p-9999/breathing-visibility").status_code == 404
    assert (
        client.get(f"/api/residents/{PARTICIPANT}/breathing-visibility?hours=0").status_code == 422
    )


def test_an_apnoea_is_noted_as_over_but_stays_for_a_person_to_close(
    site: tuple[TestClient, MqttProbe],
) -> None:
    client, probe = site
    apnoea = _alert(wire.AlertKind.APNOEA, 20, wire.Severity.CRITICAL, source="wearable")
    _send(probe, apnoea)
    assert wait_until(lambda: _state(client, "apnoea") == ["triggered"])
    _send(probe, seen_again(onset_ago_s=5, cleared="apnoea"))
    assert wait_until(
        lambda: any(
            entry["event"] == "edge_recovered"
            for entry in client.get(f"/api/alerts/{apnoea.msg_id}").json()["timeline"]
        )
    )
    assert _state(client, "apnoea") == ["triggered"]
    (recovery,) = [a for a in client.get("/api/alerts").json() if a["kind"] == "recovered"]
    assert (recovery["state"], recovery["outcome"]) == ("resolved", "breathing_restored")


def test_a_recovery_stored_just_before_a_stop_closes_its_warning_at_start_up(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    # The server stored the recovery and died before closing the warning: both rows are as the
    # ingest left them. Starting again must close the warning, not leave the tile blind.
    store = Store(None)
    now = datetime.now(UTC)
    for envelope in (cannot_see(onset_ago_s=900), seen_again(onset_ago_s=120)):
        body = envelope.body
        assert isinstance(body, wire.AlertBody)
        alert = Alert(
            alert_id=envelope.msg_id,
            site_id="hostel-1",
            edge_id="pi-1",
            kind=body.alert_kind,
            severity=body.severity,
            detected_at=body.detected_at,
            onset_at=body.onset_at,
            stored_at=now,
            device_id=WEARABLE,
            participant_id=PARTICIPANT,
            evidence=dict(body.evidence),
            state=AlertState.NOTED,
        )
        assert store.insert_alert(alert, Lifecycle(AlertState.NOTED))
    app = create_app(settings_from_mapping(_settings(mosquitto, receiver)), store=store)
    with TestClient(app) as client:
        staff_client(client)
        assert _state(client, "no_signal") == ["resolved"]
        assert _state(client, "recovered") == ["resolved"]


def test_a_recovery_that_could_not_be_applied_is_applied_once_the_database_writes(
    site: tuple[TestClient, MqttProbe],
) -> None:
    client, probe = site
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    _send(probe, cannot_see(onset_ago_s=600))
    assert wait_until(lambda: _state(client, "no_signal") == ["noted"])
    store.db.execute(
        "CREATE TRIGGER full_disk BEFORE UPDATE ON alerts "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    _send(probe, seen_again(onset_ago_s=60))
    # The recovery is stored (and acked), but closing the warning was refused.
    assert wait_until(lambda: _state(client, "recovered") == ["noted"])
    assert _state(client, "no_signal") == ["noted"]
    store.db.execute("DROP TRIGGER full_disk")
    assert wait_until(lambda: _state(client, "no_signal") == ["resolved"])
    assert _state(client, "recovered") == ["resolved"]
