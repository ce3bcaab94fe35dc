"""Reads a finished run back: every alert's hops from the edge, the server and the phones (shell).

Hops, in simulated seconds since the start: ``onset`` (the detector's estimate), ``detected``,
``outbox`` (the envelope written), ``broker`` (published), ``stored`` (committed by the server),
``notified`` (the first page reached a phone), ``acknowledged``, ``en_route``, ``on_scene``,
``resolved`` (or ``cancelled``), plus each ``escalated`` level from the alert's timeline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from firmware_bridge.wire import Envelope, parse_utc
from odart.simulate_setup import SimClock
from server.store.db import Store
from simulators.responders import ResponderStep, VirtualResponders
from simulators.scenario import Scenario
from simulators.scenario_expect import Observation, ObservedAlert, ObservedPage

HOPS: Final = (
    "onset",
    "detected",
    "outbox",
    "broker",
    "stored",
    "notified",
    "acknowledged",
    "en_route",
    "on_scene",
    "resolved",
    "cancelled",
)
"""Every hop an alert can take, in the order they normally happen."""

WIRE_HOPS: Final = frozenset({"outbox", "broker", "stored", "notified"})
"""Hops whose latency is machine work (wall time), not simulated waiting."""

_TIMELINE_HOPS: Final = {
    "ack": "acknowledged",
    "en_route": "en_route",
    "on_scene": "on_scene",
    "resolve": "resolved",
    "cancel": "cancelled",
    "cancelled": "cancelled",
}
"""Alert timeline events (``server.escalation``: an action's value, or the new state) -> hop."""
_LEVEL: Final = re.compile(r"paging level (\d+)")


@dataclass(frozen=True, slots=True)
class Observed:
    """A run's alerts, pages and responder steps."""

    observation: Observation
    steps: tuple[ResponderStep, ...]
    rooms: dict[str, str | None]


def _t(clock: SimClock, moment: datetime | None) -> float | None:
    return None if moment is None else round(clock.at(moment), 3)


def observe(
    scenario: Scenario,
    clock: SimClock,
    store: Store,
    envelopes: Sequence[Envelope],
    phones: VirtualResponders,
) -> Observed:
    """Collect what happened to every stored alert."""
    key_of = {p.participant: p.key for p in scenario.people}
    level_of = {r.id: r.level for r in scenario.responders}
    written = {e.msg_id: e.created_at for e in envelopes}
    pages = tuple(
        ObservedPage(p.responder, level_of.get(p.responder, 0), round(p.t_s, 3), p.alert_id)
        for p in phones.pushes
        if p.is_page
    )
    alerts = []
    rooms: dict[str, str | None] = {}
    for alert in sorted(store.alerts(10_000), key=lambda a: a.detected_at):
        hops: dict[str, float | None] = dict.fromkeys(HOPS)
        hops["onset"] = _t(clock, alert.onset_at)
        hops["detected"] = _t(clock, alert.detected_at)
        hops["outbox"] = _t(clock, written.get(alert.alert_id))
        hops["broker"] = _t(clock, alert.published_at)
        hops["stored"] = _t(clock, alert.stored_at)
        mine = [p for p in pages if p.alert_id == alert.alert_id]
        hops["notified"] = mine[0].t_s if mine else None
        escalations = []
        for row in store.timeline(alert.alert_id):
            at = _t(clock, parse_utc(row["at"]))
            hop = _TIMELINE_HOPS.get(row["event"])
            if hop is not None and hops[hop] is None:
                hops[hop] = at
            level = _LEVEL.search(row["detail"] or "")
            if row["event"] == "escalated" and level and at is not None:
                escalations.append((at, int(level.group(1))))
        rooms[alert.alert_id] = alert.room_id
        alerts.append(
            ObservedAlert(
                alert.alert_id,
                alert.kind.value,
                alert.severity.value,
                key_of.get(alert.participant_id or ""),
                alert.state.value,
                alert.outcome,
                hops,
                tuple(escalations),
                paged=bool(mine),
            )
        )
    return Observed(Observation(tuple(alerts), pages), tuple(phones.steps), rooms)
