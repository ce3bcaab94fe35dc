"""Schema migrations for the server database, applied in order at start-up (shell).

Each migration runs once, in its own transaction, and is recorded in ``_migrations``. Never edit a
migration that has shipped; add a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

import sqlite_utils

from server.store.backup import backup_beside


def _m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,            -- edge-minted ULID: de-duplicates redeliveries
            site_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            device_id TEXT,
            participant_id TEXT,            -- pseudonymous id only
            room_id TEXT,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            state TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            onset_at TEXT NOT NULL,
            published_at TEXT,
            stored_at TEXT NOT NULL,
            evidence TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE alert_timeline (
            id INTEGER PRIMARY KEY,
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            at TEXT NOT NULL,
            event TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX alert_timeline_alert ON alert_timeline(alert_id);
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            responder_id TEXT NOT NULL,
            channel TEXT NOT NULL,          -- the apprise scheme, never the URL (it holds secrets)
            outcome TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX deliveries_alert ON deliveries(alert_id);
        CREATE TABLE device_events (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            device_id TEXT,
            state TEXT NOT NULL,
            battery_pct REAL,
            rssi_dbm REAL,
            created_at TEXT NOT NULL,
            stored_at TEXT NOT NULL
        );
        CREATE TABLE edges (
            site_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            state TEXT NOT NULL,
            conn TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (site_id, edge_id)
        );
        """
    )


