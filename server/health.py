"""Device and edge health: technical alerts for staff, separate from overdose alerts (shell).

- An edge that reports ``disk_full`` raises ``edge_disk_full`` at once, once per episode (it
  keeps new alerts in memory only, so the next outage would lose them); it closes itself with
  the outcome ``reconnected`` when the edge reports ``online`` again.
- An edge whose Last Will arrived and that stays offline past a grace period raises an
  ``edge_offline`` alert at once (a site without its hub watches nobody). Its devices' own
  faults are not raised while it is down: the root cause comes first. When it is back, the alert
  closes itself with the outcome ``reconnected`` (technical alarms do not latch).
- A wearable that disconnects or stops sending raises ``device_fault``; a battery below the low
  mark raises ``low_battery``, cleared only above the cleared mark (hysteresis). Both are
  non-urgent: staff hear of them within the site's operating hours.
- When every channel of every responder paged at a level fails, the alert escalates at once
  and ``nobody_reachable`` goes to the site's staff channel straight away.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from firmware_bridge.wire import (
    AlertKind,
    DeviceState,
    EdgeState,
    IdMinter,
    Severity,
    TextValue,
    format_utc,
)
from server.config import Settings
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Outcome, Page, hold_until
from server.escalation import Escalator
from server.store.db import Store
from server.store.pushes import QueuedPush

_LOGGER = logging.getLogger(__name__)

FAULT_STATES: Final = frozenset({DeviceState.DISCONNECTED, DeviceState.NO_DATA})
"""Device link states that mean the device is not watching anybody."""

DEVICE_FAULT: Final = AlertKind.DEVICE_FAULT.value
LOW_BATTERY: Final = AlertKind.LOW_BATTERY.value


class Health:
    """Raises and clears technical alerts from edge status and device messages."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        escalator: Escalator,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._escalator = escalator
        self._now = now
        self._minter = IdMinter()
        self._may_have_open: set[tuple[str, str]] | None = None

    # -- edges ----------------------------------------------------------------------------------

    def edge_changed(self, site_id: str, edge_id: str, state: str) -> None:
        """An edge came online, went offline or filled its disk (after the store recorded it)."""
        if state == EdgeState.DISK_FULL.value:
            self._disk_full(site_id, edge_id)
        if state != EdgeState.ONLINE.value:
            return  # offline is raised by tick() once the grace period has passed
        for kind, why in (
            (AlertKind.EDGE_OFFLINE, "the site hub is back online"),
            (AlertKind.EDGE_DISK_FULL, "the site hub can write to its disk again"),
        ):
            for alert in self._store.open_alerts(kind.value, site_id=site_id, edge_id=edge_id):
                self._close(alert, why)

    def _disk_full(self, site_id: str, edge_id: str) -> None:
        """Tell staff once per episode: alerts now live only in the hub's memory until sent."""
        where = {"site_id": site_id, "edge_id": edge_id}
        if self._store.open_alerts(AlertKind.EDGE_DISK_FULL.value, **where):
            return  # the same episode (a reconnect while still full): the open alert stands
        _LOGGER.error("edge %s/%s reports a full disk", site_id, edge_id)
        # Urgent like edge_offline: one more outage and the alerts it holds in memory are lost.
        self._raise(AlertKind.EDGE_DISK_FULL, site_id, edge_id, None, None, urgent=True)

    def tick(self) -> int:
        """Raise ``edge_offline`` for edges silent past the grace period; returns how many."""
        cutoff = self._now() - timedelta(seconds=self._settings.edge_offline_grace_s)
        raised = 0
        for edge in self._store.edges_offline_since(cutoff):
            if self._store.open_alerts(
                AlertKind.EDGE_OFFLINE.value, site_id=edge["site_id"], edge_id=edge["edge_id"]
            ):
                continue
            self._raise(
                AlertKind.EDGE_OFFLINE, edge["site_id"], edge["edge_id"], None, None, urgent=True
            )
            raised += 1
        return raised

    # -- responders -----------------------------------------------------------------------------

    def nobody_reachable(self, failed: QueuedPush) -> None:
        """Every page at ``failed``'s level failed: escalate now and tell staff."""
        escalated = self._escalator.nobody_reachable(failed)
        alert = self._store.alert(failed.alert_id)
        if alert is None:
            return
        _LOGGER.error(
            "alert %s: nobody at level %d could be reached%s",
            alert.alert_id,
            failed.level,
            "; escalated now" if escalated else "",
        )
        told = self._store.open_alerts(AlertKind.NOBODY_REACHABLE.value, site_id=alert.site_id)
        if any(t.evidence.get("alert") == alert.alert_id for t in told):
            return  # staff already know about this alert; the open notice stands
        self._raise(
            AlertKind.NOBODY_REACHABLE,
            alert.site_id,
            alert.edge_id,
            None,
            None,
            urgent=True,
            room_id=alert.room_id,
            evidence={"alert": alert.alert_id, "level": failed.level, "cycle": failed.cycle},
        )

    # -- devices --------------------------------------------------------------------------------

    def device_changed(
        self,
        site_id: str,
        edge_id: str,
        device_id: str | None,
        participant_id: str | None,
        state: DeviceState,
        battery_pct: float | None,
    ) -> None:
        """A device reported its link state and battery."""
        if device_id is None:
            return
        where = {"site_id": site_id, "device_id": device_id}
        flagged = self._flagged()
        key = (site_id, device_id)
        # Most reports are from a healthy device with no open fault: skip both queries then.
        may_have = key in flagged
        faults = self._store.open_alerts(DEVICE_FAULT, **where) if may_have else []
        if state in FAULT_STATES:
            if self._store.edge_state(site_id, edge_id) == EdgeState.OFFLINE:
                _LOGGER.info("device %s fault suppressed: its edge is offline", device_id)
            elif not faults:
                flagged.add(key)
                self._raise(AlertKind.DEVICE_FAULT, site_id, edge_id, device_id, participant_id)
        elif state is DeviceState.CONNECTED:
            for alert in faults:
                self._close(alert, "the device is sending again")
        self._remember(site_id, edge_id, device_id, state.value, battery_pct)
        if battery_pct is None:
            return
        low = self._store.open_alerts(LOW_BATTERY, **where) if may_have else []
        if battery_pct < self._settings.low_battery_pct and not low:
            flagged.add(key)
            self._raise(AlertKind.LOW_BATTERY, site_id, edge_id, device_id, participant_id)
        elif battery_pct >= self._settings.battery_cleared_pct:
            for alert in low:
                self._close(alert, "the battery has been charged")
            if may_have and state is DeviceState.CONNECTED:
                flagged.discard(key)  # both closed now (a fault reappears by raising again)

    def _flagged(self) -> set[tuple[str, str]]:
        """(site, device) pairs that may have an open fault or low-battery alert: read once,
        then kept as these alerts are raised (only here). A pair whose alerts staff closed
        stays until its next healthy report: it costs a query, never a missed alert."""
        if self._may_have_open is None:
            rows = self._store.db.execute(
                "SELECT DISTINCT site_id, device_id FROM alerts WHERE kind IN (?, ?) "
                "AND state NOT IN (?, ?) AND device_id IS NOT NULL",
                [DEVICE_FAULT, LOW_BATTERY, AlertState.RESOLVED.value, AlertState.CANCELLED.value],
            )
            self._may_have_open = {(str(site), str(device)) for site, device in rows}
        return self._may_have_open

    def _remember(
        self, site_id: str, edge_id: str, device_id: str, state: str, battery_pct: float | None
    ) -> None:
        """Keep the device's latest state for the board; the low-battery flag has hysteresis."""
        db = self._store.db
        row = db.execute(
            "SELECT battery_pct, battery_low FROM device_health WHERE device_id = ?", [device_id]
        ).fetchone()
        battery = battery_pct if battery_pct is not None else (row[0] if row else None)
        low = bool(row[1]) if row else False
        if battery is not None:
            if battery < self._settings.low_battery_pct:
                low = True
            elif battery >= self._settings.battery_cleared_pct:
                low = False
        with self._store.write():
            db.execute(
                "INSERT INTO device_health (device_id, site_id, edge_id, state, battery_pct, "
                "battery_low, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(device_id) DO "
                "UPDATE SET site_id = excluded.site_id, edge_id = excluded.edge_id, "
                "state = excluded.state, battery_pct = excluded.battery_pct, "
                "battery_low = excluded.battery_low, updated_at = excluded.updated_at",
                [device_id, site_id, edge_id, state, battery, int(low), format_utc(self._now())],
            )

    # -- shared ---------------------------------------------------------------------------------

    def _raise(
        self,
        kind: AlertKind,
        site_id: str,
        edge_id: str,
        device_id: str | None,
        participant_id: str | None,
        *,
        urgent: bool = False,
        room_id: str | None = None,
        evidence: dict[str, TextValue] | None = None,
    ) -> None:
        now = self._now()
        alert = Alert(
            alert_id=self._minter.mint(int(now.timestamp() * 1000), os.urandom(10)),
            site_id=site_id,
            edge_id=edge_id,
            kind=kind,
            severity=Severity.WARNING,
            detected_at=now,
            onset_at=now,
            stored_at=now,
            device_id=device_id,
            participant_id=participant_id,
            room_id=room_id,
            evidence=dict(evidence or {}),
            state=AlertState.NOTED,
            origin="server",
        )
        if not self._escalator.admit(alert):
            return
        hours = self._settings.site(site_id).hours.hours()
        opens = hours.next_opening(now)
        if urgent or opens <= now:
            self._escalator.page_now(
                alert.alert_id, Page(0, everyone_up_to=False, reason=kind.value)
            )
            return
        loaded = self._store.lifecycle(alert.alert_id)
        if loaded is not None:
            life, version = loaded
            self._store.commit_transition(
                alert.alert_id,
                version,
                hold_until(life, opens),
                now,
                "held",
                f"staff will be told when the site opens at {opens.isoformat(timespec='minutes')}",
            )

    def _close(self, alert: Alert, why: str) -> None:
        self._escalator.resolve_by_system(alert.alert_id, Outcome.RECONNECTED, why)
