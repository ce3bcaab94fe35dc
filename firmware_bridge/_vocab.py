"""The wire vocabulary: topics, message kinds, commands, alert kinds, states and limits (pure).

These are the names and bounds of the edge-server contract; :mod:`firmware_bridge.wire`
re-exports every one of them, and that is where the rest of the code base imports them from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from firmware_bridge._checks import _check_id
from firmware_bridge.errors import WireError

SCHEMA_VERSION: Final = 3
"""Bumped in the same change that alters the envelope or a body; see CHANGELOG.md."""

TOPIC_ROOT: Final = "odart/v1"
"""Topic prefix; the ``v1`` follows the major schema version so old and new edges can coexist."""

MAX_PAYLOAD_BYTES: Final = 4096
"""Upper bound on one message: a derived event is a few hundred bytes, and a small cap keeps a raw
waveform from ever fitting through by accident (data minimisation) and bounds parsing work."""

MAX_CHECKIN_S: Final = 300.0
"""A check-in longer than five minutes would leave an apnoea unanswered far too long."""

MAX_COMMAND_ARGS: Final = 200
"""A consent snapshot names every resident an edge serves: 200 fits a large hostel in 4 KiB."""

MAX_EVIDENCE_ITEMS: Final = 16
"""Evidence is a handful of summary features (time since breath, rate, SpO2, quality), not data."""


class TopicKind(StrEnum):
    """The last level of every ODART topic."""

    STATUS = "status"
    EVENT = "event"
    """Routine messages: device reports."""
    ALERT = "alert"
    """Alerts and alert updates, on a topic of their own: the broker and the server's own
    connection for them never queue an alert behind routine traffic."""
    ACK = "ack"
    CMD = "cmd"


class MessageKind(StrEnum):
    """The ``type`` of an envelope; each has its own body class."""

    ALERT = "alert"
    """A detection from the edge detector (apnoea, desaturation, ...)."""
    DEVICE = "device"
    """A device's state changed (connected, no data, low battery, ...)."""
    STATUS = "status"
    """The edge itself is online or offline (retained, and the Last Will)."""
    ACK = "ack"
    """The server stored a message; the edge may now delete it from its outbox."""
    UPDATE = "update"
    """Something happened to an alert already sent (a check-in was answered or ran out)."""
    CMD = "cmd"
    """An instruction or a state for the edge (consent, configuration)."""


class Command(StrEnum):
    """The ``command`` of a ``cmd`` message (docs/wire.md, "Commands")."""

    CONSENT = "consent"
    """Retained: every resident's consent state; only ``active`` is monitored."""
    DEVICES = "devices"
    """Retained: the devices the edge runs, from the panel's enrolments."""
    CHECKIN_CANCEL = "checkin_cancel"
    """Staff cancelled a check-in on the panel."""
    DRILL = "drill"
    """Send a ``test`` alert through the whole chain."""


class AlertKind(StrEnum):
    """What the edge detector saw. The detector's event kinds must be a subset (tested)."""

    APNOEA = "apnoea"
    RESPIRATORY_DEPRESSION = "respiratory_depression"
    DESATURATION = "desaturation"
    STILLNESS = "stillness"
    PROLONGED_OCCUPANCY = "prolonged_occupancy"
    NO_SIGNAL = "no_signal"
    RECOVERED = "recovered"
    BUTTON = "button"
    """The wearer pressed the help button."""
    TEST = "test"
    """A training or drill alert: clearly marked, never a real emergency."""
    EDGE_OFFLINE = "edge_offline"
    """Raised by the server: an edge went silent (its Last Will arrived, or no heartbeat)."""
    DEVICE_FAULT = "device_fault"
    """A device disconnected, stopped sending, or reports a fault."""
    LOW_BATTERY = "low_battery"
    """A device's battery fell below the low mark."""
    NOBODY_REACHABLE = "nobody_reachable"
    """Raised by the server: every channel of every responder at a level failed."""
    EDGE_DISK_FULL = "edge_disk_full"
    """Raised by the server: an edge reports ``disk_full`` (alerts held in memory only)."""


PAGING_KINDS: Final = frozenset(
    {
        AlertKind.APNOEA,
        AlertKind.RESPIRATORY_DEPRESSION,
        AlertKind.DESATURATION,
        AlertKind.PROLONGED_OCCUPANCY,
        AlertKind.BUTTON,
        AlertKind.TEST,
    }
)
"""Kinds that page responders (and that the edge checks in about first when only a warning).
Stillness only amplifies other signs, recovery is good news, and device health goes to staff."""

SERVER_KINDS: Final = frozenset(
    {
        AlertKind.EDGE_OFFLINE,
        AlertKind.DEVICE_FAULT,
        AlertKind.LOW_BATTERY,
        AlertKind.NOBODY_REACHABLE,
        AlertKind.EDGE_DISK_FULL,
    }
)
"""Kinds only the server raises (from status and device messages); the server refuses an
``alert`` of these kinds from an edge, so an edge cannot forge a technical alarm."""


class AlertUpdate(StrEnum):
    """What became of an alert after it was sent (an ``update`` message)."""

    CANCELLED_BY_WEARER = "cancelled_by_wearer"
    """The wearer pressed the button during the check-in window: they are OK."""
    CHECKIN_EXPIRED = "checkin_expired"
    """Nobody answered the check-in: page responders now."""
    CONDITION_CLEARED = "condition_cleared"
    """The detector sees breathing again; a timeline note only, never a state change."""


class Severity(StrEnum):
    """How urgent an alert is: critical pages at once; warning may check in with the wearer."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class EdgeState(StrEnum):
    """The edge's connection state, published retained on ``status``."""

    ONLINE = "online"
    OFFLINE = "offline"
    DISK_FULL = "disk_full"
    """Online, but the outbox cannot write to disk: new messages are held in memory only."""


class DeviceState(StrEnum):
    """Where a device's link stands, as the edge reports it in a ``device`` message."""

    CONNECTED = "connected"
    """Connected and subscribed; data is expected."""
    DISCONNECTED = "disconnected"
    """The link is down (out of range, port gone); the link is reconnecting with backoff."""
    NO_DATA = "no_data"
    """Connected but silent for longer than the watchdog allows."""


# --------------------------------------------------------------------------------------------
# Topics


@dataclass(frozen=True, slots=True)
class Topic:
    """One concrete ODART topic: ``odart/v1/{site_id}/{edge_id}/{kind}``."""

    site_id: str
    edge_id: str
    kind: TopicKind

    def __post_init__(self) -> None:
        _check_id("site", self.site_id)
        _check_id("edge", self.edge_id)

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.site_id}/{self.edge_id}/{self.kind.value}"


def parse_topic(topic: str) -> Topic:
    """Split an ODART topic into its parts; anything else raises :class:`WireError`."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise WireError("topic", f"not of the form {TOPIC_ROOT}/SITE/EDGE/KIND")
    try:
        kind = TopicKind(parts[4])
    except ValueError:
        raise WireError("topic", "unknown topic kind") from None
    try:
        return Topic(parts[2], parts[3], kind)
    except WireError as error:
        raise WireError("topic", f"bad {error.field} id") from None


def topic_filter(kind: TopicKind, site_id: str = "+", edge_id: str = "+") -> str:
    """A subscription filter for one kind of topic; ``+`` matches any site or edge."""
    for name, value in (("site", site_id), ("edge", edge_id)):
        if value != "+":
            _check_id(name, value)
    return f"{TOPIC_ROOT}/{site_id}/{edge_id}/{kind.value}"
