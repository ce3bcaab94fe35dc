"""What the live board shows: each room's and wearable's state at a glance (pure).

A wearable is, in order of precedence: in an alert (by severity), checking in with its wearer,
offline (its edge or its link is down), sending no data, unable to see breathing (the edge's
detector says so, :mod:`server.domain.signal`), not consented, on low battery, or ok.
A room takes the worst state of its wearables and of alerts raised for the room itself.
Each wearable also says whether a check-in is possible: only a model with a buzzer and a button
can ask its wearer "are you OK?" (``firmware_bridge.wire.CHECKIN_MODELS``); an H10 cannot, so a
warning from it pages at once. Unknown for a device listed only in an edge's own config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from firmware_bridge.wire import (
    CHECKIN_MODELS,
    MODEL_ROLE,
    AlertKind,
    DeviceModel,
    DeviceRole,
    DeviceState,
    EdgeState,
)

STATUSES: Final = (
    "alert_critical",
    "alert_warning",
    "checking_in",
    "offline",
    "no_data",
    "cannot_see_breathing",
    "not_consented",
    "low_battery",
    "ok",
)
"""Worst first: a tile shows the first that applies."""

LABELS: Final = {
    "alert_critical": "ALERT",
    "alert_warning": "alert",
    "checking_in": "checking in",
    "offline": "offline",
    "no_data": "no data",
    "cannot_see_breathing": "can't see breathing",
    "not_consented": "not consented",
    "low_battery": "low battery",
    "ok": "ok",
}

RESPONDING: Final = frozenset({"triggered", "acknowledged", "en_route", "on_scene"})
"""Alert states that put a tile into alert."""
TECHNICAL: Final = frozenset(
    {
        "edge_offline",
        "edge_disk_full",
        "device_fault",
        "low_battery",
        "no_signal",
        "nobody_reachable",
    }
)
"""Alert kinds about equipment, shown by the device states rather than as an alert."""


def alert_status(alert: Mapping[str, Any]) -> str | None:
    """The tile status an open alert causes, or None (technical and noted alerts)."""
    if alert["kind"] in TECHNICAL:
        return None
    if alert["state"] == "checking_in":
        return "checking_in"
    if alert["state"] in RESPONDING:
        return "alert_critical" if alert["severity"] == "critical" else "alert_warning"
    return None


def checkin_possible(enrolment: Mapping[str, Any] | None) -> bool | None:
    """Whether an enrolled wearable can check in with its wearer.

    None for a device that is not a wearable, or whose model the server does not know (it is
    listed only in the edge's own config).
    """
    model = None if enrolment is None else enrolment.get("model")
    if not isinstance(model, str) or model not in DeviceModel._value2member_map_:
        return None
    if MODEL_ROLE[DeviceModel(model)] is not DeviceRole.WEARABLE:
        return None
    return DeviceModel(model) in CHECKIN_MODELS


def worst(statuses: Iterable[str]) -> str:
    """The most urgent of ``statuses`` (``ok`` when there are none)."""
    return min(statuses, key=STATUSES.index, default="ok")


def device_status(
    health: Mapping[str, Any] | None,
    enrolment: Mapping[str, Any] | None,
    edge_state: str | None,
    alerts: Iterable[Mapping[str, Any]],
) -> tuple[str, list[str]]:
    """A wearable's status and every condition that applies (the worst is the status)."""
    flags = [s for s in (alert_status(a) for a in alerts) if s is not None]
    if edge_state == EdgeState.OFFLINE or (
        health is not None and health["state"] == DeviceState.DISCONNECTED
    ):
        flags.append("offline")
    if health is None or health["state"] == DeviceState.NO_DATA:
        flags.append("no_data")
    if any(a["kind"] == AlertKind.NO_SIGNAL for a in alerts):
        flags.append("cannot_see_breathing")  # an apnoea may be paged late or not at all
    if enrolment is not None and enrolment.get("consent") != "active":
        flags.append("not_consented")
    if health is not None and health.get("battery_low"):
        flags.append("low_battery")
    ordered = sorted(set(flags), key=STATUSES.index)
    return worst(ordered), ordered


def build_board(
    sites: Iterable[tuple[str, str, list[tuple[str, str]]]],
    health: Iterable[Mapping[str, Any]],
    enrolments: Iterable[Mapping[str, Any]],
    edges: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Sites, their rooms and wearables, each with a status; no pseudonyms.

    Args:
        sites: configured (site id, name, [(room id, label)]).
        health: ``device_health`` rows.
        enrolments: live enrolments (device, site, room, consent).
        edges: ``edges`` rows.
        alerts: open alerts.
    """
    by_device = {row["device_id"]: row for row in health}
    enrolled = {row["device_id"]: row for row in enrolments}
    edge_state = {(row["site_id"], row["edge_id"]): row["state"] for row in edges}
    open_alerts = list(alerts)
    board = []
    known_sites = list(sites)
    seen_sites = {site_id for site_id, _, _ in known_sites}
    extra = {row["site_id"] for row in by_device.values()} | {
        row["site_id"] for row in enrolled.values()
    }
    known_sites += [(site_id, site_id, []) for site_id in sorted(extra - seen_sites)]
    for site_id, name, rooms in known_sites:
        devices = sorted(
            {d for d, row in by_device.items() if row["site_id"] == site_id}
            | {d for d, row in enrolled.items() if row["site_id"] == site_id}
        )
        tiles: dict[str | None, list[dict[str, Any]]] = {room_id: [] for room_id, _ in rooms}
        for device_id in devices:
            row = by_device.get(device_id)
            enrolment = enrolled.get(device_id)
            room_id = None if enrolment is None else enrolment["room_id"]
            edge = None if row is None else edge_state.get((site_id, row["edge_id"]))
            mine = [a for a in open_alerts if a["device_id"] == device_id]
            status, flags = device_status(row, enrolment, edge, mine)
            tiles.setdefault(room_id if room_id in tiles else None, []).append(
                {
                    "id": device_id,
                    "status": status,
                    "label": LABELS[status],
                    "flags": flags,
                    "battery_pct": None if row is None else row["battery_pct"],
                    "enrolled": enrolment is not None,
                    "model": None if enrolment is None else enrolment.get("model"),
                    "checkin": checkin_possible(enrolment),
                }
            )
        room_list = []
        for room_id, label in rooms:
            here = [a for a in open_alerts if a["site_id"] == site_id and a["room_id"] == room_id]
            statuses = [t["status"] for t in tiles[room_id]]
            statuses += [s for s in (alert_status(a) for a in here) if s is not None]
            status = worst(statuses) if statuses else "no_data"  # nobody is watched here
            room_list.append(
                {
                    "id": room_id,
                    "label": label,
                    "status": status,
                    "status_label": LABELS[status],
                    "devices": tiles[room_id],
                    "alerts": [
                        {k: a[k] for k in ("id", "kind", "severity", "state")}
                        for a in here
                        if alert_status(a) is not None
                    ],
                }
            )
        board.append(
            {
                "id": site_id,
                "name": name,
                "rooms": room_list,
                "unassigned": tiles.get(None, []),
                "unassigned_status": worst(t["status"] for t in tiles.get(None, [])),
                "edges": [
                    {"id": edge_id, "state": state}
                    for (site, edge_id), state in sorted(edge_state.items())
                    if site == site_id
                ],
            }
        )
    return board
