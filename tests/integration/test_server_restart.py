"""Kill the server with SIGKILL mid-escalation; started again, it resumes on schedule."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from firmware_bridge import wire
from odart.broker import MosquittoBroker, free_port
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.test_escalation import alert_envelope

pytestmark = pytest.mark.integration

LEVEL_S = 3.0


def _write_settings(
    path: Path, broker: MosquittoBroker, receiver: NotificationReceiver, port: int
) -> None:
    responders = "\n".join(
        f'[[responders]]\nid = "{rid}"\nname = "{rid}"\nlevel = {level}\n'
        f'urls = ["{receiver.url("/" + rid)}"]\n'
        for level, rid in enumerate(["night-staff", "manager", "outreach"])
    )
    path.write_text(f"""
database = "{path.parent / "server.db"}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
[http]
port = {port}
public_url = "http://127.0.0.1:{port}"
[[sites]]
id = "hostel-1"
name = "Hostel"
[sites.escalation]
level_timeouts_s = [{LEVEL_S}, {LEVEL_S}, {LEVEL_S}]
{responders}
""")


def _start(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "odart.cli", "server", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def ready() -> bool:
        try:
            return bool(
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).json()["mqtt_connected"]
            )
        except (httpx.HTTPError, json.JSONDecodeError):
            return False

    assert wait_until(ready, timeout_s=30), "the server did not come up"
    return process


def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    process.send_signal(sig)
    process.wait(10)
    assert process.stderr is not None
    process.stderr.close()


def test_server_killed_mid_escalation_resumes_on_schedule(
    tmp_path: Path, mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    port = free_port()
    config = tmp_path / "server.toml"
    _write_settings(config, mosquitto, receiver, port)
    server = _start(config, port)
    envelope = alert_envelope(11)
    with MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    first = receiver.wait_for(1, timeout_s=10)
    paged_at = time.monotonic()
    assert [p.path for p in first] == ["/night-staff"]
    time.sleep(0.5)  # mid-escalation: level 0 paged and recorded, level 1 not yet due
    _stop(server, signal.SIGKILL)
    killed_at = time.monotonic()
    time.sleep(
        max(0.0, paged_at + LEVEL_S + 1.0 - time.monotonic())
    )  # level 1 falls due while down
    assert [p.path for p in receiver.pushes] == ["/night-staff"]

    server = _start(config, port)
    try:
        pushes = receiver.wait_for(3, timeout_s=15)
        arrived = time.monotonic()
    finally:
        _stop(server, signal.SIGTERM)
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
