"""The server's one supervisor: restarted loops, scheduled jobs and tracked one-off tasks (shell).

Everything the server runs in the background belongs here, so nothing is fire-and-forget:

- **loops** (ingest, the sender, the escalation timers) run until shutdown; one that fails is
  restarted after :func:`restart_delay_s`, and its failure count resets once it has run healthy
  for :data:`HEALTHY_AFTER_S`. A :class:`~server.errors.PermanentFailure` (bad broker
  credentials) stops that loop for good and is reported in its status.
- **jobs** (device health, purge, consent, drills) are plain callables run every few seconds;
  one failing is logged and the others still run.
- **tasks** are one-off coroutines (a command to an edge): guarded, tracked, and awaited at
  shutdown for up to :data:`SHUTDOWN_GRACE_S`, then cancelled.

The restart policy is pure (:func:`restart_delay_s`) so it is tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from server.errors import PermanentFailure

_LOGGER = logging.getLogger(__name__)

FIRST_RESTART_S: Final = 0.5
"""First restart delay: a crashed loop is back within a second."""

MAX_RESTART_S: Final = 30.0
"""Restart delay cap: a loop failing on every start is retried twice a minute, not hammered."""

HEALTHY_AFTER_S: Final = 60.0
"""A loop that ran this long without failing is healthy again: its backoff starts over."""

JOB_EVERY_S: Final = 1.0
"""Scheduled jobs run this often (escalation timeouts are tens of seconds, so 1 s is ample)."""

SHUTDOWN_GRACE_S: Final = 5.0
"""Tasks under way at shutdown get this long to finish before they are cancelled."""


def restart_delay_s(failures: int) -> float:
    """Seconds to wait before restart number ``failures`` (1, 2, ...): doubling, capped."""
    return float(min(FIRST_RESTART_S * 2 ** max(failures - 1, 0), MAX_RESTART_S))


def failures_after(failures: int, ran_s: float) -> int:
    """The failure count after a loop that ran ``ran_s`` seconds failed again."""
    return 1 if ran_s >= HEALTHY_AFTER_S else failures + 1


class LoopState(StrEnum):
    """Where a supervised loop is."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    """It failed and waits for its next start."""
    STOPPED = "stopped"
    """A permanent failure: it is not retried (see ``reason``)."""
    FAILING = "failing"
    """A periodic loop whose last run failed; it runs again at its next interval."""


@dataclass(slots=True)
class LoopStatus:
    """What the supervisor knows of one loop (health reads it)."""

    state: LoopState = LoopState.STARTING
    restarts: int = 0
    reason: str = ""
    since: float = field(default_factory=time.monotonic)


class Supervisor:
    """Owns every background task of the server; :meth:`run` until cancelled."""

    def __init__(self) -> None:
        self._loops: dict[str, Callable[[], Awaitable[None]]] = {}
        self._jobs: list[tuple[str, Callable[[], object]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.status: dict[str, LoopStatus] = {}

    def loop(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` until shutdown, restarting it when it fails."""
        self._loops[name] = factory
        self.status[name] = LoopStatus()

    def every(self, name: str, job: Callable[[], object], interval_s: float) -> None:
        """Run ``job()`` every ``interval_s`` in a loop of its own that a failure never stops.

        For the escalation timers: a backoff would delay a page when the fault clears, so a
        failed run is logged and simply tried again at the next interval.
        """
        self.loop(name, lambda: self._repeat(name, job, interval_s))

    async def _repeat(self, name: str, job: Callable[[], object], interval_s: float) -> None:
        status = self.status[name]
        while True:
            try:
                job()
            except Exception as error:  # task root: log the first failure, retry next interval
                if status.state is not LoopState.FAILING:
                    _LOGGER.exception("%s failed; trying again every %.1f s", name, interval_s)
                status.state, status.reason = LoopState.FAILING, f"{type(error).__name__}: {error}"
            else:
                if status.state is LoopState.FAILING:
                    _LOGGER.warning("%s works again (it failed with %s)", name, status.reason)
                status.state, status.reason = LoopState.RUNNING, ""
            await asyncio.sleep(interval_s)

    def job(self, name: str, job: Callable[[], object]) -> None:
        """Run ``job()`` every :data:`JOB_EVERY_S` (in the ``jobs`` loop)."""
        self._jobs.append((name, job))

    def spawn(self, job: Awaitable[None], name: str) -> None:
        """Run a one-off coroutine, guarded and awaited at shutdown (never fire-and-forget)."""

        async def guarded() -> None:
            try:
                await job
            except Exception:  # task root: one failed task must not go unnoticed or stop others
                _LOGGER.exception("task %s failed", name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Run every loop and the job schedule until cancelled, then stop them all."""
        if self._jobs:
            self.loop("jobs", self._run_jobs)
        try:
            async with asyncio.TaskGroup() as group:
                for name, factory in self._loops.items():
                    group.create_task(self._keep(name, factory), name=name)
        finally:
            await self._stop_tasks()

    async def _keep(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        status = self.status[name]
        failures = 0
        while True:
            started = time.monotonic()
            status.state, status.since = LoopState.RUNNING, started
            try:
                await factory()
                reason = "returned"  # a loop is meant to run until cancelled
            except PermanentFailure as error:
                status.state, status.reason = LoopState.STOPPED, error.reason
                _LOGGER.error("%s stopped for good: %s", name, error.reason)  # noqa: TRY400
                return
            except Exception as error:  # task root: restart the loop, log why it failed
                _LOGGER.exception("%s failed; restarting", name)
                reason = f"{type(error).__name__}: {error}"
            failures = failures_after(failures, time.monotonic() - started)
            delay = restart_delay_s(failures)
            status.state, status.reason, status.since = (
                LoopState.RESTARTING,
                reason,
                time.monotonic(),
            )
            status.restarts += 1
            _LOGGER.warning("%s restarts in %.1f s (%s)", name, delay, reason)
            await asyncio.sleep(delay)

    async def _run_jobs(self) -> None:
        while True:
            for name, job in self._jobs:
                try:
                    job()
                except Exception:  # task root: one failing job must not stop the others
                    _LOGGER.exception("job %s failed", name)
            await asyncio.sleep(JOB_EVERY_S)

    async def _stop_tasks(self) -> None:
        if not self._tasks:
            return
        _, cut = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_S)
        for task in cut:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*cut, return_exceptions=True)

    async def settled(self) -> None:
        """Wait until every one-off task has finished (tests)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)
