"""``/metrics`` and ``/api/health`` after real traffic: Mosquitto, the app and a phone receiver."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.test_escalation import alert_envelope, settings_for


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_and_health_tell_the_truth_after_an_alert(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    settings = settings_from_mapping(settings_for(mosquitto, receiver))
    # Two apps in one process: each has its own registry, so nothing collides. The other app
    # talks to no broker: with the same server client id it would take over the session and
    # disconnect the first app's ingest.
    offline = settings_from_mapping({**settings_for(mosquitto, receiver), "mqtt": {"port": 1}})
    with (
        TestClient(create_app(settings, store=Store(None))) as client,
        TestClient(create_app(offline, store=Store(None))) as _other,
    ):
        assert wait_until(lambda: client.get("/api/health").status_code == 200)
        assert client.get("/api/health").json()["status"] == "ok"
        envelope = alert_envelope(31)
        with MqttProbe(mosquitto.host, mosquitto.port) as probe:
            probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
        assert receiver.wait_for(1, timeout_s=10)

        def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            answer = client.get("/metrics")
            assert answer.headers["content-type"].startswith("text/plain")
            return _samples(answer.text)

        assert wait_until(
            lambda: (
                scraped().get(("odart_pushes_total", (("purpose", "page"), ("result", "sent"))))
                == 1.0
            )
        )
        samples = scraped()
    assert samples[("odart_alerts", (("state", "triggered"),))] == 1.0
    assert samples[("odart_ingest_messages_total", (("outcome", "received"),))] >= 1.0
    assert samples[("odart_send_queue", (("state", "pending"),))] == 0.0
    assert samples[("odart_send_queue", (("state", "sent"),))] == 1.0
    assert ("odart_edges_online", ()) in samples
    assert samples[("odart_hop_latency_seconds_count", (("hop", "send"),))] == 1.0
    assert samples[("odart_hop_latency_seconds_count", (("hop", "stored"),))] == 1.0


def test_metrics_count_an_edge_with_a_full_disk_as_online(
    mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    settings = settings_from_mapping(settings_for(mosquitto, receiver))
    store = Store(None)
    with TestClient(create_app(settings, store=store)) as client:
        now = client.app.state.context.now()  # type: ignore[attr-defined]
        # Written on the app's own loop thread, as ingest would: the store's connection is not
        # shared across threads.
        assert client.portal is not None
        for edge, state in (("pi-1", wire.EdgeState.DISK_FULL), ("pi-2", wire.EdgeState.OFFLINE)):
            client.portal.call(store.set_edge_status, "hostel-1", edge, state.value, "c1", now)
        samples = _samples(client.get("/metrics").text)
    assert samples[("odart_edges_online", ())] == 1.0  # degraded, but there: not offline
