"""Retention: how long each record class is kept, and the purge job that enforces it (shell).

The defaults below are placeholders with their reasons; the controller's retention schedule
(Records Management Code of Practice for Health and Social Care, Scotland, Annex B) decides
the real values, set in the server config under ``[retention_days]``. The server refuses to
start when any record class in the inventory lacks a period. Every purge writes a destruction
record (class, rows, cut-off) into the audit chain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import sqlite_utils

from firmware_bridge.wire import format_utc
from server.audit import AuditLog
from server.privacy.inventory import RecordClass

_LOGGER = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS: Final[Mapping[str, float]] = {
    # Incident records: six years is common for adult care records; the schedule decides.
    RecordClass.ALERT_RECORD.value: 6 * 365,
    # Device health only matters while devices are in use: a month covers fault patterns.
    RecordClass.DEVICE_HEALTH.value: 30,
    # Delivery attempts prove responders were paged: keep as long as a year of reviews needs.
    RecordClass.DELIVERY_LOG.value: 365,
    # Consent records must outlive the processing they permit, to show it was lawful.
    RecordClass.CONSENT_RECORD.value: 6 * 365,
    # Enrolments are kept with the consent that allowed them.
    RecordClass.ENROLMENT.value: 6 * 365,
    # Staff accounts: for the audit trail to stay meaningful after someone leaves.
    RecordClass.STAFF_ACCOUNT.value: 6 * 365,
    # Sessions: a day past their last use; nobody needs them after they expire.
    RecordClass.SESSION.value: 1,
    # Used action links: long enough to refuse any replay of a link (they expire in an hour).
    RecordClass.SECURITY_TOKEN.value: 7,
    # The audit trail shows compliance for as long as the records it covers exist.
    RecordClass.AUDIT_LOG.value: 6 * 365,
    # Drill timings: a year of trend data.
    RecordClass.DRILL_RECORD.value: 365,
    # Not personal data: kept while the system needs it.
    RecordClass.SYSTEM.value: 100 * 365,
}

PURGE_EVERY_S: Final = 3600.0
"""The purge job runs hourly; periods are days, so an hour's lateness is immaterial."""


@dataclass(frozen=True, slots=True)
class PurgeRule:
    """Rows of ``table`` whose ``column`` is older than the cut-off (and match ``where``)."""

    record_class: RecordClass
    table: str
    column: str
    where: str = "1"
    cascade: tuple[tuple[str, str], ...] = ()
    """(table, key column) rows that go with each purged row's ``id``."""


PURGE_RULES: Final[tuple[PurgeRule, ...]] = (
    # Only closed alerts age out; an open alert is never purged.
    PurgeRule(
        RecordClass.ALERT_RECORD,
        "alerts",
        "closed_at",
        "closed_at IS NOT NULL",
        (
            ("alert_timeline", "alert_id"),
            ("deliveries", "alert_id"),
            ("pushes", "alert_id"),
            ("used_tokens", "alert_id"),
            ("disclosures", "alert_id"),
            ("referrals", "alert_id"),
        ),
    ),
    PurgeRule(RecordClass.DELIVERY_LOG, "deliveries", "at"),
    # A pending push is still owed to someone: only sent or failed ones age out.
    PurgeRule(RecordClass.DELIVERY_LOG, "pushes", "queued_at", "state != 'pending'"),
    PurgeRule(RecordClass.DEVICE_HEALTH, "device_events", "stored_at"),
    PurgeRule(RecordClass.SESSION, "sessions", "seen_at"),
    PurgeRule(RecordClass.SECURITY_TOKEN, "used_tokens", "used_at"),
    PurgeRule(RecordClass.DRILL_RECORD, "drills", "requested_at"),
    PurgeRule(RecordClass.ENROLMENT, "enrolments", "ended_at", "ended_at IS NOT NULL"),
)
"""The audit log is not purged row by row (it is append-only); see docs/privacy.md."""


def missing_periods(periods: Mapping[str, float], needed: frozenset[RecordClass]) -> list[str]:
    """Record classes in ``needed`` that have no retention period (pure)."""
    return sorted(c.value for c in needed if c.value not in periods)


class Purger:
    """Deletes what has outlived its retention period and logs each destruction."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        audit: AuditLog,
        periods_days: Mapping[str, float],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._audit = audit
        self._periods = periods_days
        self._now = now
        self._last_run: datetime | None = None

    def tick(self) -> int:
        """Run the purge if an hour has passed since the last run; returns rows deleted."""
        now = self._now()
        if self._last_run is not None and (now - self._last_run).total_seconds() < PURGE_EVERY_S:
            return 0
        self._last_run = now
        return self.purge()

    def purge(self) -> int:
        """Delete expired rows in every class now; returns how many rows went."""
        total = 0
        tables = set(self._db.table_names())
        for rule in PURGE_RULES:
            if rule.table not in tables:
                continue
            cutoff = format_utc(
                self._now() - timedelta(days=self._periods[rule.record_class.value])
            )
            condition = f"{rule.column} < ? AND ({rule.where})"
            with self._db.conn:
                for table, key in rule.cascade:
                    if table in tables:
                        self._db.execute(
                            f"DELETE FROM {table} WHERE {key} IN "
                            f"(SELECT id FROM {rule.table} WHERE {condition})",
                            [cutoff],
                        )
                count = self._db.execute(
                    f"DELETE FROM {rule.table} WHERE {condition}", [cutoff]
                ).rowcount
            if count:
                self._audit.record(
                    "system",
                    "system",
                    "retention.purge",
                    rule.record_class.value,
                    {"table": rule.table, "rows": count, "before": cutoff},
                )
                _LOGGER.info(
                    "retention: purged %d %s rows older than %s", count, rule.table, cutoff
                )
            total += count
        return total
