"""The audit log is append-only and any tampering breaks the hash chain."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from server.audit import AuditError, AuditLog
from server.store.db import Store


def _log(path: Path | None = None) -> tuple[Store, AuditLog]:
    store = Store(path)
    return store, AuditLog(store.db)


def test_audit_chain_verifies_after_appends() -> None:
    _, log = _log()
    for n in range(5):
        assert log.record("sam", "staff", "read.resident", f"p-{n}", {"fields": ["room"]}) == n + 1
    check = log.verify()
    assert (check.ok, check.entries) == (True, 5)
    assert [e["subject"] for e in log.entries()] == ["p-4", "p-3", "p-2", "p-1", "p-0"]


def test_audit_log_refuses_update_and_delete() -> None:
    store, log = _log()
    log.record("sam", "staff", "read.resident", "p-1")
    for statement in ("UPDATE audit_log SET actor = 'eve'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store.db.execute(statement)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_log SET actor = 'eve' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_log SET seq = seq + 10 WHERE seq = 1",
    ],
)
def test_audit_tampering_around_the_triggers_is_detected(tamper: str) -> None:
    store, log = _log()
    for n in range(3):
        log.record("sam", "staff", "read.resident", f"p-{n}")
    store.db.executescript("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
    store.db.execute(tamper)
    store.db.conn.commit()
    assert not log.verify().ok


def test_audit_write_failure_raises_so_the_read_fails() -> None:
    store, log = _log()
    store.db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(AuditError, match="disk full"):
        log.record("sam", "staff", "read.resident", "p-1")


def test_audit_verify_command_reports_intact_and_altered(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    config = tmp_path / "server.toml"
    config.write_text(f'database = "{db}"\n')
    store, log = _log(db)
    log.record("sam", "staff", "read.resident", "p-1")
    log.record("sam", "staff", "read.resident", "p-2")

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "odart.cli", "audit", "verify", "--config", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )

    intact = verify()
    assert intact.returncode == 0, intact.stderr
    assert "2 entries" in intact.stdout
    store.db.executescript("DROP TRIGGER audit_log_no_update;")
    store.db.execute("UPDATE audit_log SET subject = 'p-9' WHERE seq = 1")
    store.db.conn.commit()
    store.close()
    altered = verify()
    assert altered.returncode == 1
    assert "ALTERED at entry 1" in altered.stderr
