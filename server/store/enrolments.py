"""Wearable enrolments: which device a resident's pseudonym wears, and their consent (shell).

An enrolment pairs a device with a participant pseudonym (and the room they live in) until it is
ended; a device has at most one live enrolment. ``consent`` starts ``pending``: monitoring and the
board treat anything but ``active`` as "not consented". It mirrors the resident's consent
records (:class:`server.store.consents.Consents` keeps it current; the vocabulary matches
``edge.consent.ConsentState``); the records, not this column, are what is enforced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import sqlite_utils

from firmware_bridge.wire import ID_PATTERN, format_utc
from server.errors import ServerError

CONSENT_STATES: Final = frozenset({"pending", "active", "paused", "withdrawn", "erased"})


class EnrolmentError(ServerError):
    """An enrolment was refused.

    Attributes:
        reason: why, in words for the person at the form.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"enrolment refused: {reason}")


class Enrolments:
    """Live and ended enrolments over the server database."""

    def __init__(self, db: sqlite_utils.Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    def enrol(
        self, device_id: str, site_id: str, room_id: str | None, participant_id: str, by: str
    ) -> int:
        """Pair ``device_id`` with ``participant_id``; returns the enrolment id.

        Raises:
            EnrolmentError: a malformed id, or the device is already enrolled.
        """
        for name, value in (
            ("device", device_id),
            ("site", site_id),
            ("pseudonym", participant_id),
        ):
            if not ID_PATTERN.match(value):
                raise EnrolmentError(f"{name} must be 1-64 characters of a-z, 0-9, _ and -")
        if room_id is not None and not ID_PATTERN.match(room_id):
            raise EnrolmentError("room must be 1-64 characters of a-z, 0-9, _ and -")
        try:
            with self._db.conn:
                cursor = self._db.execute(
                    "INSERT INTO enrolments (device_id, site_id, room_id, participant_id, "
                    "enrolled_at, enrolled_by) VALUES (?, ?, ?, ?, ?, ?)",
                    [device_id, site_id, room_id, participant_id, format_utc(self._now()), by],
                )
        except sqlite3.IntegrityError:
            raise EnrolmentError(f"{device_id} is already enrolled; end that first") from None
        return int(cursor.lastrowid or 0)

    def end(self, enrolment_id: int, by: str) -> bool:
        """End a live enrolment (the device can then be given to someone else)."""
        with self._db.conn:
            cursor = self._db.execute(
                "UPDATE enrolments SET ended_at = ?, ended_by = ? "
                "WHERE id = ? AND ended_at IS NULL",
                [format_utc(self._now()), by, enrolment_id],
            )
        return cursor.rowcount == 1

    def live(self) -> list[dict[str, Any]]:
        """Live enrolments, by site and device."""
        query = "SELECT * FROM enrolments WHERE ended_at IS NULL ORDER BY site_id, device_id"
        return list(self._db.query(query))

    def get(self, enrolment_id: int) -> dict[str, Any] | None:
        """One enrolment, live or ended."""
        rows = list(self._db.query("SELECT * FROM enrolments WHERE id = ?", [enrolment_id]))
        return rows[0] if rows else None

    def devices(self) -> list[dict[str, Any]]:
        """Every device the server has heard from (its last health report)."""
        return list(self._db.query("SELECT * FROM device_health ORDER BY site_id, device_id"))
