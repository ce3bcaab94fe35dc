"""``odart backup`` and the backup migrations take: online, private, verified, restorable."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from odart.cli import main
from server.store.db import Store
from server.store.migrations import MIGRATIONS, migrate
from tests.conftest import require

NOBODY_UID = 65534
"""Debian's ``nobody``: any owner but root will do."""
OLD = 3
"""The schema an older release left: the first three migrations."""


def _settings(tmp_path: Path, database: Path) -> Path:
    config = tmp_path / f"{database.stem}.toml"
    config.write_text(f'database = "{database}"\n[[sites]]\nid = "site-1"\nname = "Site"\n')
    return config


def _odart(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odart.cli", *argv], capture_output=True, text=True, check=False
    )


def _event(i: int) -> tuple[object, ...]:
    return (f"ev-{i:08d}", "site-1", "edge-1", "w-1", "connected", None, None, "t", "t")


class Writer(threading.Thread):
    """Commits one device event at a time to the database, as ingest does, until stopped."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.committed = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.database, timeout=0.5)
        conn.execute("PRAGMA synchronous=FULL")
        try:
            while not self.stop.is_set():
                try:
                    with conn:
                        conn.execute(
                            "INSERT INTO device_events (id, site_id, edge_id, device_id, state,"
                            " battery_pct, rssi_dbm, created_at, stored_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            _event(self.committed),
                        )
                    self.committed += 1
                except sqlite3.Error as error:
                    self.errors.append(str(error))
        finally:
            conn.close()


def test_backup_while_a_writer_is_active_is_consistent_private_and_verified(
    tmp_path: Path,
) -> None:
    database = tmp_path / "odart.db"
    Store(database).close()  # the real schema, in WAL mode
    config = _settings(tmp_path, database)
    target = tmp_path / "backups" / "odart-backup.db"
    target.parent.mkdir()
    writer = Writer(database)
    writer.start()
    try:
        assert _wait(lambda: writer.committed >= 200)
        before = writer.committed
        result = _odart("backup", "--config", str(config), "--to", str(target))
        during = writer.committed - before
        assert _wait(lambda: writer.committed >= before + during + 50)  # still writing after
    finally:
        writer.stop.set()
        writer.join(10)
    assert result.returncode == 0, result.stderr
    assert "integrity ok" in result.stdout
    assert during > 0  # the writer committed while the backup ran...
    assert writer.errors == []  # ...and the backup never locked it out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not list(target.parent.glob(".*partial"))
    copy = sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        rows = copy.execute("SELECT id FROM device_events ORDER BY id").fetchall()
    finally:
        copy.close()
    # A snapshot: every event up to some point, none missing in between, none from the future.
    assert before <= len(rows) <= writer.committed
    assert [r[0] for r in rows] == [f"ev-{i:08d}" for i in range(len(rows))]


def test_backup_replaces_an_old_backup_and_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "odart.db"
    Store(database).close()
    config = _settings(tmp_path, database)
    target = tmp_path / "nightly.db"
    target.write_text("last night's")
    target.chmod(0o644)
    assert main(["backup", "--config", str(config), "--to", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone() == ("ok",)

    elsewhere = _settings(tmp_path, tmp_path / "none.db")
    assert main(["backup", "--config", str(elsewhere), "--to", str(target)]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()  # a backup never creates a database
    assert main(["backup", "--config", str(config), "--to", str(database)]) == 2
    assert "the database itself" in capsys.readouterr().err
    assert main(["backup", "--config", str(config), "--to", str(tmp_path / "no" / "x.db")]) == 2
    assert "no folder" in capsys.readouterr().err


def test_backup_upgrade_from_an_older_schema_leaves_a_backup_at_the_old_version(
    tmp_path: Path,
) -> None:
    database = tmp_path / "odart.db"
    old = sqlite_utils.Database(sqlite3.connect(database))
    old.execute("PRAGMA journal_mode=WAL")
    migrate(old, MIGRATIONS[:OLD])
    with old.conn:
        old.execute(
            "INSERT INTO device_events (id, site_id, edge_id, device_id, state, battery_pct,"
            " rssi_dbm, created_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _event(1),
        )
    old.close()
    config = _settings(tmp_path, database)

    # The upgrade: the first command of the new release opens (and migrates) the database.
    result = _odart("audit", "verify", "--config", str(config))
    assert result.returncode == 0, result.stderr
    backups = sorted(tmp_path.glob(f"odart.db.*.before-{MIGRATIONS[OLD][0]}.bak"))
    assert len(backups) == 1, sorted(p.name for p in tmp_path.iterdir())
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    copy = sqlite3.connect(f"{backups[0].as_uri()}?mode=ro", uri=True)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [r[0] for r in copy.execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == [name for name, _ in MIGRATIONS[:OLD]]
        assert copy.execute("SELECT id FROM device_events").fetchall() == [("ev-00000001",)]
    finally:
        copy.close()
    upgraded = sqlite3.connect(database)
    try:
        count = upgraded.execute("SELECT count(*) FROM _migrations").fetchone()[0]
    finally:
        upgraded.close()
    assert count == len(MIGRATIONS)

    # Nothing pending: no second backup.
    assert main(["audit", "verify", "--config", str(config)]) == 0
    assert len(list(tmp_path.glob("odart.db.*.bak"))) == 1


def test_backup_a_new_database_needs_no_backup(tmp_path: Path) -> None:
    Store(tmp_path / "odart.db").close()
    assert list(tmp_path.glob("*.bak")) == []


def _wait(predicate: object, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_backup_as_root_of_a_database_root_does_not_own_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require("root", os.geteuid() == 0, "run the suite as root (CI does)")
    database = tmp_path / "odart.db"
    Store(database).close()
    os.chown(database, NOBODY_UID, NOBODY_UID)  # the server's own user, as installed
    target = tmp_path / "copy.db"
    assert (
        main(["backup", "--config", str(_settings(tmp_path, database)), "--to", str(target)]) == 2
    )
    assert "sudo -u odart" in capsys.readouterr().err
    assert not target.exists()
    assert not Path(f"{database}-wal").exists()  # nothing root-owned left beside it


def test_backup_a_drills_table_from_before_its_migration_gains_the_alert_link_after_a_backup(
    tmp_path: Path,
) -> None:
    """Drills made their own table at start-up before migration 010: an upgraded database keeps
    its drills, gains the test alert's id, and was backed up before the change."""
    database = tmp_path / "odart.db"
    old = sqlite_utils.Database(sqlite3.connect(database))
    names = [name for name, _ in MIGRATIONS]
    migrate(old, MIGRATIONS[: names.index("010_drills")])
    with old.conn:
        old.execute(
            "CREATE TABLE drills (id TEXT PRIMARY KEY, site_id TEXT NOT NULL, edge_id TEXT NOT "
            "NULL, requested_at TEXT NOT NULL, stored_at TEXT, delivered_at TEXT, "
            "outcome TEXT NOT NULL DEFAULT 'requested')"
        )
        old.execute(
            "INSERT INTO drills (id, site_id, edge_id, requested_at, outcome) "
            "VALUES ('d-1', 'hostel-1', 'pi-1', '2026-11-01T03:00:00.000Z', 'delivered')"
        )
    old.close()

    store = Store(database)
    try:
        rows = list(store.db.query("SELECT id, outcome, alert_id FROM drills"))
    finally:
        store.close()
    assert rows == [{"id": "d-1", "outcome": "delivered", "alert_id": None}]
    [backup] = tmp_path.glob("odart.db.*.before-010_drills.bak")
    copy = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
    try:
        columns = [row[1] for row in copy.execute("PRAGMA table_info(drills)")]
    finally:
        copy.close()
    assert "alert_id" not in columns  # the backup is the database as it was
