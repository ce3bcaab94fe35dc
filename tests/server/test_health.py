"""Device and edge health: technical alerts for staff, raised and cleared from real MQTT traffic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.db_probe import column, rows
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.conftest import staff_client

pytestmark = pytest.mark.integration

_n = iter(range(1, 10_000))


def envelope(
    kind: wire.MessageKind, body: Any, device: str | None = None, participant: str | None = None
) -> wire.Envelope:
    now = datetime.now(UTC)
    return wire.Envelope(
        msg_id=wire.encode_ulid(int(now.timestamp() * 1000), next(_n)),
        kind=kind,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=now,
        body=body,
        device_id=device,
        participant_id=participant,
    )


def status(state: wire.EdgeState, conn: str) -> wire.Envelope:
    return envelope(wire.MessageKind.STATUS, wire.StatusBody(state, conn))


def device(state: str, battery: float | None = None) -> wire.Envelope:
    return envelope(
        wire.MessageKind.DEVICE, wire.DeviceBody(state, battery), "wearable-1", "p-0001"
    )


def _app(
    broker: MosquittoBroker, receiver: NotificationReceiver, hours: dict[str, Any], store: Store
) -> TestClient:
    settings = settings_from_mapping(
        {
            "mqtt": {"host": broker.host, "port": broker.port},
            "edge_offline_grace_s": 1.0,
            "sites": [{"id": "hostel-1", "name": "Hostel", "hours": hours}],
            "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
        }
    )
    return TestClient(create_app(settings, store=store))


ALWAYS_OPEN = {"opens": "00:00", "closes": "00:00", "timezone": "Europe/London"}


def _closed_today() -> dict[str, Any]:
    other = (datetime.now(UTC).weekday() + 3) % 7
    return {"opens": "00:00", "closes": "00:00", "timezone": "UTC", "weekdays": [other]}


@pytest.fixture
def open_site(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> Iterator[tuple[TestClient, Store, MqttProbe]]:
    store = Store(None)
    with (
        _app(mosquitto, receiver, ALWAYS_OPEN, store) as client,
        MqttProbe(mosquitto.host, mosquitto.port) as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        staff_client(client)
        yield client, store, probe


def _kinds(client: TestClient) -> list[tuple[str, str]]:
    return [(a["kind"], a["state"]) for a in client.get("/api/alerts").json()]


def test_health_edge_offline_past_grace_alerts_staff_and_closes_on_return(
    open_site: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, _, probe = open_site
    online = status(wire.EdgeState.ONLINE, "c1")
    probe.publish(str(online.topic), wire.encode_envelope(online), retain=True)
    offline = status(wire.EdgeState.OFFLINE, "c1")
    probe.publish(str(offline.topic), wire.encode_envelope(offline), retain=True)
    assert wait_until(lambda: _kinds(client) == [("edge_offline", "noted")], timeout_s=10)
    (push,) = receiver.wait_for(1, timeout_s=10)
    assert "site hub offline" in push.payload["message"]
    assert "/act/" not in push.payload["message"]  # nothing to acknowledge on a technical alert

    back = status(wire.EdgeState.ONLINE, "c2")
    probe.publish(str(back.topic), wire.encode_envelope(back), retain=True)
    assert wait_until(lambda: _kinds(client) == [("edge_offline", "resolved")])
    (alert,) = client.get("/api/alerts").json()
    assert alert["outcome"] == "reconnected"


def test_health_stale_last_will_does_not_mark_a_reconnected_edge_offline(
    open_site: tuple[TestClient, Store, MqttProbe],
) -> None:
    client, store, probe = open_site
    # The device report after them is handled after them (one connection, in order): once it
    # is stored, so are both statuses, however long a loaded machine took.
    for message in (
        status(wire.EdgeState.ONLINE, "c2"),
        status(wire.EdgeState.OFFLINE, "c1"),
        device("connected"),
    ):
        probe.publish(str(message.topic), wire.encode_envelope(message))
    assert wait_until(
        lambda: column(store, "SELECT COUNT(*) FROM device_events") == [1], timeout_s=30
    )
    time.sleep(1.5)  # past the 1 s offline grace, had the last will been taken
    assert column(store, "SELECT state FROM edges") == ["online"]
    assert _kinds(client) == []


def test_health_device_fault_raised_and_cleared_but_suppressed_while_edge_down(
    open_site: tuple[TestClient, Store, MqttProbe],
) -> None:
    client, store, probe = open_site
    for message in (status(wire.EdgeState.OFFLINE, "c1"), device("no_data")):
        probe.publish(str(message.topic), wire.encode_envelope(message))
    assert wait_until(lambda: column(store, "SELECT COUNT(*) FROM device_events") == [1])
    assert all(kind != "device_fault" for kind, _ in _kinds(client))

    for message in (status(wire.EdgeState.ONLINE, "c2"), device("disconnected")):
        probe.publish(str(message.topic), wire.encode_envelope(message))
    assert wait_until(lambda: ("device_fault", "noted") in _kinds(client))
    probe.publish(str(device("connected").topic), wire.encode_envelope(device("connected")))
    assert wait_until(lambda: ("device_fault", "resolved") in _kinds(client))


def test_health_low_battery_has_hysteresis(
    open_site: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, store, probe = open_site
    for pct, expected, flag in ((15.0, "noted", 1), (50.0, "noted", 1), (85.0, "resolved", 0)):
        message = device("connected", pct)
        probe.publish(str(message.topic), wire.encode_envelope(message))
        assert wait_until(lambda e=expected: _kinds(client) == [("low_battery", e)]), pct
        # The board reads the same hysteresis from the device's latest state.
        assert wait_until(
            lambda p=pct, f=flag: (
                rows(store, "SELECT state, battery_pct, battery_low FROM device_health")
                == [("connected", p, f)]
            )
        ), pct
    assert len(receiver.wait_for(1, timeout_s=5)) == 1


def test_health_non_urgent_message_waits_for_operating_hours(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    store = Store(None)
    with (
        _app(mosquitto, receiver, _closed_today(), store) as client,
        MqttProbe(mosquitto.host, mosquitto.port) as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        staff_client(client)
        message = device("connected", 10.0)
        probe.publish(str(message.topic), wire.encode_envelope(message))
        assert wait_until(lambda: _kinds(client) == [("low_battery", "noted")])
        (alert,) = client.get("/api/alerts").json()
        assert alert["deadline"] is not None
        assert alert["deadline"] > datetime.now(UTC).isoformat()
        time.sleep(1.5)
        assert receiver.pushes == []


def test_health_edge_disk_full_tells_the_staff_channel_once_and_closes_when_healthy(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    settings = settings_from_mapping(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sites": [
                {
                    "id": "hostel-1",
                    "name": "Hostel",
                    "hours": _closed_today(),  # urgent all the same: no waiting for opening
                    "staff_urls": [receiver.url("/staff-office")],
                }
            ],
            "responders": [{"id": "night", "name": "Sam Night", "urls": [receiver.url("/night")]}],
        }
    )
    store = Store(None)
    with (
        TestClient(create_app(settings, store=store)) as client,
        MqttProbe(mosquitto.host, mosquitto.port) as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        staff_client(client)
        # The edge's retained status says its disk is full, then again after a reconnect.
        for state, conn in (
            (wire.EdgeState.ONLINE, "c1"),
            (wire.EdgeState.DISK_FULL, "c1"),
            (wire.EdgeState.DISK_FULL, "c2"),
        ):
            message = status(state, conn)
            probe.publish(str(message.topic), wire.encode_envelope(message), retain=True)
        assert wait_until(lambda: column(store, "SELECT conn FROM edges") == ["c2"])
        assert wait_until(lambda: _kinds(client) == [("edge_disk_full", "noted")], timeout_s=10)
        (push,) = receiver.wait_for(1, timeout_s=10)
        assert push.path == "/staff-office"
        text = push.payload["title"] + push.payload["message"]
        assert "site hub disk full" in text
        assert "Sam Night" not in text
        assert "/act/" not in text  # nothing to acknowledge on a technical alert

        back = status(wire.EdgeState.ONLINE, "c2")
        probe.publish(str(back.topic), wire.encode_envelope(back), retain=True)
        assert wait_until(lambda: _kinds(client) == [("edge_disk_full", "resolved")])
        (alert,) = client.get("/api/alerts").json()
        assert alert["outcome"] == "reconnected"
        time.sleep(1.0)
    assert [p.path for p in receiver.pushes] == ["/staff-office"]  # one push, one episode
    assert rows(store, "SELECT purpose, responder_id, state FROM pushes") == [
        ("notice", "staff:hostel-1", "sent")
    ]
