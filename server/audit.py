"""The audit log: append-only, hash-chained; a read of personal data writes its row first (shell).

Use :meth:`AuditLog.record` *before* returning personal data: if the audit write fails, it
raises :class:`AuditError` and the read must fail too (fail closed). Triggers refuse UPDATE and
DELETE on the table; the hash chain (:mod:`server.domain.audit_chain`) makes any change made
around them visible to :meth:`AuditLog.verify` and ``odart audit verify``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from firmware_bridge.wire import format_utc
from server.domain.audit_chain import GENESIS, ChainCheck, chain_hash, check_chain
from server.errors import ServerError

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,     -- 1, 2, 3 ... with no gaps
    at TEXT NOT NULL,
    actor TEXT NOT NULL,         -- user id, responder id, or 'system'
    role TEXT NOT NULL,
    action TEXT NOT NULL,        -- e.g. 'read.resident', 'consent.withdraw', 'export.resident'
    subject TEXT NOT NULL,       -- what was touched: a pseudonym, an alert id, a table
    detail TEXT NOT NULL,        -- canonical JSON of small facts (never the data itself)
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class AuditError(ServerError):
    """The audit row could not be written, so the action it covers must not happen."""


class AuditLog:
    """Append and verify audit entries in the server database."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._now = now
        self._db.executescript(SCHEMA)

    def record(
        self,
        actor: str,
        role: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry and commit; returns its sequence number.

        Raises:
            AuditError: the entry could not be stored; the caller must not go on.
        """
        entry = {
            "at": format_utc(self._now()),
            "actor": actor,
            "role": role,
            "action": action,
            "subject": subject,
            "detail": detail or {},
        }
        try:
            with self._db.conn:
                row = self._db.execute(
                    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, previous = (row[0] + 1, row[1]) if row else (1, GENESIS)
                self._db.execute(
                    "INSERT INTO audit_log (seq, at, actor, role, action, subject, detail, "
                    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        seq,
                        entry["at"],
                        actor,
                        role,
                        action,
                        subject,
                        json.dumps(entry["detail"], sort_keys=True, separators=(",", ":")),
                        previous,
                        chain_hash(previous, entry),
                    ],
                )
        except sqlite3.Error as error:
            message = f"could not write the audit log: {error}"
            raise AuditError(message) from error
        return int(seq)

    def entries(self, subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Newest entries first, optionally only those about ``subject``."""
        where, params = ("WHERE subject = ?", [subject]) if subject else ("", [])
        query = f"SELECT * FROM audit_log {where} ORDER BY seq DESC LIMIT ?"
        rows = list(self._db.query(query, [*params, limit]))
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def _chain_rows(self) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
        query = (
            "SELECT seq, at, actor, role, action, subject, detail, prev_hash, hash "
            "FROM audit_log ORDER BY seq"
        )
        for row in self._db.query(query):
            entry = {key: row[key] for key in ("at", "actor", "role", "action", "subject")}
            entry["detail"] = json.loads(row["detail"])
            yield row["seq"], row["prev_hash"], row["hash"], entry

    def verify(self) -> ChainCheck:
        """Check the whole chain."""
        return check_chain(self._chain_rows())
