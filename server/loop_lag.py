"""How late the event loop runs: a probe that sleeps and measures its oversleep (shell).

A coroutine that blocks the loop (a slow query, a CPU-heavy job) delays every other task by
the same amount: ingest, acks, pushes. The probe wakes every :data:`PROBE_EVERY_S` and records
how much later than asked it woke. Health and ``/metrics`` show the worst lag since start and in
the last :data:`RECENT_WINDOW_S`; ``odart bench load`` reads it per load level.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Final

PROBE_EVERY_S: Final = 0.02
"""50 wake-ups a second: fine enough to see a 10 ms stall, and costs well under 1 % of a core."""

RECENT_WINDOW_S: Final = 10.0
"""The "recent" worst lag covers this long: a benchmark phase or a scrape interval."""


class LoopLag:
    """The event loop's lag; :meth:`run` is a supervised loop."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._recent: deque[tuple[float, float]] = deque()

    def record(self, at_s: float, lag_s: float) -> None:
        """Note one probe's lag (monotonic seconds at which it was seen)."""
        self.worst_s = max(self.worst_s, lag_s)
        self._recent.append((at_s, lag_s))
        while self._recent and self._recent[0][0] < at_s - RECENT_WINDOW_S:
            self._recent.popleft()

    def recent_worst_s(self) -> float:
        """The worst lag seen in the last :data:`RECENT_WINDOW_S`."""
        return max((lag for _, lag in self._recent), default=0.0)

    async def run(self) -> None:
        """Probe until cancelled."""
        while True:
            asked = time.monotonic()
            await asyncio.sleep(PROBE_EVERY_S)
            woke = time.monotonic()
            self.record(woke, max(woke - asked - PROBE_EVERY_S, 0.0))
