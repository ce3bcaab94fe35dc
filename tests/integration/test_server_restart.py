"""Kill the server with SIGKILL mid-escalation; started again, it resumes on schedule."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.test_escalation import alert_envelope
from tests.support.server_process import server_toml, start_server, stop

pytestmark = pytest.mark.integration

LEVEL_S = 3.0


def _sent_pushes(database: Path) -> int:
    """How many pushes the server has recorded as sent."""
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as db:
        try:
            (count,) = db.execute("SELECT COUNT(*) FROM pushes WHERE state = 'sent'").fetchone()
        except sqlite3.OperationalError:  # not yet created
            return 0
    return int(count)


def test_server_killed_mid_escalation_resumes_on_schedule(
    tmp_path: Path, mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    config, port = server_toml(
        tmp_path, (mosquitto.host, mosquitto.port), receiver=receiver, staff=False, level_s=LEVEL_S
    )
    server = start_server(config, port)
    envelope = alert_envelope(11)
    with MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    first = receiver.wait_for(1, timeout_s=10)
    paged_at = time.monotonic()
    assert [p.path for p in first] == ["/night-staff"]
    # Mid-escalation: level 0 paged and recorded (else the restart would rightly page it
    # again), level 1 not yet due.
    assert wait_until(lambda: _sent_pushes(tmp_path / "server.db") >= 1, timeout_s=LEVEL_S - 1.0)
    stop(server, signal.SIGKILL)
    killed_at = time.monotonic()
    time.sleep(
        max(0.0, paged_at + LEVEL_S + 1.0 - time.monotonic())
    )  # level 1 falls due while down
    assert [p.path for p in receiver.pushes] == ["/night-staff"]

    server = start_server(config, port)
    try:
        pushes = receiver.wait_for(3, timeout_s=15)
        arrived = time.monotonic()
    finally:
        stop(server)
    assert [p.path for p in pushes[:3]] == ["/night-staff", "/manager", "/outreach"]
    manager, outreach = pushes[1].received_at, pushes[2].received_at
    # The overdue level fired on restart; the next level kept its full timeout after that.
    gap = (outreach - manager).total_seconds()
    assert LEVEL_S - 0.5 <= gap <= LEVEL_S + 2.0, gap
    assert arrived > killed_at
    with sqlite3.connect(tmp_path / "server.db") as db:
        (count,) = db.execute("SELECT COUNT(*) FROM alerts").fetchone()
        events = [
            row[0]
            for row in db.execute(
                "SELECT event FROM alert_timeline WHERE alert_id = ? ORDER BY id", [envelope.msg_id]
            )
        ]
    assert count == 1
    assert events.count("escalated") >= 2
