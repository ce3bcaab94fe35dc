"""The edge's check-in against real parts: virtual wearer, edge, Mosquitto, server, receiver.

The edge runs in a thread with a short check-in window (2 s) and virtual wearables paced ten
times real time; detections are hand-made events fed to the agent's event path, so no test
waits for simulated physiology.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.detector import DetectionEvent
from firmware_bridge import AlertLevel
from firmware_bridge.wire import Envelope
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.domain.alerts import AlertState
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.integration.edge_thread import EdgeThread, critical, edge_config, warning
from tests.mqtt_probe import wait_until

pytestmark = pytest.mark.integration

CHECKIN_S = 2.0
GRACE_S = 1.0
# Scheduling slack on a loaded 2-core CI machine: the server's timer ticks every second.
SLACK_S = 2.5


def server_settings(broker: MosquittoBroker, receiver: NotificationReceiver) -> dict[str, Any]:
    return {
        "mqtt": {"host": broker.host, "port": broker.port},
        "http": {"public_url": "http://panel.test"},
        "sites": [
            {
                "id": "hostel-1",
                "name": "Hostel",
                "escalation": {
                    "level_timeouts_s": [30.0, 30.0, 30.0],
                    "checkin_grace_s": GRACE_S,
                },
                "rooms": [{"id": "room-3", "label": "Room 3"}],
            }
        ],
        "responders": [
            {"id": "night-staff", "name": "Night staff", "level": 0, "urls": [receiver.url("/s")]}
        ],
    }


@pytest.fixture
def server(mosquitto: MosquittoBroker, receiver: NotificationReceiver) -> Iterator[TestClient]:
    # An in-memory store, read only through the app: SQLite calls from the test thread would
    # race the app's writer on the same connection.
    settings = settings_from_mapping(server_settings(mosquitto, receiver))
    app = create_app(settings, store=Store(None))
    with TestClient(app) as client:
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        yield client


def log_in_if_asked(client: TestClient, status: int) -> bool:
    """Log in as staff when the panel asks for it (where panel accounts exist)."""
    if status not in {401, 403}:
        return False
    from tests.server.conftest import staff_client

    staff_client(client, "checkin-staff")
    return True


def alert_json(client: TestClient, alert_id: str) -> dict[str, Any] | None:
    """The alert as the panel's API shows it (read through the app, never its database)."""
    answer = client.get(f"/api/alerts/{alert_id}")
    if log_in_if_asked(client, answer.status_code):
        answer = client.get(f"/api/alerts/{alert_id}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    detail: dict[str, Any] = answer.json()
    return detail


def state_of(client: TestClient, alert_id: str) -> AlertState | None:
    detail = alert_json(client, alert_id)
    return None if detail is None else AlertState(detail["state"])


def act(client: TestClient, alert_id: str, action: str) -> int:
    """Act on an alert from the panel."""
    url = f"/api/alerts/{alert_id}/actions"
    answer = client.post(url, json={"action": action})
    if log_in_if_asked(client, answer.status_code):
        answer = client.post(url, json={"action": action})
    return answer.status_code


def start_edge(tmp_path: Path, broker: MosquittoBroker, **settings: Any) -> EdgeThread:
    config = edge_config(broker, tmp_path / "outbox.db", checkin_s=CHECKIN_S, **settings)
    edge = EdgeThread(config).start()
    assert wait_until(edge.agent.publisher.connected.is_set, timeout_s=15)
    assert wait_until(lambda: edge.wearables[0].streaming)
    return edge


def raise_event(edge: EdgeThread, event: DetectionEvent) -> Envelope:
    return edge.call(lambda: edge.agent.handle_event("p-0001", "wearable-1", event))


def test_checkin_answered_by_the_wearer_cancels_and_pages_nobody(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    server: TestClient,
    receiver: NotificationReceiver,
) -> None:
    with start_edge(tmp_path, mosquitto, answer_delay_s=5.0) as edge:
        (wearable,) = edge.wearables
        alert = raise_event(edge, warning())
        assert wait_until(lambda: state_of(server, alert.msg_id) is not None, timeout_s=10)
        # The wearer presses 5 simulated seconds (0.5 s) after the buzz; the server cancels.
        assert wait_until(lambda: state_of(server, alert.msg_id) is AlertState.CANCELLED, 10)
        assert wearable.alerts == [AlertLevel.HIGH_ALERT, AlertLevel.NO_ALERT]
        time.sleep(CHECKIN_S + GRACE_S + 1.0)  # past the server's own check-in timer
        assert state_of(server, alert.msg_id) is AlertState.CANCELLED
        assert receiver.pushes == []
        assert wait_until(lambda: edge.outbox_size() == 0, timeout_s=10)


def test_checkin_unanswered_pages_after_the_window(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    server: TestClient,
    receiver: NotificationReceiver,
) -> None:
    with start_edge(tmp_path, mosquitto, answers_checkin=False) as edge:
        (wearable,) = edge.wearables
        sent_at = time.monotonic()
        alert = raise_event(edge, warning())
        assert wait_until(lambda: wearable.buzzing, timeout_s=15)
        (push,) = receiver.wait_for(1, timeout_s=CHECKIN_S + GRACE_S + SLACK_S + 30)
        paged_after_s = time.monotonic() - sent_at
        # Not before the wearer's window ran out. How late on a loaded machine is not this
        # test's business (the timeline below says the page came from the check-in expiring).
        assert paged_after_s >= CHECKIN_S - 0.2
        assert push.alert_id == alert.msg_id
        assert state_of(server, alert.msg_id) is AlertState.TRIGGERED
        assert wait_until(lambda: not wearable.buzzing, timeout_s=15)
        detail = alert_json(server, alert.msg_id)
        assert detail is not None
        timeline = [e["event"] for e in detail["timeline"]]
        assert timeline[:3] == ["stored", "checking_in", "escalated"]


def test_checkin_critical_pages_at_once_without_buzzing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    server: TestClient,
    receiver: NotificationReceiver,
) -> None:
    with start_edge(tmp_path, mosquitto) as edge:
        alert = raise_event(edge, critical())
        (push,) = receiver.wait_for(1, timeout_s=30)
        assert push.alert_id == alert.msg_id
        assert edge.wearables[0].alerts == []
        # Paged at once: no check-in window came first (a timing bound here would measure the
        # machine's load, not the rule).
        detail = alert_json(server, alert.msg_id)
        assert detail is not None
        assert "checking_in" not in [e["event"] for e in detail["timeline"]]


