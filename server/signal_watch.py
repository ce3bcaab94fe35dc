"""Close each "sensor cannot see breathing" warning when the edge sees breathing again (shell).

The detector's ``no_signal`` warning is noted, never paged, and stays open (and on the board)
until a ``recovered`` alert that ends it is stored: then it is resolved by the system with the
time breathing was seen again. A ``recovered`` alert that ends an apnoea or slowed breathing
puts a line on that alert's timeline instead; a paged alert stays for a person to close. The
``recovered`` alert itself is then resolved: it is news, not a task.

The close runs after the ``recovered`` alert is committed. If the server stops in between, the
pairing is made again at start-up (:meth:`SignalWatch.reconcile`), and if the database refused
the close (a full disk), again once it writes (:meth:`SignalWatch.tick`), so no warning stays
open for a sensor that could see breathing again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from firmware_bridge.wire import AlertKind, format_utc
from server.domain.alerts import KIND_LABELS, Alert
from server.domain.lifecycle import Outcome
from server.domain.signal import answered, ends_warning, recovery_outcome
from server.escalation import Escalator
from server.store.db import Store

_LOGGER = logging.getLogger(__name__)

RECONCILE_DAYS: Final = 30
"""How far back start-up looks for a recovery that a stop may have left unpaired."""


class SignalWatch:
    """Pairs the edge's recoveries with the warnings and alerts they end."""

    def __init__(self, store: Store, escalator: Escalator, now: Callable[[], datetime]) -> None:
        self._store = store
        self._escalator = escalator
        self._now = now
        self._behind = False  # a recovery was stored but could not be applied

    def received(self, alert: Alert) -> None:
        """A newly stored alert (the escalator's admit hook); only recoveries matter.

        Never raises for a database error: the recovery is stored and acked all the same, and
        the pairing is made again by :meth:`tick` once writes work.
        """
        if alert.kind is not AlertKind.RECOVERED:
            return
        try:
            self._apply(alert)
        except sqlite3.Error as error:
            self._behind = True
            _LOGGER.warning(
                "recovery %s stored but not yet applied (%s); trying again shortly",
                alert.alert_id,
                error,
            )

    def tick(self) -> int:
        """Make the pairing again if a recovery could not be applied when it came (a job)."""
        if not self._behind:
            return 0
        closed = self.reconcile(self._now())
        self._behind = False
        return closed

    def _apply(self, alert: Alert) -> None:
        if alert.participant_id is not None:
            if ends_warning(alert):
                self._close_warnings(alert)
            else:
                self._note_on_alerts(alert, alert.participant_id)
        self._resolve(
            alert.alert_id,
            recovery_outcome(alert),
            "recovery noted; nothing to act on",
        )

    def _note_on_alerts(self, recovery: Alert, participant_id: str) -> None:
        """Say on each open alert a recovery ends that the edge no longer sees its cause."""
        cleared = recovery.evidence.get("cleared")
        if not isinstance(cleared, str) or cleared not in AlertKind._value2member_map_:
            return
        label = KIND_LABELS.get(AlertKind(cleared), cleared)
        for open_alert in self._store.open_alerts(
            cleared, site_id=recovery.site_id, participant_id=participant_id
        ):
            if open_alert.detected_at <= recovery.detected_at:
                self._store.note(
                    open_alert.alert_id,
                    recovery.stored_at,
                    "edge_recovered",
                    f"the edge no longer sees {label} (from {_clock(recovery.onset_at)} UTC)",
                )

    def reconcile(self, now: datetime) -> int:
        """Close every open warning that a stored recovery already ends, and every recovery
        still open (stored before a stop, or by an older server); returns how many."""
        closed = 0
        for warning in self._store.open_alerts(AlertKind.NO_SIGNAL.value):
            if warning.participant_id is None:
                continue
            since = max(warning.detected_at, now - timedelta(days=RECONCILE_DAYS))
            for recovery in self._store.signal_alerts(warning.participant_id, since):
                if answered(recovery, [warning]):
                    closed += self._close(warning, recovery)
                    break
        for recovery in self._store.open_alerts(AlertKind.RECOVERED.value):
            closed += self._resolve(
                recovery.alert_id,
                recovery_outcome(recovery),
                "recovery noted (applied late)",
            )
        if closed:
            _LOGGER.info("closed %d warnings and recoveries left open before a stop", closed)
        return closed

    def _close_warnings(self, recovery: Alert) -> None:
        assert recovery.participant_id is not None
        standing = self._store.open_alerts(
            AlertKind.NO_SIGNAL.value,
            site_id=recovery.site_id,
            participant_id=recovery.participant_id,
        )
        for warning in answered(recovery, standing):
            self._close(warning, recovery)

    def _close(self, warning: Alert, recovery: Alert) -> int:
        return self._resolve(
            warning.alert_id,
            Outcome.RECONNECTED,
            f"breathing seen again from {_clock(recovery.onset_at)} UTC",
            recovered=recovery.alert_id,
        )

    def _resolve(self, alert_id: str, outcome: Outcome, text: str, **detail: str) -> int:
        return int(self._escalator.resolve_by_system(alert_id, outcome, text, **detail))


def _clock(moment: datetime) -> str:
    return format_utc(moment)[11:19]
