"""The durable send queue in a real ``odart server``: a push cut off by SIGKILL is sent again."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.test_drills import answer_drills
from tests.server.test_escalation import alert_envelope
from tests.server.test_health import status
from tests.support.server_process import server_toml, start_server, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_send_queue_push_cut_off_by_a_kill_arrives_after_restart(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    # The night staff's phone takes the request and holds it: the server is killed mid-send.
    with NotificationReceiver(hold_s={"/night-staff": 30.0}) as receiver:
        config, port = server_toml(
            tmp_path,
            (mosquitto.host, mosquitto.port),
            receiver=receiver,
            rooms={"room-3": "Room 3"},
        )
        server = start_server(config, port)
        envelope = alert_envelope(21)
        with MqttProbe(mosquitto.host, mosquitto.port) as probe:
            probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
        (first,) = receiver.wait_for(1, timeout_s=15)
        stop(server, signal.SIGKILL)
        with sqlite3.connect(tmp_path / "server.db") as db:
            (state,) = db.execute("SELECT state FROM pushes").fetchone()
        assert state == "pending"  # committed with the alert; its send never finished

        receiver.hold_s.clear()
        server = start_server(config, port)
        try:
            assert wait_until(lambda: len(receiver.pushes) >= 2, timeout_s=15)
        finally:
            stop(server)
        again = receiver.pushes[1]
        assert (again.path, again.alert_id) == ("/night-staff", envelope.msg_id)
        # Same key: the phone shows it once. Still the first page: not "still unanswered".
        assert again.push_id == first.push_id is not None
        assert [p.path for p in receiver.shown()] == ["/night-staff"]
        assert "still unanswered" not in again.payload["message"]
    with sqlite3.connect(tmp_path / "server.db") as db:
        rows = db.execute("SELECT state, attempts FROM pushes").fetchall()
    assert rows == [("sent", 1)]


def test_send_queue_drill_push_cut_off_by_a_kill_arrives_after_restart(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    # The drill office's receiver holds the drill push: the server is killed mid-send.
    with NotificationReceiver(hold_s={"/drill-office": 30.0}) as receiver:
        config, port = server_toml(tmp_path, (mosquitto.host, mosquitto.port), receiver=receiver)
        text = config.read_text().replace(
            "[sites.escalation]",
            f'drill_every_h = 24\ndrill_urls = ["{receiver.url("/drill-office")}"]\n'
            "[sites.escalation]",
        )
        config.write_text(text)
        server = start_server(config, port)
        online = status(wire.EdgeState.ONLINE, "c1")
        with MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/cmd") as edge:
            edge.publish(str(online.topic), wire.encode_envelope(online), retain=True)
            answer = answer_drills(edge)
            assert wait_until(lambda: answer() == 1, timeout_s=15)
            (first,) = receiver.wait_for(1, timeout_s=15)
        stop(server, signal.SIGKILL)
        with sqlite3.connect(tmp_path / "server.db") as db:
            pending = db.execute("SELECT purpose, responder_id, state FROM pushes").fetchall()
        assert pending == [("drill", "drill:hostel-1", "pending")]

        receiver.hold_s.clear()
        server = start_server(config, port)
        try:
            assert wait_until(lambda: len(receiver.pushes) >= 2, timeout_s=15)
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        finally:
            stop(server)
        again = receiver.pushes[1]
        assert again.path == "/drill-office"
        assert again.push_id == first.push_id is not None  # the same push: shown once
        # Never a responder: only the drill office heard of it.
        assert {p.path for p in receiver.pushes} == {"/drill-office"}
        assert 'odart_pushes_total{purpose="drill",result="sent"} 1.0' in metrics
    with sqlite3.connect(tmp_path / "server.db") as db:
        assert db.execute("SELECT state, attempts FROM pushes").fetchall() == [("sent", 1)]
        (outcome, delivered) = db.execute("SELECT outcome, delivered_at FROM drills").fetchone()
    assert (outcome, delivered is not None) == ("delivered", True)