def test_checkin_cancelled_by_staff_stops_the_buzz(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    server: TestClient,
    receiver: NotificationReceiver,
) -> None:
    config_window_s = 30.0
    config = edge_config(
        mosquitto, tmp_path / "outbox.db", checkin_s=config_window_s, answers_checkin=False
    )
    with EdgeThread(config) as edge:
        assert wait_until(edge.agent.publisher.connected.is_set, timeout_s=15)
        assert wait_until(lambda: edge.wearables[0].streaming)
        (wearable,) = edge.wearables
        alert = raise_event(edge, warning())
        assert wait_until(lambda: state_of(server, alert.msg_id) is AlertState.CHECKING_IN, 10)
        assert wait_until(lambda: wearable.buzzing, timeout_s=15)
        assert act(server, alert.msg_id, "cancel") == 200
        assert wait_until(lambda: not wearable.buzzing, timeout_s=15)
        assert wearable.alerts == [AlertLevel.HIGH_ALERT, AlertLevel.NO_ALERT]
        assert not edge.agent.people["p-0001"].checkin.open
        assert edge.agent.counts["update_cancelled_by_wearer"] == 0
        assert edge.agent.counts["update_checkin_expired"] == 0
        assert state_of(server, alert.msg_id) is AlertState.CANCELLED
        assert receiver.pushes == []


def test_checkin_answered_while_the_broker_is_down_is_delivered_after(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    server: TestClient,
    receiver: NotificationReceiver,
) -> None:
    config = edge_config(mosquitto, tmp_path / "outbox.db", checkin_s=30.0, answer_delay_s=5.0)
    with EdgeThread(config) as edge:
        assert wait_until(edge.agent.publisher.connected.is_set, timeout_s=15)
        assert wait_until(lambda: edge.wearables[0].streaming)

        # The wearable's first statuses (connected, then its battery) reach the server first.
        def reported() -> bool:
            status = edge.agent.link_status.get("wearable-1")
            return status is not None and status.battery_pct is not None

        assert wait_until(lambda: reported() and edge.outbox_size() == 0, timeout_s=15)
        (wearable,) = edge.wearables
        mosquitto.stop()
        assert wait_until(lambda: not edge.agent.publisher.connected.is_set(), timeout_s=30)
        alert = raise_event(edge, warning())
        assert wait_until(lambda: wearable.alerts[-1:] == [AlertLevel.NO_ALERT], timeout_s=15)
        assert edge.outbox_size() == 2  # the alert and the wearer's answer, kept on disk
        assert state_of(server, alert.msg_id) is None
        mosquitto.start()
        assert wait_until(lambda: state_of(server, alert.msg_id) is AlertState.CANCELLED, 30)
        assert wait_until(lambda: edge.outbox_size() == 0, timeout_s=15)
        assert receiver.pushes == []
