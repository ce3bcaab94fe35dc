"""Server ingest against a real Mosquitto: store once, ack after commit, notify over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import Settings, settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.db_probe import column
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.conftest import staff_client

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def _alert(n: int = 1, kind: wire.AlertKind = wire.AlertKind.APNOEA) -> wire.Envelope:
    return wire.Envelope(
        msg_id=wire.encode_ulid(int(NOW.timestamp() * 1000) + n, n),
        kind=wire.MessageKind.ALERT,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=NOW,
        participant_id="p-0001",
        device_id="wearable-1",
        body=wire.AlertBody(
            kind,
            wire.Severity.CRITICAL,
            NOW,
            NOW - timedelta(seconds=15),
            {"seconds_since_breath": 15.0},
            room_id="room-3",
        ),
    )


def _settings(broker: MosquittoBroker, urls: list[str], **mqtt_keys: object) -> Settings:
    return settings_from_mapping(
        {
            "mqtt": {"host": broker.host, "port": broker.port, **mqtt_keys},
            "http": {"public_url": "http://panel.test"},
            "sites": [
                {"id": "hostel-1", "name": "Hostel", "rooms": [{"id": "room-3", "label": "Room 3"}]}
            ],
            "responders": [{"id": "night-staff", "name": "Night staff", "urls": urls}],
        }
    )


@pytest.fixture
def running(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> Iterator[tuple[TestClient, Store, MqttProbe]]:
    store = Store(None)
    app = create_app(_settings(mosquitto, [receiver.url("/night-staff")]), store=store)
    with (
        TestClient(app) as client,
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/ack") as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        staff_client(client)
        yield client, store, probe


def test_ingest_stores_a_redelivered_alert_once_and_acks_each_copy(
    running: tuple[TestClient, Store, MqttProbe], receiver: NotificationReceiver
) -> None:
    client, store, probe = running
    envelope = _alert()
    payload = wire.encode_envelope(envelope)
    probe.publish(str(envelope.topic), payload)
    probe.publish(str(envelope.topic), payload)

    acks = probe.wait_for(2)
    assert len(acks) == 2
    for topic, raw, _ in acks:
        ack = wire.decode_message(topic, raw)
        assert isinstance(ack.body, wire.AckBody)
        assert ack.body.of == envelope.msg_id
    assert column(store, "SELECT COUNT(*) FROM alerts") == [1]

    pushes = receiver.wait_for(1, timeout_s=10)
    assert [push.alert_id for push in pushes] == [envelope.msg_id]
    assert pushes[0].path == "/night-staff"
    # The push names the room and what was seen, never the person or a health value.
    text = pushes[0].payload["title"] + pushes[0].payload["message"]
    assert "Room 3" in text
    assert "p-0001" not in text
    words = re.sub(r"https?://\S+", "", text)
    assert "15" not in words
    assert wait_until(lambda: client.get(f"/api/alerts/{envelope.msg_id}").json()["deliveries"])
    detail = client.get(f"/api/alerts/{envelope.msg_id}").json()
    assert [d["outcome"] for d in detail["deliveries"]] == ["delivered"]
    assert [e["event"] for e in detail["timeline"]] == [
        "stored",
        "triggered",
        "notification_delivered",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"{}",
        b'{"schema": 99}',
        json.dumps({"schema": wire.SCHEMA_VERSION, "id": "x"}).encode(),
        b"\xff" * 5000,
    ],
)
def test_ingest_rejects_bad_payload_and_keeps_serving(
    running: tuple[TestClient, Store, MqttProbe], payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    client, store, probe = running
    probe.publish("odart/v1/hostel-1/pi-1/event", payload)
    assert wait_until(lambda: client.get("/api/health").json()["ingest"].get("rejected") == 1)
    assert any("rejected message" in record.message for record in caplog.records)
    good = _alert(2)
    probe.publish(str(good.topic), wire.encode_envelope(good))
    assert wait_until(lambda: column(store, "SELECT COUNT(*) FROM alerts") == [1])
    assert probe.wait_for(1)


def test_alert_page_and_api_answer_404_for_unknown_alert(
    running: tuple[TestClient, Store, MqttProbe],
) -> None:
    client, _, _ = running
    response = client.get("/api/alerts/01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert response.status_code == 404
    assert "no alert" in response.json()["detail"]


def _device(n: int) -> wire.Envelope:
    return wire.Envelope(
        msg_id=wire.encode_ulid(int(NOW.timestamp() * 1000) + 10_000 + n, n),
        kind=wire.MessageKind.DEVICE,
        site_id="hostel-1",
        edge_id="pi-2",
        created_at=NOW,
        device_id=f"wearable-{n % 20}",
        body=wire.DeviceBody("connected", 80.0, -60.0),
    )


FLOOD: Final = 1800
"""Routine messages queued ahead of the alert: about a second of the server's work here, and
under the 2,000 at which ingest starts shedding."""


def test_an_alert_sent_behind_a_flood_of_routine_messages_is_stored_and_acked_first(
    running: tuple[TestClient, Store, MqttProbe], mosquitto: MosquittoBroker
) -> None:
    client, store, probe = running
    flood = [_device(n) for n in range(FLOOD)]
    flooder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flooder")
    flooder.max_inflight_messages_set(FLOOD)
    flooder.connect(mosquitto.host, mosquitto.port)
    flooder.loop_start()
    try:
        sent = [flooder.publish(str(e.topic), wire.encode_envelope(e), qos=1) for e in flood]
        for info in sent:
            info.wait_for_publish(30)  # the whole flood is with the broker or the server now
        alert = _alert(7)
        probe.publish(str(alert.topic), wire.encode_envelope(alert))

        def acked() -> set[str]:
            return {json.loads(raw)["body"]["of"] for _, raw, _ in list(probe.messages)}

        assert wait_until(lambda: alert.msg_id in acked(), timeout_s=30)
        routine_before = len(acked() & {e.msg_id for e in flood})
        assert column(store, "SELECT id FROM alerts") == [alert.msg_id]
        # The alert did not queue behind the routine messages sent before it.
        assert routine_before < FLOOD
        # And nothing routine was lost for it: every device message is stored and acked.
        assert wait_until(lambda: len(acked()) == FLOOD + 1, timeout_s=60)
        assert column(store, "SELECT COUNT(*) FROM device_events") == [FLOOD]
    finally:
        flooder.loop_stop()
        flooder.disconnect()
    assert client.get("/api/health").json()["ingest"].get("shed", 0) == 0


def test_a_flood_over_the_routine_backlog_is_shed_counted_and_stored_when_resent(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    """Shedding loses nothing: a shed message is neither stored nor acked (so the edge keeps and
    resends it), health counts it, the alert sent into the flood is stored and acked, and every
    shed message sent again is stored once."""
    store = Store(None)
    settings = _settings(mosquitto, [receiver.url("/night-staff")], routine_backlog_max=100)
    flood = [_device(n) for n in range(4000)]
    app = create_app(settings, store=store)
    flooder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flooder")
    flooder.max_inflight_messages_set(len(flood))
    with (
        TestClient(app) as client,
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/ack") as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        flooder.connect(mosquitto.host, mosquitto.port)
        flooder.loop_start()

        def acked() -> set[str]:
            return {json.loads(raw)["body"]["of"] for _, raw, _ in list(probe.messages)}

        def stored() -> set[str]:
            return set(column(store, "SELECT id FROM device_events"))

        try:
            sent = [flooder.publish(str(e.topic), wire.encode_envelope(e), qos=1) for e in flood]
            alert = _alert(9)
            probe.publish(str(alert.topic), wire.encode_envelope(alert))
            for info in sent:
                info.wait_for_publish(30)

            def settled() -> bool:
                counts = client.get("/api/health").json()["ingest"]
                return int(counts.get("received", 0)) >= len(flood) + 1  # and the alert

            assert wait_until(settled, timeout_s=60)
            assert wait_until(lambda: alert.msg_id in acked(), timeout_s=30)
            assert column(store, "SELECT id FROM alerts") == [alert.msg_id]
            shed = int(client.get("/api/health").json()["ingest"].get("shed", 0))
            assert shed > 0
            # Every message was received: each is stored (once its batch commits) or shed.
            assert wait_until(lambda: len(stored()) + shed == len(flood))
            first_pass = stored()
            # Nothing shed was acked: the edge still holds it.
            assert wait_until(lambda: acked() & {e.msg_id for e in flood} == first_pass)
            # The edge resends what it holds, within the backlog; each is stored once.
            again = [e for e in flood if e.msg_id not in first_pass]
            for start in range(0, len(again), 50):
                chunk = again[start : start + 50]
                for e in chunk:
                    flooder.publish(str(e.topic), wire.encode_envelope(e), qos=1)
                ids = {e.msg_id for e in chunk}
                assert wait_until(lambda ids=ids: ids <= acked(), timeout_s=30)
            assert stored() == {e.msg_id for e in flood}
            assert column(store, "SELECT COUNT(*) FROM device_events") == [len(flood)]
        finally:
            flooder.loop_stop()
            flooder.disconnect()
