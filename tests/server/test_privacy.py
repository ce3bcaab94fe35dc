"""The data inventory covers everything stored; retention purges what expired, and logs it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from firmware_bridge.wire import AlertKind, Severity
from server.app import create_app
from server.audit import AuditLog
from server.config import settings_from_mapping
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle
from server.errors import ConfigError
from server.privacy.inventory import TABLES, TOPICS, declared
from server.privacy.retention import DEFAULT_RETENTION_DAYS, Purger
from server.store.db import Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_inventory_declares_every_table_and_column_the_server_creates() -> None:
    store = Store(None)
    # No broker is needed to create the schema; ingest just keeps retrying in the background.
    settings = settings_from_mapping({"mqtt": {"port": 1}})
    with TestClient(create_app(settings, store=store)):
        tables = {name: {c.name for c in store.db[name].columns} for name in store.db.table_names()}
    undeclared = sorted(name for name in tables if declared(name) is None)
    assert undeclared == [], "declare these tables in server/privacy/inventory.py"
    for name, columns in tables.items():
        item = declared(name)
        assert item is not None
        assert set(item.columns) == columns, f"{name}: inventory differs from the schema"


def test_inventory_declares_every_mqtt_topic() -> None:
    assert {item.name for item in TOPICS} == {f"mqtt:{kind.value}" for kind in wire.TopicKind}
    assert len({item.name for item in TABLES}) == len(TABLES)


def _alert(n: int, *, closed_days_ago: float | None) -> tuple[Alert, Lifecycle]:
    state = AlertState.TRIGGERED if closed_days_ago is None else AlertState.RESOLVED
    alert = Alert(
        wire.encode_ulid(1_700_000_000_000 + n, n),
        "s",
        "e",
        AlertKind.APNOEA,
        Severity.CRITICAL,
        NOW,
        NOW,
        NOW,
        participant_id="p-1",
        state=state,
    )
    return alert, Lifecycle(state)


def test_retention_purges_only_expired_closed_records_and_logs_each_destruction() -> None:
    store = Store(None)
    audit = AuditLog(store.db, now=lambda: NOW)
    old_closed, life = _alert(1, closed_days_ago=3000)
    store.insert_alert(old_closed, life)
    store.record_delivery(old_closed.alert_id, "staff", "json", True, NOW - timedelta(days=3000))
    store.db.execute(
        "UPDATE alerts SET closed_at = ? WHERE id = ?",
        [wire.format_utc(NOW - timedelta(days=3000)), old_closed.alert_id],
    )
    old_open, life = _alert(2, closed_days_ago=None)
    store.insert_alert(old_open, life)
    store.insert_device_event(
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "s",
        "e",
        "w",
        "connected",
        90.0,
        None,
        NOW - timedelta(days=60),
        NOW - timedelta(days=60),
    )
    store.insert_device_event(
        "01ARZ3NDEKTSV4RRFFQ69G5FAW", "s", "e", "w", "connected", 90.0, None, NOW, NOW
    )
    store.db.conn.commit()

    purged = Purger(store.db, audit, DEFAULT_RETENTION_DAYS, now=lambda: NOW).purge()

    assert [a.alert_id for a in store.alerts()] == [old_open.alert_id]  # open: never purged
    assert store.timeline(old_closed.alert_id) == []
    assert store.deliveries(old_closed.alert_id) == []
    assert [r[0] for r in store.db.execute("SELECT id FROM device_events")] == [
        "01ARZ3NDEKTSV4RRFFQ69G5FAW"
    ]
    assert purged >= 2
    destruction = {
        e["subject"]: e["detail"] for e in audit.entries() if e["action"] == "retention.purge"
    }
    assert destruction["alert_record"]["rows"] == 1
    assert destruction["device_health"]["rows"] == 1
    assert audit.verify().ok


def test_retention_config_without_a_period_stops_start_up() -> None:
    partial = dict(DEFAULT_RETENTION_DAYS)
    del partial["consent_record"]
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"retention_days": partial})
    assert caught.value.key == "retention_days"
    assert "consent_record" in caught.value.reason


def test_privacy_report_lists_every_declaration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", "privacy", "report", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    names = {row["data"] for row in rows}
    assert {item.name for item in (*TABLES, *TOPICS)} <= names
    assert "edge:raw_signals" in names
    for row in rows:
        assert row["purposes"]
        assert row["lawful_basis"]
        assert row["retention"]["days"] > 0
