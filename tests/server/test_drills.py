"""Scheduled drills run the whole chain and reach the drill channel, never a responder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.errors import ConfigError
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.db_probe import column, rows
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.test_health import status

pytestmark = pytest.mark.integration


def answer_drills(probe: MqttProbe, site_id: str = "hostel-1") -> Callable[[], int]:
    """Play the edge ``pi-1``: answer each drill command with a test alert tagged with its id."""
    answered: set[str] = set()

    def pump() -> int:
        for topic, payload, _ in list(probe.messages):
            message = wire.decode_message(topic, payload)
            if not (isinstance(message.body, wire.CommandBody) and message.body.command == "drill"):
                continue
            drill = str(message.body.args["drill"])
            if drill in answered:
                continue
            answered.add(drill)
            now = datetime.now(UTC)
            alert = wire.Envelope(
                msg_id=wire.encode_ulid(int(now.timestamp() * 1000), len(answered)),
                kind=wire.MessageKind.ALERT,
                site_id=site_id,
                edge_id="pi-1",
                created_at=now,
                body=wire.AlertBody(
                    wire.AlertKind.TEST,
                    wire.Severity.CRITICAL,
                    now,
                    now,
                    {"drill": drill},
                    room_id="room-1",
                ),
            )
            probe.publish(str(alert.topic), wire.encode_envelope(alert))
        return len(answered)

    return pump


def test_drill_measures_the_round_trip_without_paging_responders(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    settings = settings_from_mapping(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sites": [
                {
                    "id": "hostel-1",
                    "name": "Hostel",
                    "drill_every_h": 24,
                    "drill_urls": [receiver.url("/drill-office")],
                }
            ],
            "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
        }
    )
    store = Store(None)
    with (
        TestClient(create_app(settings, store=store)) as client,
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/cmd") as edge,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        online = status(wire.EdgeState.ONLINE, "c1")
        edge.publish(str(online.topic), wire.encode_envelope(online), retain=True)
        answer = answer_drills(edge)
        assert wait_until(lambda: answer() == 1, timeout_s=10)
        (push,) = receiver.wait_for(1, timeout_s=10)
        assert push.path == "/drill-office"
        assert push.payload["title"].startswith("DRILL")
        assert wait_until(lambda: column(store, "SELECT outcome FROM drills") == ["delivered"])
        ((requested, stored, delivered),) = rows(
            store, "SELECT requested_at, stored_at, delivered_at FROM drills"
        )
        times = [wire.parse_utc(t) for t in (requested, stored, delivered)]
        assert times == sorted(times)
        assert (times[2] - times[0]).total_seconds() < 10
        # Only one drill per interval, and no responder was ever paged.
        assert answer() == 1
        assert [p.path for p in receiver.pushes] == ["/drill-office"]
        # It went through the durable send queue, so /metrics counts it with the deliveries.
        assert rows(store, "SELECT purpose, responder_id, state FROM pushes") == [
            ("drill", "drill:hostel-1", "sent")
        ]
        assert push.push_id is not None
        metrics = client.get("/metrics").text
        assert 'odart_pushes_total{purpose="drill",result="sent"} 1.0' in metrics


def test_drill_schedule_needs_a_drill_channel() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"sites": [{"id": "s", "name": "S", "drill_every_h": 1}]})
    assert caught.value.key == "sites.0"
    assert "drill_urls" in caught.value.reason
