"""Ingest's receive queue: alerts before routine messages, routine shed under overload (shell).

aiomqtt hands received messages to this queue (``queue_type``). An alert or an alert update is
read before any routine message (device reports, edge status) however many wait, so an alert
never queues behind routine traffic. Which is which is a cheap look at the topic and the raw
payload, before it is decoded: a forged hint only reorders, the message is still decoded and
checked in full. Within a class the order is arrival order.

Routine messages are written in batches (one commit for many, acks after it). When more routine
messages wait than ingest can clear within about a second, the oldest are **shed**: not stored
and not acked, so the edge's outbox keeps them and sends them again; each is counted
(``shed``, on ``/api/health`` and ``/metrics``) and logged. Alerts are never shed.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Final

import aiomqtt

from firmware_bridge.wire import TopicKind

URGENT_TYPES: Final = (b'"type":"alert"', b'"type":"update"')
"""How an alert or an update appears in the compact JSON the wire uses (docs/wire.md)."""

BATCH_MAX: Final = 200
"""Routine messages taken from the queue at once. A commit with ``synchronous=FULL`` costs an
fsync (2-20 ms measured here, done off the loop); many messages share it."""

SLICE_S: Final = 0.005
"""Work on the event loop per transaction: an alert waits at most this plus a commit, and the
loop's lag stays under the 10 ms target (issue 15)."""

SHED_ABOVE: Final = 2000
"""Routine messages allowed to wait. Above this (over a second of work at the rates measured by
``odart bench load``) the oldest are shed, so memory and routine latency stay bounded."""

_EVENT_SUFFIX: Final = "/" + TopicKind.EVENT.value


def is_urgent(topic: str, payload: bytes | bytearray) -> bool:
    """Whether a raw message is an alert or an alert update (read first, never shed)."""
    if not topic.endswith(_EVENT_SUFFIX):
        return False
    head = bytes(payload[:200])
    return any(marker in head for marker in URGENT_TYPES)


def _payload(message: aiomqtt.Message) -> bytes:
    raw = message.payload
    return bytes(raw) if isinstance(raw, bytes | bytearray) else b""


class AlertsFirstQueue(asyncio.PriorityQueue):  # type: ignore[type-arg]
    """aiomqtt's message queue: urgent messages first, then arrival order."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._arrival = itertools.count()
        self.routine_waiting = 0

    def _put(self, item: aiomqtt.Message) -> None:
        urgent = is_urgent(str(item.topic), _payload(item))
        if not urgent:
            self.routine_waiting += 1
        super()._put((0 if urgent else 1, next(self._arrival), item))

    def _get(self) -> aiomqtt.Message:
        priority, _, item = super()._get()
        if priority:
            self.routine_waiting -= 1
        return item  # type: ignore[no-any-return]
