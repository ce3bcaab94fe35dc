"""Refused credentials are permanent at the edge: one try, a clear log line, health says so.

A real ``odart edge`` process against a real Mosquitto that knows one user, not the edge's
password; the agent keeps detecting and keeps its alerts in the outbox.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.mqtt_probe import wait_until
from tests.server.test_supervisor import locked_broker
from tests.support.edge_process import edge_health, edge_toml, start_edge, stop

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
    config = edge_toml(
        tmp_path / "edge.toml",
        ("127.0.0.1", locked_broker),
        outbox,
        health=health,
        credentials=("edge", "not-the-password"),
    )
    log_path = tmp_path / "edge.log"
    edge = start_edge(config, log_path)
    try:
        assert wait_until(lambda: "refused" in log_path.read_text(), timeout_s=30)
        assert wait_until(lambda: _alerts(outbox) > 0, timeout_s=60), log_path.read_text()
        time.sleep(3.0)  # a retry, were there one, would have come by now (first backoff 0.5 s)
        assert edge.poll() is None, "the edge exited"
        verdict = edge_health(config)
    finally:
        stop(edge)
    log = log_path.read_text()
    assert log.count("refused this edge's credentials") == 1, log
    assert "broker connection lost" not in log  # never treated as a passing fault
    assert verdict.returncode == 1
    assert "the broker refused the edge's credentials" in verdict.stdout
