"""Consent records in the server database: append, read back, and the per-site snapshot (shell).

Rows are only ever inserted (triggers refuse UPDATE and DELETE outside erasure). The state of
each purpose and what the edge is told are computed from the rows by
:mod:`server.privacy.consent`; the ``enrolments.consent`` column is a mirror of the latter, kept
for the board.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlite_utils

from firmware_bridge.wire import format_utc, parse_utc
from server.errors import StoreError
from server.privacy.consent import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    ConsentRefused,
    EdgeConsent,
    check_against,
    edge_consent,
    permits,
    snapshot,
)
from server.privacy.consent_texts import consent_texts
from server.privacy.inventory import Purpose


class Verdict(StrEnum):
    """What ingest does with a message about a resident."""

    CONSENTED = "consented"
    REFUSED = "refused"
    """Known to the server without active monitoring consent: withdrawn, paused or erased."""
    UNENROLLED = "unenrolled"
    """A pseudonym the server has no record of (the edge was set up without the panel)."""


class Consents:
    """Consent records and the states they add up to."""

    def __init__(self, db: sqlite_utils.Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    def today(self) -> date:
        """The date review dates are compared with (UTC)."""
        return self._now().date()

    def add(self, record: ConsentRecord) -> ConsentRecord:
        """Append ``record`` after checking it against the texts and the resident's history.

        Returns:
            The stored record, with its id.

        Raises:
            ConsentRefused: an unknown text or hash, an erased resident, or monitoring missing.
        """
        if record.text_version is not None:
            text = consent_texts().get(record.text_version)
            if text is None:
                raise ConsentRefused("text_version", f"no consent text {record.text_version!r}")
            if record.text_sha256 != text.sha256:
                raise ConsentRefused("text_sha256", "does not match the text of that version")
        if self.erased(record.participant_id):
            raise ConsentRefused("participant", "this resident was erased")
        check_against(record, self.history(record.participant_id))
        row = {
            "participant_id": record.participant_id,
            "action": record.action.value,
            "purposes": ",".join(p.value for p in record.purposes),
            "method": record.method.value,
            "witness": record.witness,
            "text_version": record.text_version,
            "text_sha256": record.text_sha256,
            "capacity_confirmed": int(record.capacity_confirmed),
            "review_due": None if record.review_due is None else record.review_due.isoformat(),
            "recorded_at": format_utc(record.recorded_at),
            "recorded_by": record.recorded_by,
        }
        try:
            with self._db.conn:
                self._db.execute(
                    f"INSERT INTO consent_records ({', '.join(row)}) "
                    f"VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
                self._mirror(record.participant_id)
        except sqlite3.Error as error:
            message = f"could not store the consent record: {error}"
            raise StoreError(message) from error
        return self.history(record.participant_id)[-1]

    def history(self, participant_id: str) -> list[ConsentRecord]:
        """Every record about ``participant_id``, oldest first."""
        query = "SELECT * FROM consent_records WHERE participant_id = ? ORDER BY id"
        return [_record(row) for row in self._db.query(query, [participant_id])]

    def rows(self, participant_id: str) -> list[dict[str, Any]]:
        """The stored rows, oldest first (for export and the panel)."""
        query = "SELECT * FROM consent_records WHERE participant_id = ? ORDER BY id"
        return list(self._db.query(query, [participant_id]))

    def permits(self, participant_id: str, purpose: Purpose) -> bool:
        """Whether ``purpose`` may be used for ``participant_id`` now (the point-of-use check)."""
        if self.erased(participant_id):
            return False
        return permits(self.history(participant_id), purpose, self.today())

    def edge_state(self, participant_id: str) -> EdgeConsent:
        """What the edge is told about ``participant_id``."""
        return edge_consent(
            self.history(participant_id), erased=self.erased(participant_id), today=self.today()
        )

    def verdict(self, participant_id: str) -> Verdict:
        """Whether ingest may store a message about ``participant_id``."""
        if self.edge_state(participant_id) is EdgeConsent.ACTIVE:
            return Verdict.CONSENTED
        known = self._db.execute(
            "SELECT 1 FROM residents WHERE participant_id = ? UNION ALL "
            "SELECT 1 FROM consent_records WHERE participant_id = ? UNION ALL "
            "SELECT 1 FROM erasures WHERE participant_id = ? LIMIT 1",
            [participant_id, participant_id, participant_id],
        ).fetchone()
        return Verdict.REFUSED if known else Verdict.UNENROLLED

    def erased(self, participant_id: str) -> bool:
        """Whether ``participant_id`` was erased."""
        row = self._db.execute(
            "SELECT 1 FROM erasures WHERE participant_id = ?", [participant_id]
        ).fetchone()
        return row is not None

    def snapshot_size(self, site_id: str) -> int:
        """How many entries the site's snapshot has: its residents and its erasures."""
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM (SELECT participant_id FROM residents WHERE site_id = ? "
            "UNION SELECT participant_id FROM erasures WHERE site_id = ?)",
            [site_id, site_id],
        ).fetchone()
        return int(count)

    def site_snapshot(self, site_id: str) -> dict[str, str]:
        """The ``consent`` args for the edges of ``site_id``: every resident and erasure there."""
        histories: dict[str, list[ConsentRecord]] = {
            row["participant_id"]: []
            for row in self._db.query(
                "SELECT participant_id FROM residents WHERE site_id = ? ORDER BY participant_id",
                [site_id],
            )
        }
        # One query for the whole site, not one per resident: 5,000 residents in a few ms.
        for row in self._db.query(
            "SELECT c.* FROM consent_records c JOIN residents r "
            "ON r.participant_id = c.participant_id WHERE r.site_id = ? ORDER BY c.id",
            [site_id],
        ):
            histories[row["participant_id"]].append(_record(row))
        erased = [
            row["participant_id"]
            for row in self._db.query(
                "SELECT participant_id FROM erasures WHERE site_id = ?", [site_id]
            )
        ]
        return snapshot(histories, erased, self.today())

    def version(self) -> tuple[object, ...]:
        """Changes whenever a snapshot may have: the date (reviews), another process's commit
        (``PRAGMA data_version``), or a consent record, resident or erasure added or removed.
        A handful of indexed lookups, so it can run every few seconds on the event loop."""
        (data_version,) = self._db.execute("PRAGMA data_version").fetchone()
        counts = self._db.execute(
            "SELECT (SELECT MAX(id) FROM consent_records), (SELECT COUNT(*) FROM residents), "
            "(SELECT COUNT(*) FROM erasures)"
        ).fetchone()
        return (self.today(), data_version, *counts)

    def sites(self) -> list[str]:
        """Sites with residents or erasures: the ones that need snapshots."""
        query = "SELECT site_id FROM residents UNION SELECT site_id FROM erasures ORDER BY 1"
        return [row["site_id"] for row in self._db.query(query)]

    def edges_of(self, site_id: str) -> list[str]:
        """The edges of ``site_id`` the server knows (from their status or device reports)."""
        query = (
            "SELECT edge_id FROM edges WHERE site_id = ? "
            "UNION SELECT edge_id FROM device_health WHERE site_id = ? ORDER BY 1"
        )
        return [row["edge_id"] for row in self._db.query(query, [site_id, site_id])]

    def sync_site(self, site_id: str) -> None:
        """Bring the board's mirror up to date for every resident of ``site_id`` (review dates)."""
        query = "SELECT participant_id FROM residents WHERE site_id = ?"
        with self._db.conn:
            for row in list(self._db.query(query, [site_id])):
                self._mirror(row["participant_id"])

    def _mirror(self, participant_id: str) -> None:
        history = self.history(participant_id)
        state = "pending" if not history else self.edge_state(participant_id).value
        self._db.execute(
            "UPDATE enrolments SET consent = ? WHERE participant_id = ? AND ended_at IS NULL "
            "AND consent IS NOT ?",
            [state, participant_id, state],
        )


def _record(row: dict[str, Any]) -> ConsentRecord:
    return ConsentRecord(
        participant_id=row["participant_id"],
        action=ConsentAction(row["action"]),
        purposes=tuple(Purpose(p) for p in row["purposes"].split(",")),
        method=ConsentMethod(row["method"]),
        witness=row["witness"],
        recorded_at=parse_utc(row["recorded_at"]),
        recorded_by=row["recorded_by"],
        text_version=row["text_version"],
        text_sha256=row["text_sha256"],
        capacity_confirmed=bool(row["capacity_confirmed"]),
        review_due=None if row["review_due"] is None else date.fromisoformat(row["review_due"]),
        record_id=row["id"],
    )
