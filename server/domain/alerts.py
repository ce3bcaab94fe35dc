"""Alert records as the server keeps them, made from wire envelopes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from firmware_bridge.wire import (
    PAGING_KINDS,
    AlertBody,
    AlertKind,
    Envelope,
    Severity,
    TextValue,
)


class AlertState(StrEnum):
    """Where an alert is in its lifecycle (see :mod:`server.domain.lifecycle`)."""

    CHECKING_IN = "checking_in"
    NOTED = "noted"
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


KIND_LABELS: Final[dict[AlertKind, str]] = {
    AlertKind.APNOEA: "no breathing detected",
    AlertKind.RESPIRATORY_DEPRESSION: "slowed breathing",
    AlertKind.DESATURATION: "low oxygen",
    AlertKind.STILLNESS: "no movement",
    AlertKind.PROLONGED_OCCUPANCY: "room occupied too long",
    AlertKind.NO_SIGNAL: "sensor cannot see breathing",
    AlertKind.RECOVERED: "breathing again",
    AlertKind.BUTTON: "help button pressed",
    AlertKind.TEST: "test alert",
    AlertKind.EDGE_OFFLINE: "site hub offline",
    AlertKind.DEVICE_FAULT: "sensor not working",
    AlertKind.LOW_BATTERY: "sensor battery low",
    AlertKind.NOBODY_REACHABLE: "nobody could be reached",
    AlertKind.EDGE_DISK_FULL: "site hub disk full",
}
"""Plain words for staff; a label says what was seen, never a health value."""


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as stored: the edge's detection plus where it is in its lifecycle."""

    alert_id: str
    site_id: str
    edge_id: str
    kind: AlertKind
    severity: Severity
    detected_at: datetime
    onset_at: datetime
    stored_at: datetime
    device_id: str | None = None
    participant_id: str | None = None
    room_id: str | None = None
    published_at: datetime | None = None
    evidence: dict[str, TextValue] = field(default_factory=dict)
    state: AlertState = AlertState.TRIGGERED
    checkin_s: float | None = None
    level: int = 0
    deadline: datetime | None = None
    assignee: str | None = None
    outcome: str | None = None
    origin: str = "edge"
    """``edge`` (a detection), ``server`` (device health), or ``test`` (training)."""


def should_page(alert: Alert) -> bool:
    """Whether responders are paged for ``alert`` (see ``firmware_bridge.wire.PAGING_KINDS``)."""
    if is_drill(alert):
        return False  # a drill measures the chain; it never pages real responders
    return alert.kind in PAGING_KINDS and alert.severity is not Severity.INFO


def is_drill(alert: Alert) -> bool:
    """Whether ``alert`` is the edge's answer to a scheduled drill."""
    return alert.kind is AlertKind.TEST and isinstance(alert.evidence.get("drill"), str)


def alert_from_envelope(envelope: Envelope, stored_at: datetime) -> Alert:
    """The alert an ``alert`` envelope describes, stamped with the server's ``stored_at``."""
    body = envelope.body
    if not isinstance(body, AlertBody):
        message = f"envelope {envelope.msg_id} is a {envelope.kind.value}, not an alert"
        raise TypeError(message)
    return Alert(
        alert_id=envelope.msg_id,
        site_id=envelope.site_id,
        edge_id=envelope.edge_id,
        kind=body.alert_kind,
        severity=body.severity,
        detected_at=body.detected_at,
        onset_at=body.onset_at,
        stored_at=stored_at,
        device_id=envelope.device_id,
        participant_id=envelope.participant_id,
        room_id=body.room_id,
        published_at=envelope.sent_at,
        evidence=dict(body.evidence),
        checkin_s=body.checkin_s,
    )


@dataclass(frozen=True, slots=True)
class PushAction:
    """A button on a push: a label and the link it opens or POSTs to."""

    label: str
    url: str
    post: bool = True


@dataclass(frozen=True, slots=True)
class Push:
    """What a responder's phone shows: room and kind only (lock-screen safe)."""

    title: str
    body: str
    actions: tuple[PushAction, ...] = ()
    click_url: str | None = None
    key: str = ""
    """Stable per (alert, level, cycle, responder): a resent push carries the same key, so a
    channel that can (a webhook header, an ntfy tag) lets the phone show it once."""


def compose_push(
    alert: Alert,
    room_label: str,
    alert_url: str,
    actions: tuple[PushAction, ...] = (),
    *,
    repeat: bool = False,
) -> Push:
    """Words for a push about ``alert``: no names, no health values, links to act and open.

    Channels without buttons get the action links in the text.
    """
    label = KIND_LABELS[alert.kind]
    urgency = "URGENT" if alert.severity is Severity.CRITICAL else "Check"
    prefix = "TEST - " if alert.kind is AlertKind.TEST or alert.origin == "test" else ""
    again = " (still unanswered)" if repeat else ""
    lines = [f"{room_label}: {label}{again}."]
    lines += [f"{action.label}: {action.url}" for action in actions]
    lines.append(f"Open {alert_url}")
    return Push(
        title=f"{prefix}{urgency}: {room_label}",
        body="\n".join(lines),
        actions=actions,
        click_url=alert_url,
    )


def compose_claim(room_label: str, responder_name: str, alert_url: str) -> Push:
    """Tells the other responders who is going, so they do not all run."""
    return Push(
        title=f"{responder_name} is responding: {room_label}",
        body=f"{responder_name} has taken the alert in {room_label}. Open {alert_url}",
        click_url=alert_url,
    )
