"""Live updates for open panels: a fan-out of small JSON events to each subscriber (shell).

The database is the record; this only tells panels to look. A panel that cannot keep up is
disconnected (its queue is closed) and reloads on reconnect, so nothing is silently lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final

QUEUE_SIZE: Final = 256
"""Per-panel backlog; a panel this far behind is dropped and reloads from the database."""

_CLOSED: Final = object()


class LiveHub:
    """Fan-out of events to every connected panel."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[object]] = set()

    @property
    def subscribers(self) -> int:
        """Panels currently listening."""
        return len(self._queues)

    def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every subscriber; a full subscriber is disconnected."""
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue.get_nowait()
                queue.put_nowait(_CLOSED)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Events as they happen, until the subscriber is dropped or stops iterating."""
        queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            while True:
                item = await queue.get()
                if item is _CLOSED:
                    return
                assert isinstance(item, dict)
                yield item
        finally:
            self._queues.discard(queue)
