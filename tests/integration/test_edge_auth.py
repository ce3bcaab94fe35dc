"""Refused credentials are permanent at the edge: one try, a clear log line, health says so.

A real ``odart edge`` process against a real Mosquitto that knows one user, not the edge's
password; the agent keeps detecting and keeps its alerts in the outbox.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.mqtt_probe import wait_until
from tests.server.test_supervisor import locked_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["locked_broker"]  # the fixture, imported for its name


def _alerts(outbox: Path) -> int:
    try:
        with sqlite3.connect(outbox) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM outbox WHERE CAST(payload AS TEXT) LIKE ?",
                ('%"type":"alert"%',),
            ).fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(count)


def test_edge_with_refused_credentials_stops_retrying_and_keeps_detecting(
    tmp_path: Path, locked_broker: int
) -> None:
    outbox, health = tmp_path / "outbox.db", tmp_path / "health.json"
    config = tmp_path / "edge.toml"
    config.write_text(f"""
site = "hostel-1"
edge = "pi-1"
outbox = "{outbox}"

[mqtt]
host = "127.0.0.1"
port = {locked_broker}
username = "edge"
password = "not-the-password"

[health]
file = "{health}"
period_s = 0.5

[[people]]
participant = "p-0009"
room = "room-9"
devices = ["wearable-9"]

[[devices]]
id = "wearable-9"
role = "wearable"
link = "virtual"
[devices.virtual]
seed = 9
speed = 10
episodes = [{{ kind = "abrupt_apnoea", start_s = 30 }}]
""")
    log_path = tmp_path / "edge.log"
    with log_path.open("wb") as log_file:
        edge = subprocess.Popen(
            [sys.executable, "-m", "odart.cli", "edge", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        assert wait_until(lambda: "refused" in log_path.read_text(), timeout_s=30)
        assert wait_until(lambda: _alerts(outbox) > 0, timeout_s=60), log_path.read_text()
        time.sleep(3.0)  # a retry, were there one, would have come by now (first backoff 0.5 s)
        assert edge.poll() is None, "the edge exited"
        verdict = subprocess.run(
            [sys.executable, "-m", "odart.cli", "edge", "health", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        edge.terminate()
        edge.wait(15)
    log = log_path.read_text()
    assert log.count("refused this edge's credentials") == 1, log
    assert "broker connection lost" not in log  # never treated as a passing fault
    assert verdict.returncode == 1
    assert "the broker refused the edge's credentials" in verdict.stdout
