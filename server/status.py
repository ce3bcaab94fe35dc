"""The server's own health: are ingest, the database and the sender working, and why not (shell).

:class:`StoreCondition` follows the database's ability to write. A write refused with
"database or disk is full" makes the server ``degraded``: ingest stops acking (the edges keep
their alerts), staff are told once through their channels (best effort: nothing can be stored),
and a small probe write once a second notices when space is back. :func:`report` gathers every
component for ``/api/health`` (503 unless all are ok) and ``/api/health/details``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlite_utils

from firmware_bridge.wire import format_utc
from server.supervisor import LoopState, LoopStatus

_LOGGER = logging.getLogger(__name__)

PROBE_BYTES: Final = 16 * 1024
"""The probe writes (and removes) this much: a few pages, about what storing one alert needs."""


def is_disk_full(error: BaseException) -> bool:
    """Whether SQLite refused a write because the disk (or the database's limit) is full."""
    return isinstance(error, sqlite3.Error) and (
        getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    )


@dataclass(frozen=True, slots=True)
class Condition:
    """One component: ``ok`` or not, and a short reason a person can act on."""

    ok: bool
    reason: str = ""


class StoreCondition:
    """Whether the database can write; raised by failed writes, cleared by a probe.

    Args:
        db: the server database.
        on_full: called once when the disk fills (the staff notice).
        now: the wall clock.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        on_full: Callable[[str], None] = lambda _reason: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._on_full = on_full
        self._now = now
        self.fault = ""
        """Why writes are refused ("" when they are not)."""
        self.full_since: datetime | None = None

    def failed(self, error: sqlite3.Error) -> None:
        """A write was refused (ingest could not store a message)."""
        first = not self.fault
        if is_disk_full(error):
            self.fault = "disk full: new alerts are refused (edges keep them) until space is freed"
        else:
            self.fault = f"database error: {error}"
        if first:
            self.full_since = self._now()
            _LOGGER.error("database writes refused: %s", self.fault)
            self._on_full(self.fault)

    def probe(self) -> bool:
        """While writes are refused, try a small write; True (and cleared) once one succeeds."""
        if not self.fault:
            return True
        try:
            with self._db.conn:
                self._db.execute(
                    "INSERT OR REPLACE INTO write_probe (id, at, pad) VALUES (1, ?, zeroblob(?))",
                    [format_utc(self._now()), PROBE_BYTES],
                )
                self._db.execute("DELETE FROM write_probe")
        except sqlite3.Error as error:
            _LOGGER.debug("write probe still refused: %s", error)
            return False
        _LOGGER.warning("database writes work again (refused since %s)", self.full_since)
        self.fault, self.full_since = "", None
        return True

    def condition(self) -> Condition:
        """The database's condition: can it be read, and can it write."""
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as error:
            return Condition(False, f"database unreadable: {error}")
        return Condition(not self.fault, self.fault)


def loop_condition(status: LoopStatus | None, up: bool, down_reason: str) -> Condition:
    """A supervised loop's condition: running and ``up``, or why not."""
    if status is None:
        return Condition(False, "not started")
    if status.state is LoopState.STOPPED:
        return Condition(False, f"stopped: {status.reason}")
    if status.state is LoopState.RESTARTING:
        return Condition(False, f"restarting after: {status.reason}")
    if status.state is LoopState.FAILING:
        return Condition(False, f"failing: {status.reason}")
    return Condition(True) if up else Condition(False, down_reason)


def report(conditions: dict[str, Condition]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body for the health endpoints: 503 unless every component is ok."""
    reasons = [f"{name}: {c.reason}" for name, c in conditions.items() if not c.ok]
    body = {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "components": {name: {"ok": c.ok, "reason": c.reason} for name, c in conditions.items()},
    }
    return (503 if reasons else 200), body
