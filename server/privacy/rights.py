"""Subject access and erasure, driven by the data inventory (shell).

Every table the inventory declares with a ``subject`` column (rows about one resident) or a
``via`` link (rows about a resident through a parent row, such as an alert's timeline) is
exported and erased; a test fails when a table naming a resident is declared without one.

Erasure keeps two things, by design (docs/privacy.md): the audit log, which is append-only and
hash-chained, keeps its rows, which name the pseudonym only (never a name or a health value),
so ``odart audit verify`` still passes; and ``erasures`` keeps the bare pseudonym so that the
edges are told ``erased`` and ingest refuses anything later sent for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import sqlite_utils

from firmware_bridge.wire import format_utc
from server.audit import AuditLog
from server.privacy.consent_texts import consent_texts
from server.privacy.inventory import TABLES, Declaration

EXPORT_FORMAT: Final = "odart-subject-access/1"

KEPT_ON_ERASURE: Final = frozenset({"audit_log"})
"""Tables erasure leaves alone: the audit chain must still verify (rows name the pseudonym)."""

_JSON_COLUMNS: Final = frozenset({"evidence", "outcome_detail", "detail", "fields"})


def subject_tables() -> tuple[Declaration, ...]:
    """Declarations whose rows are about one resident, directly or through a parent row."""
    return tuple(item for item in TABLES if item.subject or item.via)


def _where(item: Declaration) -> str:
    if item.subject:
        return f"{item.subject} = ?"
    assert item.via is not None
    column, parent, key = item.via
    subject = next(p.subject for p in TABLES if p.name == parent)
    return f"{column} IN (SELECT {key} FROM {parent} WHERE {subject} = ?)"


def _rows(db: sqlite_utils.Database, item: Declaration, participant_id: str) -> list[Any]:
    if item.name not in db.table_names():
        return []
    order = "seq" if item.name == "audit_log" else "rowid"
    query = f"SELECT * FROM {item.name} WHERE {_where(item)} ORDER BY {order}"
    rows = list(db.query(query, [participant_id]))
    for row in rows:
        for column in _JSON_COLUMNS & set(row):
            if isinstance(row[column], str) and row[column].startswith(("[", "{")):
                row[column] = json.loads(row[column])
    return rows


def export(db: sqlite_utils.Database, participant_id: str, now: datetime) -> dict[str, Any]:
    """Everything held about ``participant_id``, as one JSON-ready document.

    Includes each table's rows with what it is for (purposes, lawful basis, retention class,
    recipients), the full consent texts the resident was shown, and who viewed their data:
    audit entries about them or about any of their alerts.
    """
    tables: dict[str, Any] = {}
    for item in subject_tables():
        if item.name == "audit_log":
            continue
        tables[item.name] = {
            "holds": item.holds,
            "purposes": [p.value for p in item.purposes],
            "lawful_basis": item.basis,
            "retention_class": item.record_class.value,
            "recipients": item.recipients,
            "rows": _rows(db, item, participant_id),
        }
    shown = {row["text_version"] for row in tables["consent_records"]["rows"]} - {None}
    texts = consent_texts()
    alert_ids = [row["id"] for row in tables["alerts"]["rows"]]
    marks = ", ".join("?" for _ in alert_ids) or "NULL"
    viewed = list(
        db.query(
            "SELECT seq, at, actor, role, action, subject FROM audit_log "
            f"WHERE subject = ? OR subject IN ({marks}) ORDER BY seq",
            [participant_id, *alert_ids],
        )
    )
    return {
        "format": EXPORT_FORMAT,
        "participant_id": participant_id,
        "generated_at": format_utc(now),
        "tables": tables,
        "consent_texts": {v: texts[v].body for v in sorted(shown) if v in texts},
        "access_history": viewed,
    }


def erase(
    db: sqlite_utils.Database,
    audit: AuditLog,
    participant_id: str,
    by: str,
    now: Callable[[], datetime],
) -> dict[str, int]:
    """Remove ``participant_id`` from every table but the audit log; returns rows per table.

    The audit row is written first: if it cannot be, nothing is erased. The pseudonym is
    then kept in ``erasures`` only, with its site, so edges and ingest go on refusing it.
    """
    site = _site_of(db, participant_id)
    audit.record(by, "admin", "erase.resident", participant_id, {"site": site})
    removed: dict[str, int] = {}
    order = sorted(subject_tables(), key=lambda item: item.subject is not None)  # children first
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO erasure_permits (participant_id) VALUES (?)", [participant_id]
        )
        for item in order:
            if item.name in KEPT_ON_ERASURE or item.name not in db.table_names():
                continue
            cursor = db.execute(f"DELETE FROM {item.name} WHERE {_where(item)}", [participant_id])
            if cursor.rowcount:
                removed[item.name] = cursor.rowcount
        db.execute("DELETE FROM erasure_permits WHERE participant_id = ?", [participant_id])
        if site is not None:
            db.execute(
                "INSERT OR REPLACE INTO erasures (participant_id, site_id, erased_at) "
                "VALUES (?, ?, ?)",
                [participant_id, site, format_utc(now())],
            )
    audit.record(by, "admin", "erase.done", participant_id, {"rows": removed})
    return removed


def _site_of(db: sqlite_utils.Database, participant_id: str) -> str | None:
    for table in ("residents", "enrolments", "alerts"):
        row = db.execute(
            f"SELECT site_id FROM {table} WHERE participant_id = ? LIMIT 1", [participant_id]
        ).fetchone()
        if row is not None:
            return str(row[0])
    return None
