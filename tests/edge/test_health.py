"""The edge's health file: what it says, when it counts as stale, and sd_notify to systemd."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.health import BROKER_GRACE_S, HealthWriter, build_report, read_and_check, sd_notify

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
UP = {
    "broker": {"state": "connected"},
    "outbox": {"state": "ok", "waiting": 0},
    "publisher": {"state": "running", "restarts": 0, "error": None},
}


def _written(tmp_path: Path, report: dict[str, object]) -> Path:
    path = tmp_path / "health.json"
    path.write_text(json.dumps(report))
    return path


def test_health_fresh_report_with_every_component_up_is_ok(tmp_path: Path) -> None:
    path = _written(tmp_path, build_report(NOW, "s1", "e1", 5.0, UP, None))
    verdict = read_and_check(path, NOW + timedelta(seconds=14))
    assert verdict.ok
    assert verdict.reasons == ()


def test_health_stale_report_is_not_ok(tmp_path: Path) -> None:
    path = _written(tmp_path, build_report(NOW, "s1", "e1", 5.0, UP, None))
    verdict = read_and_check(path, NOW + timedelta(seconds=16))
    assert not verdict.ok
    assert verdict.reasons[0].startswith("stale: written 16 s ago")


def test_health_names_each_component_that_is_down(tmp_path: Path) -> None:
    components = {
        **UP,
        "broker": {"state": "auth_failed"},
        "outbox": {"state": "disk_full", "in_memory": 3},
        "link-w1": {"state": "restarting", "error": "RuntimeError: port gone"},
    }
    report = build_report(NOW, "s1", "e1", 5.0, components, NOW - timedelta(seconds=5))
    assert report["ok"] is False
    verdict = read_and_check(_written(tmp_path, report), NOW)
    assert not verdict.ok
    assert verdict.reasons == (
        "broker: the broker refused the edge's credentials",
        "link-w1 restarting: RuntimeError: port gone",
        "outbox disk_full: messages held in memory only",
    )


def test_health_broker_away_past_the_grace_counts_as_down() -> None:
    away = NOW - timedelta(seconds=BROKER_GRACE_S + 1)
    assert build_report(NOW, "s1", "e1", 5.0, UP, NOW - timedelta(seconds=10))["ok"] is True
    report = build_report(NOW, "s1", "e1", 5.0, UP, away)
    assert report["ok"] is False
    assert report["problems"] == [f"broker unreachable since {report['broker_down_since']}"]


def test_health_missing_or_garbled_file_is_not_ok(tmp_path: Path) -> None:
    assert "no health file" in read_and_check(tmp_path / "none.json", NOW).reasons[0]
    (tmp_path / "bad.json").write_text("{not json")
    assert not read_and_check(tmp_path / "bad.json", NOW).ok
    (tmp_path / "list.json").write_text("[]")
    assert not read_and_check(tmp_path / "list.json", NOW).ok
    (tmp_path / "keys.json").write_text('{"ok": true}')
    assert "unreadable" in read_and_check(tmp_path / "keys.json", NOW).reasons[0]


def test_health_writer_tells_systemd_ready_then_watchdog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        writer = HealthWriter(
            tmp_path / "run" / "health.json", lambda: build_report(NOW, "s1", "e1", 5.0, UP, None)
        )
        assert writer.beat()
        assert writer.beat()
        writer.stopping()
        said = [systemd.recv(64) for _ in range(4)]
    assert said == [b"READY=1", b"WATCHDOG=1", b"WATCHDOG=1", b"STOPPING=1"]
    assert json.loads((tmp_path / "run" / "health.json").read_text())["ok"] is True
    assert not sd_notify("WATCHDOG=1", environ={})
