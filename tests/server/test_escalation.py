"""Escalation against real parts: Mosquitto, the app, apprise and HTTP receivers per responder."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver, ReceivedPush
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.conftest import staff_client

pytestmark = pytest.mark.integration

FAST = {
    "level_timeouts_s": [2.0, 2.0, 3.0],
    "ack_to_en_route_s": 3.0,
    "en_route_to_on_scene_s": 4.0,
    "checkin_grace_s": 1.0,
}
_LINK = re.compile(r"(?P<label>Acknowledge|On my way): (?P<url>\S+/act/(?P<token>\S+))")


def alert_envelope(
    n: int = 1,
    *,
    severity: wire.Severity = wire.Severity.CRITICAL,
    checkin_s: float | None = None,
    kind: wire.AlertKind = wire.AlertKind.APNOEA,
    onset_ago_s: float = 15.0,
    room: str = "room-3",
    device: str | None = None,
    evidence: dict[str, wire.TextValue] | None = None,
) -> wire.Envelope:
    now = datetime.now(UTC)
    return wire.Envelope(
        msg_id=wire.encode_ulid(int(now.timestamp() * 1000), n),
        kind=wire.MessageKind.ALERT,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=now,
        participant_id="p-0001",
        device_id=device,
        body=wire.AlertBody(
            kind,
            severity,
            now,
            now - timedelta(seconds=onset_ago_s),
            evidence or {},
            room_id=room,
            checkin_s=checkin_s,
        ),
    )


def settings_for(broker: MosquittoBroker, receiver: NotificationReceiver) -> dict[str, object]:
    return {
        "mqtt": {"host": broker.host, "port": broker.port},
        "http": {"public_url": "http://panel.test"},
        "sites": [
            {
                "id": "hostel-1",
                "name": "Hostel",
                "escalation": FAST,
                "rooms": [{"id": "room-3", "label": "Room 3"}],
            }
        ],
        "responders": [
            {
                "id": "night-staff",
                "name": "Night staff",
                "level": 0,
                "urls": [receiver.url("/night-staff")],
            },
            {"id": "manager", "name": "Manager", "level": 1, "urls": [receiver.url("/manager")]},
            {
                "id": "outreach",
                "name": "Outreach team",
                "level": 2,
                "urls": [receiver.url("/outreach")],
            },
        ],
    }


@pytest.fixture
def server(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> Iterator[tuple[TestClient, Store, MqttProbe]]:
    store = Store(None)
    app = create_app(settings_from_mapping(settings_for(mosquitto, receiver)), store=store)
    with (
        TestClient(app) as client,
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/ack", "odart/v1/+/+/cmd") as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        staff_client(client, "night-staff")
        yield client, store, probe


def links(push: ReceivedPush) -> dict[str, str]:
    return {m["label"]: m["url"] for m in _LINK.finditer(push.payload.get("message", ""))}


def path_of(url: str) -> str:
    return url.removeprefix("http://panel.test")


def test_escalation_climbs_levels_until_someone_acknowledges(
    server: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, _store, probe = server
    envelope = alert_envelope()
    started = time.monotonic()
    probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    # Nobody answers: level 0 at once, level 1 at ~2 s, level 2 at ~4 s, then all again at ~7 s.
    pushes = receiver.wait_for(6, timeout_s=15)
    arrivals = [(p.path, time.monotonic()) for p in pushes]
    paths = [path for path, _ in arrivals]
    assert paths[:3] == ["/night-staff", "/manager", "/outreach"]
    assert sorted(paths[3:6]) == ["/manager", "/night-staff", "/outreach"]
    detail = client.get(f"/api/alerts/{envelope.msg_id}").json()
    assert detail["level"] == 2
    notes = [e["detail"] for e in detail["timeline"] if e["event"] == "escalated"]
    assert notes[:2] == [
        "level 0 did not acknowledge: paging level 1",
        "level 1 did not acknowledge: paging level 2",
    ]
    assert "again (repeat 1)" in notes[2]
    del started

    # The outreach worker acknowledges from the push; the others are told who is going.
    ack_url = links(pushes[2])["Acknowledge"]
    before = len(receiver.pushes)
    page = client.get(path_of(ack_url))
    assert page.status_code == 200
    assert "Acknowledge" in page.text
    assert client.get(f"/api/alerts/{envelope.msg_id}").json()["state"] == "triggered"
    answer = client.post(path_of(ack_url))
    assert answer.status_code == 200
    detail = client.get(f"/api/alerts/{envelope.msg_id}").json()
    assert (detail["state"], detail["assignee"]) == ("acknowledged", "outreach")
    told = receiver.wait_for(before + 2, timeout_s=5)[before:]
    assert sorted(p.path for p in told) == ["/manager", "/night-staff"]
    assert all("Outreach team is responding" in p.payload["title"] for p in told)

    # The same link works once; a stale acknowledge tapped later is refused and recorded.
    again = client.post(path_of(ack_url))
    assert again.status_code == 409
    stale = client.post(path_of(links(pushes[0])["Acknowledge"]))
    assert stale.status_code == 409
    timeline = client.get(f"/api/alerts/{envelope.msg_id}").json()["timeline"]
    assert sum(e["event"] == "rejected" for e in timeline) == 2


def test_escalation_resolve_needs_an_outcome_and_closes_for_good(
    server: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, _, probe = server
    envelope = alert_envelope(2)
    probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    assert receiver.wait_for(1, timeout_s=10)
    url = f"/api/alerts/{envelope.msg_id}/actions"
    assert client.post(url, json={"action": "en_route", "actor": "night-staff"}).status_code == 200
    assert client.post(url, json={"action": "on_scene", "actor": "night-staff"}).status_code == 200
    missing = client.post(url, json={"action": "resolve"})
    assert missing.status_code == 422
    no_doses = client.post(url, json={"action": "resolve", "outcome": "naloxone_given"})
    assert no_doses.status_code == 422
    done = client.post(
        url,
        json={
            "action": "resolve",
            "outcome": "naloxone_given",
            "naloxone_doses": 2,
            "actor": "night-staff",
        },
    )
    assert done.status_code == 200
    alert = done.json()["alert"]
    assert (alert["state"], alert["outcome"], alert["deadline"]) == (
        "resolved",
        "naloxone_given",
        None,
    )
    late = client.post(url, json={"action": "ack"})
    assert late.status_code == 409
    assert "resolved" in late.json()["message"]
    # On scene stopped escalation: nobody but level 0 was ever paged.
    time.sleep(2.5)
    assert {p.path for p in receiver.pushes} == {"/night-staff"}


def test_checkin_cancelled_by_the_wearer_pages_nobody(
    server: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, _, probe = server
    envelope = alert_envelope(3, severity=wire.Severity.WARNING, checkin_s=2.0)
    probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    assert wait_until(lambda: client.get(f"/api/alerts/{envelope.msg_id}").status_code == 200)
    assert client.get(f"/api/alerts/{envelope.msg_id}").json()["state"] == "checking_in"
    cancel = wire.Envelope(
        msg_id=wire.encode_ulid(int(time.time() * 1000), 77),
        kind=wire.MessageKind.UPDATE,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=datetime.now(UTC),
        body=wire.UpdateBody(
            envelope.msg_id, wire.AlertUpdate.CANCELLED_BY_WEARER, datetime.now(UTC)
        ),
    )
    probe.publish(str(cancel.topic), wire.encode_envelope(cancel))
    assert wait_until(
        lambda: client.get(f"/api/alerts/{envelope.msg_id}").json()["state"] == "cancelled"
    )
    time.sleep(4.0)  # past the window and its grace: still nobody paged
    assert receiver.pushes == []


def test_checkin_nobody_answers_pages_after_window_and_grace(
    server: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    _client, _, probe = server
    envelope = alert_envelope(4, severity=wire.Severity.WARNING, checkin_s=2.0)
    sent = time.monotonic()
    probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    pushes = receiver.wait_for(1, timeout_s=10)
    waited = time.monotonic() - sent
    assert [p.path for p in pushes] == ["/night-staff"]
    assert 2.0 <= waited <= 6.0  # 2 s window + 1 s grace, polled once a second


def test_staff_cancel_of_a_checkin_tells_the_edge_to_stop(
    server: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, _, probe = server
    envelope = alert_envelope(5, severity=wire.Severity.WARNING, checkin_s=20.0)
    probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    assert wait_until(lambda: client.get(f"/api/alerts/{envelope.msg_id}").status_code == 200)
    answer = client.post(
        f"/api/alerts/{envelope.msg_id}/actions", json={"action": "cancel", "actor": "night-staff"}
    )
    assert answer.status_code == 200
    commands = [m for m in probe.wait_for(2, timeout_s=5) if m[0].endswith("/cmd")]
    assert len(commands) == 1
    body = wire.decode_message(commands[0][0], commands[0][1]).body
    assert isinstance(body, wire.CommandBody)
    assert (body.command, body.args["alert"]) == ("checkin_cancel", envelope.msg_id)
    assert receiver.pushes == []


def test_test_alert_pages_with_a_clear_test_label(
    server: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, _, _ = server
    made = client.post("/api/sites/hostel-1/test-alert", json={"room": "room-3"})
    assert made.status_code == 201
    (push,) = receiver.wait_for(1, timeout_s=10)
    assert push.payload["title"].startswith("TEST - ")
    assert client.post("/api/sites/nowhere/test-alert", json={"room": "room-3"}).status_code == 404
    assert client.post("/api/sites/hostel-1/test-alert", json={"room": "R 3"}).status_code == 422


def test_alert_stored_but_never_sent_is_paged_at_the_next_start(
    receiver: NotificationReceiver,
) -> None:
    from server.domain.alerts import alert_from_envelope
    from server.domain.lifecycle import EscalationPolicy, start

    store = Store(None)
    envelope = alert_envelope(9)
    alert = alert_from_envelope(envelope, datetime.now(UTC))
    # The server died between the commit and the first send: the alert is triggered, unsent.
    first = start(pages=True, checkin_s=None, policy=EscalationPolicy(), now=alert.stored_at)
    assert store.insert_alert(alert, first.after, first.note)
    settings = settings_from_mapping(
        {
            "mqtt": {"port": 1},  # no broker is needed for the resend
            "responders": [
                {"id": "night-staff", "name": "Night staff", "urls": [receiver.url("/night-staff")]}
            ],
        }
    )
    with TestClient(create_app(settings, store=store)):
        pushes = receiver.wait_for(1, timeout_s=10)
    assert [(p.path, p.alert_id) for p in pushes] == [("/night-staff", envelope.msg_id)]
