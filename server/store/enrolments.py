"""Wearable enrolments: which device a resident's pseudonym wears, and their consent (shell).

An enrolment pairs a device with a participant pseudonym (and the room they live in) until it is
ended; a device has at most one live enrolment. An enrolment that names its edge, its model and
(for all but ``virtual``) its address is one the edge runs from the server's device list
(:mod:`server.device_lists`); without them it pairs a device the edge's own TOML lists.

``consent`` starts ``pending``: monitoring and the board treat anything but ``active`` as "not
consented". It mirrors the resident's consent records (:class:`server.store.consents.Consents`
keeps it current; the vocabulary matches ``edge.consent.ConsentState``); the records, not this
column, are what is enforced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import sqlite_utils

from firmware_bridge.errors import WireError
from firmware_bridge.wire import ID_PATTERN, DeviceEntry, DeviceModel, format_utc
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
        self,
        device_id: str,
        site_id: str,
        room_id: str | None,
        participant_id: str,
        by: str,
        *,
        edge_id: str | None = None,
        model: str | None = None,
        address: str | None = None,
    ) -> int:
        """Pair ``device_id`` with ``participant_id``; returns the enrolment id.

        With ``edge_id`` and ``model`` (and ``address`` where the model needs one) the device
        goes on that edge's device list.

        Raises:
            EnrolmentError: a malformed id, model or address, or the device is already enrolled.
        """
        for name, value in (
            ("device", device_id),
            ("site", site_id),
            ("pseudonym", participant_id),
        ):
            if not ID_PATTERN.fullmatch(value):
                raise EnrolmentError(f"{name} must be 1-64 characters of a-z, 0-9, _ and -")
        if room_id is not None and not ID_PATTERN.fullmatch(room_id):
            raise EnrolmentError("room must be 1-64 characters of a-z, 0-9, _ and -")
        if model is not None or edge_id is not None or address is not None:
            _check_device(device_id, participant_id, room_id, edge_id, model, address)
        try:
            with self._db.conn:
                cursor = self._db.execute(
                    "INSERT INTO enrolments (device_id, site_id, room_id, participant_id, "
                    "enrolled_at, enrolled_by, edge_id, model, address) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        device_id,
                        site_id,
                        room_id,
                        participant_id,
                        format_utc(self._now()),
                        by,
                        edge_id,
                        model,
                        address,
                    ],
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

    def forget_health(self, site_id: str, device_id: str) -> None:
        """Drop a device's last health report: its edge no longer runs it, so the board drops it."""
        with self._db.conn:
            query = "DELETE FROM device_health WHERE site_id = ? AND device_id = ?"
            self._db.execute(query, [site_id, device_id])

    def live(self) -> list[dict[str, Any]]:
        """Live enrolments, by site and device."""
        query = "SELECT * FROM enrolments WHERE ended_at IS NULL ORDER BY site_id, device_id"
        return list(self._db.query(query))

    def get(self, enrolment_id: int) -> dict[str, Any] | None:
        """One enrolment, live or ended."""
        rows = list(self._db.query("SELECT * FROM enrolments WHERE id = ?", [enrolment_id]))
        return rows[0] if rows else None

    def device_list(self, site_id: str, edge_id: str) -> tuple[DeviceEntry, ...]:
        """The devices ``edge_id`` runs: its live enrolments that name a model, by device id."""
        query = (
            "SELECT device_id, model, participant_id, room_id, address FROM enrolments "
            "WHERE site_id = ? AND edge_id = ? AND model IS NOT NULL AND ended_at IS NULL "
            "ORDER BY device_id"
        )
        return tuple(
            DeviceEntry(
                row["device_id"],
                DeviceModel(row["model"]),
                row["participant_id"],
                row["room_id"],
                row["address"],
            )
            for row in self._db.query(query, [site_id, edge_id])
        )

    def version(self) -> tuple[object, ...]:
        """Changes whenever a device list may have: another process's commit (``PRAGMA
        data_version``), or an enrolment added, ended, erased or purged here. One aggregate
        over the table, so the lists' periodic check costs this instead of a query per edge."""
        (data_version,) = self._db.execute("PRAGMA data_version").fetchone()
        summary = self._db.execute(
            "SELECT COUNT(*), MAX(id), COUNT(ended_at), COUNT(participant_id), COUNT(model) "
            "FROM enrolments"
        ).fetchone()
        return (data_version, *summary)

    def listed_edges(self, site_id: str | None = None) -> list[tuple[str, str]]:
        """(site, edge) of every edge that has or had a device on its list.

        An edge whose last device was un-enrolled still gets its (empty) list; an edge the
        panel never named keeps running the devices of its own TOML.
        """
        query = "SELECT DISTINCT site_id, edge_id FROM enrolments WHERE model IS NOT NULL"
        params: list[str] = []
        if site_id is not None:
            query += " AND site_id = ?"
            params.append(site_id)
        rows = self._db.query(query + " ORDER BY site_id, edge_id", params)
        return [(row["site_id"], row["edge_id"]) for row in rows]

    def devices(self) -> list[dict[str, Any]]:
        """Every device the server has heard from (its last health report)."""
        return list(self._db.query("SELECT * FROM device_health ORDER BY site_id, device_id"))


def _check_device(
    device_id: str,
    participant_id: str,
    room_id: str | None,
    edge_id: str | None,
    model: str | None,
    address: str | None,
) -> None:
    """Refuse connection details the edge could not use (the wire's own checks)."""
    if edge_id is None or not ID_PATTERN.fullmatch(edge_id):
        raise EnrolmentError("a device the edge runs needs its edge: 1-64 characters of a-z, 0-9")
    if model is None or model not in DeviceModel._value2member_map_:
        known = ", ".join(m.value for m in DeviceModel)
        raise EnrolmentError(f"model must be one of {known}")
    try:
        DeviceEntry(device_id, DeviceModel(model), participant_id, room_id, address)
    except WireError as error:
        raise EnrolmentError(f"{error.field}: {error.reason}") from None
