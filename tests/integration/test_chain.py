"""The whole chain: virtual wearable -> edge -> Mosquitto -> server -> apprise -> HTTP receiver."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from odart.broker import MosquittoBroker, find_mosquitto
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.conftest import require
from tests.db_probe import column
from tests.mqtt_probe import wait_until
from tests.support.edge_process import edge_toml, start_edge, stop
from tests.support.odart_process import log_tail

pytestmark = pytest.mark.integration


def test_demo_delivers_the_scripted_apnoea_once_with_every_hop() -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "odart.cli",
            "demo",
            "--headless",
            "--json",
            "--duration",
            "100",
            "--speed",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["broker"] == "mosquitto"
    apnoeas = [alert for alert in summary["alerts"] if alert["kind"] == "apnoea"]
    assert len(apnoeas) == 1
    (apnoea,) = apnoeas
    assert apnoea["room"] == "room-3"
    assert apnoea["severity"] == "critical"
    hops = apnoea["hops"]
    assert all(
        hops[name]
        for name in ("onset_at", "detected_at", "published_at", "stored_at", "notified_at")
    )
    assert hops["onset_at"] <= hops["detected_at"] <= hops["published_at"]
    assert hops["published_at"] <= hops["stored_at"] <= hops["notified_at"]
    # Nobody else stopped breathing: the other two wearers raised nothing that pages.
    assert summary["notifications_received"] == 1
    assert "odart demo" not in result.stdout  # progress goes to stderr, JSON alone to stdout
    assert "stops breathing" in result.stderr


def _outbox_alerts(outbox: Path) -> list[tuple[str, str, int]]:
    """The alerts in the edge's outbox: (message id, alert kind, publish attempts), oldest first."""
    if not outbox.exists():
        return []
    try:
        with sqlite3.connect(outbox) as db:
            rows = db.execute(
                "SELECT msg_id, CAST(payload AS TEXT), attempts FROM outbox "
                'WHERE CAST(payload AS TEXT) LIKE \'%"type":"alert"%\' ORDER BY rowid'
            ).fetchall()
    except sqlite3.OperationalError:  # the agent has created the file but not yet the table
        return []
    return [(msg_id, json.loads(payload)["body"]["alert_kind"], n) for msg_id, payload, n in rows]


def test_outbox_alert_survives_an_edge_killed_before_the_server_acked(
    tmp_path: Path, mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    outbox, log = tmp_path / "outbox.db", tmp_path / "edge.log"
    broker = (mosquitto.host, mosquitto.port)
    # 1. The edge detects and publishes while no server is listening: nobody acks.
    edge = start_edge(edge_toml(tmp_path / "edge.toml", broker, outbox), log)
    try:
        assert wait_until(
            lambda: any(
                kind == "apnoea" and attempts >= 1 for _, kind, attempts in _outbox_alerts(outbox)
            ),
            timeout_s=60,
        ), "the edge never published an alert"
    finally:
        stop(edge, signal.SIGKILL)
    # The stillness warning that follows the apnoea 1.2 s later may be queued too when a loaded
    # machine slowed the edge and it caught up on its wearable's samples: it must survive as well.
    queued = _outbox_alerts(outbox)
    (alert_id,) = [msg_id for msg_id, kind, _ in queued if kind == "apnoea"]
    alert_ids = sorted(msg_id for msg_id, _, _ in queued)

    # 2. The server comes up; the edge restarts (no new apnoea) and drains its outbox.
    settings = settings_from_mapping(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sites": [{"id": "hostel-1", "name": "Hostel"}],
            "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
        }
    )
    store = Store(None)
    with TestClient(create_app(settings, store=store)):
        edge = start_edge(edge_toml(tmp_path / "edge2.toml", broker, outbox, apnoea_at_s=None), log)
        try:
            assert wait_until(lambda: _outbox_alerts(outbox) == [], timeout_s=60), log_tail(log)
            assert wait_until(
                lambda: alert_id in [push.alert_id for push in receiver.pushes], timeout_s=30
            )
            time.sleep(1.0)  # a second push for the same alert would be in flight by now
        finally:
            stop(edge)
        assert sorted(column(store, "SELECT id FROM alerts")) == alert_ids
        pushed = [push.alert_id for push in receiver.pushes]
        assert pushed.count(alert_id) == 1
        assert len(pushed) == len(set(pushed))  # no alert paged twice
        assert set(pushed) <= set(alert_ids)
