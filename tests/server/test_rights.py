"""Subject access export and erasure: inventory-driven, complete, and the audit chain survives."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from firmware_bridge import wire
from firmware_bridge.wire import AlertKind, CommandBody, Severity
from odart.broker import MosquittoBroker
from server.audit import AuditLog
from server.domain.alerts import Alert
from server.privacy.enrol import enrol_consented
from server.privacy.gate import REVIEW_CHECK_S, ConsentGate
from server.privacy.inventory import TABLES
from server.privacy.rights import KEPT_ON_ERASURE, erase, export, subject_tables
from server.store.consents import Consents, Verdict
from server.store.db import Store
from server.store.residents import Residents
from tests.mqtt_probe import MqttProbe

NOW = datetime.now(UTC)
ME, OTHER = "p-0001", "p-0002"
SUBJECT_COLUMNS = {"participant_id", "subject"}


def _seed(store: Store, participant: str, n: int) -> str:
    """One resident in every kind of record; returns their alert id."""
    db = store.db
    enrol_consented(
        db,
        lambda: NOW,
        site_id="hostel-1",
        device_id=f"wearable-{n}",
        room_id=f"room-{n}",
        participant_id=participant,
        by="night-staff",
    )
    Residents(db, lambda: NOW).set_identity(
        participant, f"Name of {participant}", date(1990, 1, n), "notes", "night-staff"
    )
    alert_id = wire.encode_ulid(int(NOW.timestamp() * 1000) + n, n)
    store.insert_alert(
        Alert(
            alert_id,
            "hostel-1",
            "pi-1",
            AlertKind.APNOEA,
            Severity.CRITICAL,
            NOW,
            NOW,
            NOW,
            participant_id=participant,
            room_id=f"room-{n}",
        )
    )
    store.record_delivery(alert_id, "night-staff", "ntfy", True, NOW)
    with db.conn:
        db.execute(
            "INSERT INTO disclosures (alert_id, participant_id, recipient, reason, basis, fields, "
            "released_at, released_by) VALUES (?, ?, 'ambulance', 'handover', 'x', '[]', ?, 's')",
            [alert_id, participant, wire.format_utc(NOW)],
        )
        db.execute(
            "INSERT INTO referrals (id, alert_id, participant_id, service, created_at, created_by)"
            " VALUES (?, ?, ?, 'Cair Drugs Service', ?, 's')",
            [f"ref-{n}", alert_id, participant, wire.format_utc(NOW)],
        )
        # A drill answered by a test alert raised for this resident (the edge's first).
        db.execute(
            "INSERT INTO drills (id, site_id, edge_id, requested_at, outcome, alert_id) "
            "VALUES (?, 'hostel-1', 'pi-1', ?, 'delivered', ?)",
            [f"drill-{n}", wire.format_utc(NOW), alert_id],
        )
    audit = AuditLog(db)
    audit.record("day-staff", "staff", "read.identity", participant)
    audit.record("responder-1", "responder", "read.alert", alert_id)
    return alert_id


@pytest.fixture
def store() -> Store:
    store = Store(None)
    _seed(store, ME, 1)
    _seed(store, OTHER, 2)
    return store


def _holding(store: Store, text: str) -> set[str]:
    """Tables in which ``text`` appears in any column."""
    found = set()
    for table in store.db.table_names():
        for row in store.db.query(f"SELECT * FROM {table}"):
            if any(isinstance(v, str) and text in v for v in row.values()):
                found.add(table)
    return found


def test_rights_every_table_about_a_resident_is_covered_by_export_and_erasure() -> None:
    store = Store(None)
    covered = {item.name for item in subject_tables()}
    for table in store.db.table_names():
        columns = {c.name for c in store.db[table].columns}
        declared = next(item for item in TABLES if item.name == table)
        if columns & SUBJECT_COLUMNS and table not in {"erasures", "erasure_permits"}:
            assert table in covered, f"{table} names a resident: give it subject= in inventory"
        if "alert_id" in columns and table not in covered:
            pytest.fail(f"{table} hangs off an alert: give it via= in the inventory")
        assert declared.subject is None or declared.subject in columns


def test_rights_export_holds_everything_about_them_and_nothing_about_others(store: Store) -> None:
    document = export(store.db, ME, NOW)
    tables = document["tables"]
    for name in (
        "residents",
        "resident_identity",
        "consent_records",
        "enrolments",
        "alerts",
        "alert_timeline",
        "deliveries",
        "disclosures",
        "referrals",
        "drills",
    ):
        assert tables[name]["rows"], f"{name} missing from the export"
        assert tables[name]["lawful_basis"]
    assert tables["resident_identity"]["rows"][0]["name"] == f"Name of {ME}"
    assert document["consent_texts"]["v1"].startswith("# Overdose alert wearable")
    viewers = {(e["actor"], e["action"]) for e in document["access_history"]}
    assert {("day-staff", "read.identity"), ("responder-1", "read.alert")} <= viewers
    dumped = json.dumps(document)
    assert OTHER not in dumped
    assert f"Name of {OTHER}" not in dumped


def test_rights_erasure_removes_them_everywhere_but_the_audit_log_which_still_verifies(
    store: Store,
) -> None:
    audit = AuditLog(store.db)
    before = _holding(store, ME)
    assert before >= {"residents", "resident_identity", "consent_records", "alerts"}
    removed = erase(store.db, audit, ME, "dpo", lambda: NOW)
    assert removed["consent_records"] == 1
    assert removed["alert_timeline"] >= 1
    assert removed["drills"] == 1
    assert [row["id"] for row in store.db.query("SELECT id FROM drills")] == ["drill-2"]
    assert _holding(store, ME) == {"audit_log", "erasures"}
    assert _holding(store, f"Name of {ME}") == set()  # the identity is gone everywhere
    assert {"audit_log"} == KEPT_ON_ERASURE
    assert audit.verify().ok
    assert [e["action"] for e in audit.entries(ME)][:2] == ["erase.done", "erase.resident"]
    consents = Consents(store.db, lambda: NOW)
    assert consents.site_snapshot("hostel-1") == {ME: "erased", OTHER: "active"}
    assert consents.verdict(ME) is Verdict.REFUSED
    assert f"Name of {OTHER}" in str(export(store.db, OTHER, NOW))  # the other is untouched
    assert store.db.execute("SELECT COUNT(*) FROM erasure_permits").fetchone()[0] == 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odart.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.integration
def test_rights_cli_export_then_erase_tells_the_edge_and_audit_verifies(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    database = tmp_path / "server.db"
    store = Store(database)
    _seed(store, ME, 1)
    store.set_edge_status("hostel-1", "pi-1", "online", "c1", NOW)
    store.close()
    config = tmp_path / "server.toml"
    config.write_text(
        f'database = "{database}"\n[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
    )
    out = tmp_path / "export.json"
    exported = _cli(
        "privacy", "export", ME, "--config", str(config), "--out", str(out), "--by", "dpo"
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text())["participant_id"] == ME
    erased = _cli("privacy", "erase", ME, "--config", str(config), "--yes", "--by", "dpo")
    assert erased.returncode == 0, erased.stderr
    assert "told 1 edge" in erased.stdout
    with MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/hostel-1/pi-1/cmd") as probe:
        (_, payload, retained), *_ = probe.wait_for(1)
    assert retained
    assert json.loads(payload)["body"]["args"] == {ME: "erased"}
    verified = _cli("audit", "verify", "--config", str(config))
    assert verified.returncode == 0, verified.stderr
    after = Store(database)
    actions = [e["action"] for e in AuditLog(after.db).entries(ME)]
    after.close()
    assert actions == ["erase.done", "erase.resident", "export.resident", "read.identity"]


def test_rights_erased_pseudonym_cannot_come_back(store: Store) -> None:
    erase(store.db, AuditLog(store.db), ME, "dpo", lambda: NOW + timedelta(seconds=1))
    with pytest.raises(ValueError, match="erased"):
        Residents(store.db, lambda: NOW).ensure(ME, "hostel-1", "x")


def test_rights_a_running_server_tells_the_edges_of_an_erasure_made_elsewhere(
    store: Store,
) -> None:
    clock = [NOW]
    store.set_edge_status("hostel-1", "pi-1", "online", "c1", NOW)
    sent: list[dict[str, object]] = []

    async def send(site: str, edge: str, body: CommandBody) -> None:
        sent.append(dict(body.args))

    async def scenario() -> None:
        gate = ConsentGate(Consents(store.db, lambda: clock[0]), lambda: clock[0])
        gate.set_sender(send)
        assert gate.tick() == 0  # the first look only remembers
        erase(store.db, AuditLog(store.db), ME, "dpo", lambda: NOW)  # as the CLI would
        clock[0] += timedelta(seconds=REVIEW_CHECK_S)
        assert gate.tick() == 1
        await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert sent == [{ME: "erased", OTHER: "active"}]
