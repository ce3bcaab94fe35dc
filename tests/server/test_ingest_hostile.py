"""Hostile messages through a real Mosquitto: each is rejected or refused, and ingest goes on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from firmware_bridge.log_budget import PER_WINDOW
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from tests.db_probe import column
from tests.mqtt_probe import MqttProbe, wait_until

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
_serial = iter(range(1, 10_000))


def _envelope(
    body: wire.Body, site: str = "hostel-1", edge: str = "pi-1", **fields: object
) -> wire.Envelope:
    kind = wire.MessageKind.UPDATE if isinstance(body, wire.UpdateBody) else wire.MessageKind.ALERT
    document: dict[str, object] = {
        "msg_id": wire.encode_ulid(int(NOW.timestamp() * 1000), next(_serial)),
        "kind": kind,
        "site_id": site,
        "edge_id": edge,
        "created_at": NOW,
        "participant_id": "p-secret-7",
        "body": body,
        **fields,
    }
    return wire.Envelope(**document)  # type: ignore[arg-type]


def _alert_body(
    kind: wire.AlertKind = wire.AlertKind.APNOEA, checkin_s: float | None = None
) -> wire.AlertBody:
    return wire.AlertBody(
        kind,
        wire.Severity.WARNING if checkin_s else wire.Severity.CRITICAL,
        NOW,
        NOW - timedelta(seconds=15),
        {"spo2_pct": 83.0},
        room_id="room-3",
        checkin_s=checkin_s,
    )


def _with(envelope: wire.Envelope, **changes: object) -> bytes:
    document = json.loads(wire.encode_envelope(envelope))
    document.update(changes)
    return json.dumps(document).encode()


@pytest.fixture
def running(mosquitto: MosquittoBroker) -> Iterator[tuple[TestClient, Store, MqttProbe]]:
    settings = settings_from_mapping(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sites": [{"id": "hostel-1", "name": "One"}, {"id": "hostel-2", "name": "Two"}],
        }
    )
    store = Store(None)
    with (
        TestClient(create_app(settings, store=store)) as client,
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/ack") as probe,
    ):
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        yield client, store, probe


def _acked(probe: MqttProbe) -> set[str]:
    acks = (wire.decode_message(topic, raw) for topic, raw, _ in probe.messages)
    return {ack.body.of for ack in acks if isinstance(ack.body, wire.AckBody)}


def _state(store: Store, alert_id: str) -> str:
    (state,) = column(store, "SELECT state FROM alerts WHERE id = ?", (alert_id,))
    return str(state)


def test_ingest_refuses_each_hostile_message_then_stores_and_acks_a_valid_alert(
    running: tuple[TestClient, Store, MqttProbe], caplog: pytest.LogCaptureFixture
) -> None:
    client, store, probe = running
    caplog.set_level(logging.WARNING)
    # hostel-2's edge raises an alert that checks in with its wearer first.
    theirs = _envelope(_alert_body(checkin_s=60.0), site="hostel-2", edge="pi-2")
    probe.publish(str(theirs.topic), wire.encode_envelope(theirs))
    assert wait_until(lambda: theirs.msg_id in _acked(probe))
    assert _state(store, theirs.msg_id) == "checking_in"

    template = _envelope(_alert_body())
    topic = "odart/v1/hostel-1/pi-1/alert"
    cancel = wire.UpdateBody(theirs.msg_id, wire.AlertUpdate.CANCELLED_BY_WEARER, NOW)
    cross_site = _envelope(cancel)
    unknown_site = _envelope(_alert_body(), site="elsewhere", edge="pi-9")
    server_kind = _envelope(_alert_body(wire.AlertKind.EDGE_OFFLINE))
    hostile: list[tuple[str, bytes, str]] = [
        (topic, b"[" * 2000, "rejected.malformed"),
        (topic, _with(template, created_at="0001-01-01T00:00:00+14:00"), "rejected.malformed"),
        (topic, _with(template, created_at="999-06-01T00:00:00.000Z"), "rejected.malformed"),
        (topic, _with(template, created_at="0999-06-01T00:00:00.000Z"), "rejected.malformed"),
        (topic, wire.encode_envelope(template).replace(b"83.0", b"1e400"), "rejected.malformed"),
        (topic, wire.encode_envelope(cross_site), "refused.not_owner"),
        (str(unknown_site.topic), wire.encode_envelope(unknown_site), "refused.unknown_site"),
        (topic, wire.encode_envelope(server_kind), "refused.server_kind"),
        (topic, _with(template, site="hostel-2"), "rejected.topic"),
    ]
    for where, payload, _ in hostile:
        probe.publish(where, payload)
    good = _envelope(_alert_body())
    probe.publish(str(good.topic), wire.encode_envelope(good))

    assert wait_until(lambda: good.msg_id in _acked(probe))
    assert column(store, "SELECT id FROM alerts ORDER BY id") == [theirs.msg_id, good.msg_id]
    assert _state(store, theirs.msg_id) == "checking_in"  # the other site's alert is untouched
    # Refusals that resending cannot cure are acked, so the edge's outbox drains;
    # an unknown site is not, so its alert waits on the edge until the server knows the site.
    assert _acked(probe) == {theirs.msg_id, cross_site.msg_id, server_kind.msg_id, good.msg_id}
    counts = client.get("/api/health").json()["ingest"]
    expected: dict[str, int] = {}
    for _, _, reason in hostile:
        expected[reason] = expected.get(reason, 0) + 1
    assert {key: counts.get(key) for key in expected} == expected
    assert counts["rejected"] == 6
    assert counts["refused"] == 3
    assert counts.get("failed", 0) == 0
    assert client.get("/api/health").json()["mqtt_connected"]
    # The log says why, never what: no pseudonym, no reading, no bad time.
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "server.ingest")
    for secret in ("p-secret-7", "83.0", "1e400", "0001-01-01"):
        assert secret not in text
    assert text.count("rejected message") == 6
    assert text.count("refused") >= 3


def test_ingest_counts_a_failed_write_and_stores_the_alert_when_it_is_resent(
    running: tuple[TestClient, Store, MqttProbe],
) -> None:
    client, store, probe = running
    alert = _envelope(_alert_body())
    store.db.conn.execute("PRAGMA query_only = ON")  # the database refuses every write
    probe.publish(str(alert.topic), wire.encode_envelope(alert))
    health = "/api/health"
    assert wait_until(lambda: client.get(health).json()["ingest"].get("refused.store_error") == 1)
    assert _acked(probe) == set()  # not acked: the edge keeps it and resends it

    store.db.conn.execute("PRAGMA query_only = OFF")
    probe.publish(str(alert.topic), wire.encode_envelope(alert))  # the edge's resend
    assert wait_until(lambda: alert.msg_id in _acked(probe))
    assert column(store, "SELECT id FROM alerts") == [alert.msg_id]


def test_ingest_applies_an_update_from_the_edge_that_raised_the_alert(
    running: tuple[TestClient, Store, MqttProbe],
) -> None:
    _, store, probe = running
    alert = _envelope(_alert_body(checkin_s=60.0))
    probe.publish(str(alert.topic), wire.encode_envelope(alert))
    assert wait_until(lambda: alert.msg_id in _acked(probe))
    update = _envelope(wire.UpdateBody(alert.msg_id, wire.AlertUpdate.CANCELLED_BY_WEARER, NOW))
    probe.publish(str(update.topic), wire.encode_envelope(update))
    assert wait_until(lambda: update.msg_id in _acked(probe))
    assert _state(store, alert.msg_id) == "cancelled"


def test_ingest_a_flood_of_bad_messages_is_counted_in_full_but_logged_a_few_lines(
    running: tuple[TestClient, Store, MqttProbe], caplog: pytest.LogCaptureFixture
) -> None:
    """An edge spraying garbage must not fill the journal (and the disk the database needs):
    every message is counted, a few lines per kind are logged, and ingest goes on serving."""
    client, store, probe = running
    caplog.set_level(logging.WARNING)
    for n in range(300):
        probe.publish("odart/v1/hostel-1/pi-1/event", b"not json %d" % n)
    assert wait_until(lambda: client.get("/api/health").json()["ingest"].get("rejected") == 300)
    good = _envelope(_alert_body())
    probe.publish(str(good.topic), wire.encode_envelope(good))
    assert wait_until(lambda: good.msg_id in _acked(probe))
    lines = [r.getMessage() for r in caplog.records if r.name == "server.ingest"]
    assert sum("rejected message" in line for line in lines) == PER_WINDOW
    assert client.get("/api/health").json()["ingest"]["rejected.malformed"] == 300
    assert column(store, "SELECT id FROM alerts") == [good.msg_id]
