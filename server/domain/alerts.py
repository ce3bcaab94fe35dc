"""Alert records as the server keeps them, made from wire envelopes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from firmware_bridge.wire import AlertBody, AlertKind, Envelope, Severity, TextValue


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
    AlertKind.NO_SIGNAL: "sensor not reporting",
    AlertKind.RECOVERED: "breathing again",
    AlertKind.BUTTON: "help button pressed",
    AlertKind.TEST: "test alert",
}
"""Plain words for staff; a label says what was seen, never a health value."""


PAGED_KINDS: Final = frozenset(
    {
        AlertKind.APNOEA,
        AlertKind.RESPIRATORY_DEPRESSION,
        AlertKind.DESATURATION,
        AlertKind.PROLONGED_OCCUPANCY,
        AlertKind.BUTTON,
        AlertKind.TEST,
    }
)
"""Kinds that page responders. Stillness only amplifies other signs, recovery is good news, and
a silent sensor is a device-health matter for staff: those are stored and shown, not paged."""


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


def should_page(alert: Alert) -> bool:
    """Whether responders are paged for ``alert`` (see :data:`PAGED_KINDS`)."""
    return alert.kind in PAGED_KINDS and alert.severity is not Severity.INFO


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
    )


@dataclass(frozen=True, slots=True)
class Push:
    """What a responder's phone shows: room and kind only (lock-screen safe)."""

    title: str
    body: str


def compose_push(alert: Alert, room_label: str, alert_url: str) -> Push:
    """Words for a push about ``alert``: no names, no health values, a link to the alert."""
    label = KIND_LABELS[alert.kind]
    urgency = "URGENT" if alert.severity is Severity.CRITICAL else "Check"
    prefix = "TEST - " if alert.kind is AlertKind.TEST else ""
    return Push(
        title=f"{prefix}{urgency}: {room_label}",
        body=f"{room_label}: {label}. Open {alert_url}",
    )