def _m002_lifecycle(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        ALTER TABLE alerts ADD COLUMN level INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE alerts ADD COLUMN cycle INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE alerts ADD COLUMN deadline TEXT;         -- the one pending timer, UTC
        ALTER TABLE alerts ADD COLUMN timer TEXT;
        ALTER TABLE alerts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;  -- compare-and-set
        ALTER TABLE alerts ADD COLUMN checkin_s REAL;
        ALTER TABLE alerts ADD COLUMN assignee TEXT;         -- responder id who claimed it
        ALTER TABLE alerts ADD COLUMN outcome TEXT;
        ALTER TABLE alerts ADD COLUMN outcome_detail TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE alerts ADD COLUMN closed_at TEXT;
        ALTER TABLE alerts ADD COLUMN origin TEXT NOT NULL DEFAULT 'edge';  -- edge | server | test
        CREATE INDEX alerts_deadline ON alerts(deadline) WHERE deadline IS NOT NULL;
        CREATE TABLE used_tokens (
            nonce TEXT PRIMARY KEY,    -- an action link works once
            alert_id TEXT NOT NULL,
            used_at TEXT NOT NULL
        );
        CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        ALTER TABLE edges ADD COLUMN offline_since TEXT;
        CREATE TABLE device_health (
            device_id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            state TEXT NOT NULL,
            battery_pct REAL,
            battery_low INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        """
    )


def _m003_accounts(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,  -- same shape as wire ids: a-z0-9_- (no CR/LF)
            role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'responder')),
            password_hash TEXT NOT NULL,    -- Argon2id string, never the password
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,    -- SHA-256 of the cookie value, never the value
            user_id INTEGER NOT NULL REFERENCES users(id),
            csrf TEXT NOT NULL,             -- synchronizer token for state-changing requests
            created_at TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        """
    )


def _m004_enrolments(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE enrolments (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,        -- the wearable
            site_id TEXT NOT NULL,
            room_id TEXT,
            participant_id TEXT NOT NULL,   -- the resident's pseudonym, never a name
            consent TEXT NOT NULL DEFAULT 'pending',  -- pending|active|paused|withdrawn|erased
            enrolled_at TEXT NOT NULL,
            enrolled_by TEXT NOT NULL,
            ended_at TEXT,
            ended_by TEXT
        );
        CREATE UNIQUE INDEX enrolments_live_device ON enrolments(device_id) WHERE ended_at IS NULL;
        CREATE INDEX enrolments_participant ON enrolments(participant_id);
        """
    )


def _m005_consent(db: sqlite_utils.Database) -> None:
    # Consent records and identity versions are never edited: triggers refuse it. The only
    # deletion allowed is erasure (docs/privacy.md), which first names the pseudonym in
    # erasure_permits inside the same transaction, and removes it again before committing.
    db.executescript(
        """
        CREATE TABLE residents (
            participant_id TEXT PRIMARY KEY,    -- the pseudonym; names live in resident_identity
            site_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE resident_identity (
            id INTEGER PRIMARY KEY,
            participant_id TEXT NOT NULL REFERENCES residents(participant_id),
            version INTEGER NOT NULL,
            name TEXT NOT NULL,
            date_of_birth TEXT,
            notes TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL,
            recorded_by TEXT NOT NULL,
            voided_at TEXT,                     -- rectification voids, never overwrites
            voided_by TEXT,
            void_reason TEXT,
            UNIQUE (participant_id, version)
        );
        CREATE TABLE consent_records (
            id INTEGER PRIMARY KEY,
            participant_id TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('give', 'decline', 'withdraw')),
            purposes TEXT NOT NULL,             -- comma-separated purposes this record is about
            method TEXT NOT NULL,
            witness TEXT NOT NULL,
            text_version TEXT,
            text_sha256 TEXT,
            capacity_confirmed INTEGER NOT NULL DEFAULT 0,
            review_due TEXT,
            recorded_at TEXT NOT NULL,
            recorded_by TEXT NOT NULL
        );
        CREATE INDEX consent_records_participant ON consent_records(participant_id, id);
        CREATE TABLE erasure_permits (participant_id TEXT PRIMARY KEY);
        CREATE TABLE erasures (
            participant_id TEXT PRIMARY KEY,    -- kept so the edge and ingest keep refusing
            site_id TEXT NOT NULL,
            erased_at TEXT NOT NULL
        );
        CREATE TABLE disclosures (
            id INTEGER PRIMARY KEY,
            alert_id TEXT NOT NULL,
            participant_id TEXT,
            recipient TEXT NOT NULL,
            reason TEXT NOT NULL,
            basis TEXT NOT NULL,
            fields TEXT NOT NULL,               -- the keys released, never the values
            released_at TEXT NOT NULL,
            released_by TEXT NOT NULL
        );
        CREATE TABLE referrals (
            id TEXT PRIMARY KEY,                -- a random UUID, the ServiceRequest id
            alert_id TEXT NOT NULL,
            participant_id TEXT NOT NULL,
            service TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
        BEGIN SELECT RAISE(ABORT, 'consent records are never edited; add a new one'); END;
        CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
        WHEN NOT EXISTS (SELECT 1 FROM erasure_permits WHERE participant_id = OLD.participant_id)
        BEGIN SELECT RAISE(ABORT, 'consent records are kept; only erasure removes them'); END;
        CREATE TRIGGER resident_identity_no_edit BEFORE UPDATE ON resident_identity
        WHEN OLD.voided_at IS NOT NULL OR NEW.name IS NOT OLD.name
            OR NEW.date_of_birth IS NOT OLD.date_of_birth OR NEW.notes IS NOT OLD.notes
            OR NEW.participant_id IS NOT OLD.participant_id OR NEW.version IS NOT OLD.version
        BEGIN SELECT RAISE(ABORT, 'identity is rectified by a new version, never edited'); END;
        CREATE TRIGGER resident_identity_no_delete BEFORE DELETE ON resident_identity
        WHEN NOT EXISTS (SELECT 1 FROM erasure_permits WHERE participant_id = OLD.participant_id)
        BEGIN SELECT RAISE(ABORT, 'identity versions are kept; only erasure removes them'); END;
        """
    )


def _m007_enrolment_devices(db: sqlite_utils.Database) -> None:
    # What the edge needs to run an enrolled device: which edge, the model, and its address.
    # Enrolments from before this have none; they pair a device the edge's TOML lists.
    db.executescript(
        """
        ALTER TABLE enrolments ADD COLUMN edge_id TEXT;
        ALTER TABLE enrolments ADD COLUMN model TEXT;     -- firmware_bridge.wire.DeviceModel
        ALTER TABLE enrolments ADD COLUMN address TEXT;   -- MAC, serial port, pin or z2m name
        """
    )


def _m008_mfa(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        ALTER TABLE users ADD COLUMN totp_secret TEXT;      -- base32 TOTP secret once confirmed
        ALTER TABLE users ADD COLUMN totp_pending TEXT;     -- offered, not yet confirmed
        ALTER TABLE users ADD COLUMN totp_last_step INTEGER; -- last accepted 30 s step (no replay)
        """
    )


def _m009_send_queue(db: sqlite_utils.Database) -> None:
    # A push is queued in the transaction that causes it; the sender drains the queue. A
    # crash between the commit and the send leaves the row pending, and it is sent again.
    db.executescript(
        """
        CREATE TABLE pushes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- send order
            key TEXT NOT NULL UNIQUE,       -- stable per (alert, what, level, cycle, responder)
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            responder_id TEXT NOT NULL,     -- a configured responder, staff:<site> or drill:<site>
            purpose TEXT NOT NULL,          -- page | claim | notice | drill
            level INTEGER NOT NULL,
            cycle INTEGER NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            actions TEXT NOT NULL DEFAULT '[]',
            click_url TEXT,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TEXT NOT NULL,
            done_at TEXT,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX pushes_pending ON pushes(seq) WHERE state = 'pending';
        CREATE INDEX pushes_alert ON pushes(alert_id, level, cycle);
        CREATE TABLE write_probe (id INTEGER PRIMARY KEY, at TEXT, pad BLOB);  -- disk-full probe
        """
    )


def _m010_drills(db: sqlite_utils.Database) -> None:
    # The drills table was made by ``server.drills`` at start-up (IF NOT EXISTS), and the
    # test alert's id added there by an ALTER with no backup before it. It is a migration now.
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS drills (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            stored_at TEXT,
            delivered_at TEXT,
            outcome TEXT NOT NULL DEFAULT 'requested',  -- requested | delivered | failed
            alert_id TEXT                               -- the test alert that answered it
        );
        """
    )
    if "alert_id" not in db["drills"].columns_dict:
        db.execute("ALTER TABLE drills ADD COLUMN alert_id TEXT")


def _m011_alerts_by_resident(db: sqlite_utils.Database) -> None:
    """One resident's alerts of a kind, by time: the resident page and list read how long their
    sensors could not see breathing (``AlertRows.signal_alerts``), per resident."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS alerts_resident ON alerts(participant_id, kind, detected_at)"
    )


MIGRATIONS: Final[list[tuple[str, Callable[[sqlite_utils.Database], None]]]] = [
    ("001_initial", _m001_initial),
    ("002_lifecycle", _m002_lifecycle),
    ("003_accounts", _m003_accounts),
    ("004_enrolments", _m004_enrolments),
    ("005_consent", _m005_consent),
    ("007_enrolment_devices", _m007_enrolment_devices),
    ("008_mfa", _m008_mfa),
    ("009_send_queue", _m009_send_queue),
    ("010_drills", _m010_drills),
    ("011_alerts_by_resident", _m011_alerts_by_resident),
]


Step = tuple[str, Callable[[sqlite_utils.Database], None]]


def migrate(db: sqlite_utils.Database, steps: Sequence[Step] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet applied; returns the names applied now.

    Before the first pending migration of a database that already has a schema, the database
    is backed up beside itself (``server.store.backup.backup_beside``): an upgrade that goes
    wrong can be undone by putting that file back.
    """
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row["name"] for row in db.query("SELECT name FROM _migrations")}
    pending = [name for name, _ in steps if name not in done]
    if pending and done:
        backup_beside(db.conn, f"before-{pending[0]}", now=datetime.now(UTC))
    applied = []
    for name, step in steps:
        if name in done:
            continue
        with db.conn:
            step(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat()],
            )
        applied.append(name)
    return applied
