"""Residents: a pseudonym per person, and their identity kept apart in versions (shell).

A resident is their pseudonym (``residents``); a name, date of birth and notes live in
``resident_identity`` and are read only by the roles that need them, each read audited by the
caller first. Rectification adds a version and voids the old one with a reason; nothing is
overwritten (a trigger refuses it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

import sqlite_utils

from firmware_bridge.wire import ID_PATTERN, format_utc
from server.errors import ServerError
from server.privacy.consent import Refused

NAME_MAX_CHARS: Final = 200
"""Long enough for any real name; a bound keeps the table and the audit detail small."""
NOTES_MAX_CHARS: Final = 2000
"""Notes are a few lines for staff (how to reach them, who to call); not a case file."""


class ResidentError(Refused, ServerError):
    """A change to a resident (pseudonym or identity) was refused (``field``, ``reason``)."""


class Residents:
    """Pseudonymous residents and their versioned identity."""

    def __init__(self, db: sqlite_utils.Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    def ensure(self, participant_id: str, site_id: str, by: str) -> bool:
        """Make sure ``participant_id`` is a resident of ``site_id``; True if new.

        Raises:
            ResidentError: a malformed pseudonym, an erased one, or one of another site.
        """
        if not ID_PATTERN.fullmatch(participant_id):
            raise ResidentError("participant", "must be 1-64 characters of a-z, 0-9, _ and -")
        if self._db.execute(
            "SELECT 1 FROM erasures WHERE participant_id = ?", [participant_id]
        ).fetchone():
            raise ResidentError("participant", "this pseudonym was erased; mint a new one")
        current = self.get(participant_id)
        if current is not None:
            if current["site_id"] != site_id:
                raise ResidentError("site", f"{participant_id} lives at {current['site_id']}")
            return False
        with self._db.conn:
            self._db.execute(
                "INSERT INTO residents (participant_id, site_id, created_at, created_by) "
                "VALUES (?, ?, ?, ?)",
                [participant_id, site_id, format_utc(self._now()), by],
            )
        return True

    def get(self, participant_id: str) -> dict[str, Any] | None:
        """The resident's pseudonymous row (no identity)."""
        rows = list(
            self._db.query("SELECT * FROM residents WHERE participant_id = ?", [participant_id])
        )
        return rows[0] if rows else None

    def all(self) -> list[dict[str, Any]]:
        """Every resident (pseudonyms, sites and enrolment state; no identity)."""
        query = (
            "SELECT r.participant_id, r.site_id, r.created_at, "
            "(SELECT consent FROM enrolments e WHERE e.participant_id = r.participant_id "
            " AND e.ended_at IS NULL LIMIT 1) AS consent "
            "FROM residents r ORDER BY r.site_id, r.participant_id"
        )
        return list(self._db.query(query))

    def identity(self, participant_id: str) -> dict[str, Any] | None:
        """The identity in force (the caller audits the read first)."""
        rows = list(
            self._db.query(
                "SELECT * FROM resident_identity WHERE participant_id = ? AND voided_at IS NULL",
                [participant_id],
            )
        )
        return rows[0] if rows else None

    def identity_history(self, participant_id: str) -> list[dict[str, Any]]:
        """Every identity version, oldest first, voided ones with who, when and why."""
        query = "SELECT * FROM resident_identity WHERE participant_id = ? ORDER BY version"
        return list(self._db.query(query, [participant_id]))

    def set_identity(
        self,
        participant_id: str,
        name: str,
        date_of_birth: date | None,
        notes: str,
        by: str,
        reason: str = "",
    ) -> int:
        """Record the resident's identity, or rectify it: returns the new version number.

        Rectification voids the version in force with ``reason`` (required) and adds a new one
        in the same transaction.

        Raises:
            ResidentError: unknown resident, bad field, or a correction without a reason.
        """
        name, notes, reason = name.strip(), notes.strip(), reason.strip()
        if self.get(participant_id) is None:
            raise ResidentError("participant", f"no resident {participant_id!r}")
        if not name or len(name) > NAME_MAX_CHARS:
            raise ResidentError("name", f"1-{NAME_MAX_CHARS} characters")
        if len(notes) > NOTES_MAX_CHARS:
            raise ResidentError("notes", f"at most {NOTES_MAX_CHARS} characters")
        if date_of_birth is not None and date_of_birth >= self._now().date():
            raise ResidentError("date_of_birth", "must be in the past")
        current = self.identity(participant_id)
        if current is not None and not reason:
            raise ResidentError("reason", "say why the identity is corrected")
        at = format_utc(self._now())
        version = 1 if current is None else int(current["version"]) + 1
        try:
            with self._db.conn:
                if current is not None:
                    self._db.execute(
                        "UPDATE resident_identity SET voided_at = ?, voided_by = ?, "
                        "void_reason = ? WHERE id = ?",
                        [at, by, reason, current["id"]],
                    )
                self._db.execute(
                    "INSERT INTO resident_identity (participant_id, version, name, "
                    "date_of_birth, notes, recorded_at, recorded_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        participant_id,
                        version,
                        name,
                        None if date_of_birth is None else date_of_birth.isoformat(),
                        notes,
                        at,
                        by,
                    ],
                )
        except sqlite3.IntegrityError:
            raise ResidentError("identity", "changed at the same moment; try again") from None
        return version
