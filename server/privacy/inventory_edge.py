"""The inventory's edge data: MQTT topics between edge and server, and the edge's memory (pure).

Part of :mod:`server.privacy.inventory` (issue 8). None of it is in the server database: it is
in transit, on the broker, or in the edge agent's memory.
"""

from __future__ import annotations

from typing import Final

from server.privacy.declarations import (
    CONSENT_AND_VITAL,
    LEGITIMATE,
    Declaration,
    Purpose,
    RecordClass,
)

_CONSENT_AND_VITAL = CONSENT_AND_VITAL
_LEGITIMATE = LEGITIMATE

TOPICS: Final[tuple[Declaration, ...]] = (
    Declaration(
        "mqtt:alert",
        ("id", "type", "site", "edge", "device", "participant", "created_at", "sent_at", "body"),
        "derived detections (alerts) and what became of them; never raw signals",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.SYSTEM,
        "the server's alert connection only (broker ACL)",
        "in transit; edge outbox until acknowledged",
    ),
    Declaration(
        "mqtt:event",
        ("id", "type", "site", "edge", "device", "participant", "created_at", "sent_at", "body"),
        "device state; never raw signals",
        True,
        (Purpose.MONITORING, Purpose.OPERATIONS),
        _CONSENT_AND_VITAL,
        RecordClass.SYSTEM,
        "the server only (broker ACL)",
        "in transit; edge outbox until acknowledged",
    ),
    Declaration(
        "mqtt:status",
        ("id", "type", "site", "edge", "created_at", "body"),
        "site hub online state",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "the server",
        "broker (retained)",
    ),
    Declaration(
        "mqtt:ack",
        ("id", "type", "site", "edge", "created_at", "body"),
        "receipts for stored messages",
        False,
        (Purpose.OPERATIONS,),
        _LEGITIMATE,
        RecordClass.SYSTEM,
        "the edge",
        "in transit",
    ),
    Declaration(
        "mqtt:cmd",
        ("id", "type", "site", "edge", "created_at", "body"),
        "consent state per pseudonym, check-in cancels, drills",
        True,
        (Purpose.MONITORING,),
        _CONSENT_AND_VITAL,
        RecordClass.CONSENT_RECORD,
        "the edge",
        "broker (consent retained)",
    ),
)

EDGE_MEMORY: Final = Declaration(
    "edge:raw_signals",
    ("acc_x", "acc_y", "acc_z", "resp", "spo2", "hr", "presence", "motion", "door"),
    "raw sensor samples, held in the edge agent's memory only (about two minutes)",
    True,
    (Purpose.MONITORING,),
    _CONSENT_AND_VITAL,
    RecordClass.SYSTEM,
    "nobody",
    "edge RAM only; never written to disk or sent",
)
