"""A per-message log budget, so a flood of bad input cannot flood the journal (pure).

The server's ingest and consent gate, and the edge's publisher, door links and detector feed,
log every message they reject, refuse or fail on, with the reason. A hostile or broken sender
can send thousands a second; logged one line each, they would fill the disk the database or the
outbox needs and bury every other line. A :class:`BudgetedLog` lets each message *template*
(the format string from our source, never the sender's text) log :data:`PER_WINDOW` lines per
:data:`WINDOW_S`; the rest are left out of the log only (every one is still counted where
operators look: the server's ``/api/health`` and ``/metrics``, the edge's health file), and the
first line of the next window says how many were. Each owner (an ingest, a link, a publisher)
has its own, so one flood never silences another's log. Standard library only, and pure in the
sense of the cores: it decides which lines go through and hands them to the logger it is
given; it lives here because both sides treat the wire's bad input the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

PER_WINDOW: Final = 20
"""Lines one message template may log per window."""

WINDOW_S: Final = 60.0
"""The window, in seconds."""


@dataclass
class _Window:
    started_s: float
    logged: int = 0
    left_out: int = 0


class LogBudget:
    """Counts lines per key and window (pure apart from the clock it is given).

    Args:
        per_window: lines per key and window.
        window_s: the window's length.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        per_window: int = PER_WINDOW,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def admit(self, key: str) -> int | None:
        """None if this line is over the budget; else how many lines of ``key`` the window
        before left out (0 mostly)."""
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.started_s >= self.window_s:
            self._windows[key] = _Window(now, logged=1)
            return window.left_out if window is not None else 0
        if window.logged < self.per_window:
            window.logged += 1
            return 0
        window.left_out += 1
        return None


class BudgetedLog:
    """A logger's ``warning`` and ``error`` under a :class:`LogBudget` per message template."""

    def __init__(self, logger: logging.Logger, budget: LogBudget | None = None) -> None:
        self._logger = logger
        self._budget = budget or LogBudget()

    def warning(self, msg: str, *args: object) -> None:
        """``logger.warning`` within the budget."""
        self._log(logging.WARNING, msg, args)

    def error(self, msg: str, *args: object) -> None:
        """``logger.error`` within the budget."""
        self._log(logging.ERROR, msg, args)

    def exception(self, msg: str, *args: object) -> None:
        """``logger.exception`` within the budget (the traceback only on lines that are logged)."""
        self._log(logging.ERROR, msg, args, exc_info=True)

    def _log(
        self, level: int, msg: str, args: tuple[object, ...], *, exc_info: bool = False
    ) -> None:
        left_out = self._budget.admit(msg)
        if left_out is None:
            return
        if left_out:
            msg = (
                f"{msg} [and {left_out} more like this in the {self._budget.window_s:.0f} s "
                "before, not logged; all are counted]"
            )
        self._logger.log(level, msg, *args, exc_info=exc_info, stacklevel=3)
