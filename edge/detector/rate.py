"""The breaths of the last rate window and the rates read from them (pure).

Breaths are kept with the run of uninterrupted good seconds they fell in. Movement or a gap
hides breaths (and the trigger needs a fresh trough and peak afterwards), so an interval between
breaths of different runs is not an interval between consecutive breaths, and each interruption
may have cost about one breath. Counting such intervals as breathing intervals, and not allowing
for the breath an interruption hides, made normal but irregular breathing with a few gestures
(talking) look like slowed breathing.
"""

from __future__ import annotations

import itertools
from collections import deque

from edge.detector import const


class RateWindow:
    """Breath times of the last ``window_s`` seconds, interruptions, and the rates they give."""

    def __init__(self, window_s: float, rate_breaths: int) -> None:
        self._window_s = window_s
        self._n = rate_breaths
        self._times: deque[float] = deque()
        self._runs: deque[int] = deque()
        self._interruptions: deque[float] = deque()
        self._run = 0
        self._in_run = False
        self.rate_bpm: float | None = None
        """Breath-by-breath rate: 60 / median of the last ``rate_breaths`` intervals."""
        self.window_rate_bpm: float | None = None
        """60 / median interval of the window's breaths (``RD_MIN_BREATHS`` of them)."""

    @property
    def breaths(self) -> int:
        """Breaths in the window."""
        return len(self._times)

    @property
    def interruptions(self) -> int:
        """Runs of good signal the window's time was cut into, less one."""
        return len(self._interruptions)

    def good(self) -> None:
        """A good second: the current run goes on."""
        self._in_run = True

    def interrupt(self, t_s: float) -> None:
        """A second that could not be used: the run of good signal (if any) ends at ``t_s``."""
        if self._in_run:
            self._interruptions.append(t_s)
            self._run += 1
            self._in_run = False

    def add(self, t_s: float) -> None:
        """A breath (its peak) at ``t_s``."""
        self._times.append(t_s)
        self._runs.append(self._run)
        self._update()

    def trim(self, t_end: float) -> None:
        """Drop what fell out of the window ending at ``t_end``."""
        start = t_end - self._window_s
        while self._interruptions and self._interruptions[0] <= start:
            self._interruptions.popleft()
        if self._times and self._times[0] <= start:
            while self._times and self._times[0] <= start:
                self._times.popleft()
                self._runs.popleft()
            self._update()

    def _update(self) -> None:
        """Re-read both rates from the intervals within runs."""
        self.rate_bpm = self.window_rate_bpm = None
        intervals = [
            b - a
            for (a, b), (ra, rb) in zip(
                itertools.pairwise(self._times), itertools.pairwise(self._runs), strict=True
            )
            if ra == rb
        ]
        if len(intervals) >= const.RD_MIN_BREATHS - 1:
            median = _median(sorted(intervals))
            self.window_rate_bpm = 60.0 / median if median > 0 else None
        if len(intervals) >= self._n:
            ibi = sorted(intervals[-self._n :])[self._n // 2]
            self.rate_bpm = 60.0 / ibi if ibi > 0 else None


def _median(ordered: list[float]) -> float:
    """Median of a sorted, non-empty list."""
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])
