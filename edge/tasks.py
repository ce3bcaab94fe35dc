"""The edge's task supervisor: owns every loop, restarts failed ones, reports each (shell).

Every loop of the agent (publisher, device links, detector watchdog, check-in timer, buzz
writer, outbox keeper, health writer) is started through one :class:`TaskSupervisor`. A loop
that fails is logged and started again after a backoff (:func:`edge.supervisor.backoff_delay_s`)
that starts afresh once a run stayed up for a healthy period; a loop that fails permanently
(refused credentials, a device that can never work) is reported and left stopped, and the rest
of the edge keeps running. Leaving the ``async with`` block cancels every task and awaits it, so
nothing is left running at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Final

from edge.supervisor import BackoffPolicy, backoff_delay_s

_LOGGER = logging.getLogger(__name__)

RESTART_POLICY: Final = BackoffPolicy(base_s=1.0, cap_s=60.0, healthy_after_s=60.0)
"""A failed loop restarts after ~1 s, doubling to a minute: a bug that fails at once costs
little CPU, yet a loop that hit a passing fault is back within a second. A run that lasted a
minute was healthy, so its next failure starts from a second again."""

STOP_WAIT_S: Final = 10.0
"""How long shutdown waits for cancelled tasks before it logs them and goes on."""


class TaskState(StrEnum):
    """What one supervised loop is doing."""

    RUNNING = "running"
    RESTARTING = "restarting"
    """It failed and waits for its backoff before the next run."""
    FAILED = "failed"
    """It failed permanently and will not be restarted."""
    STOPPED = "stopped"
    """It ended (or was cancelled) as intended."""


@dataclass(slots=True)
class Component:
    """One supervised loop and how it has fared."""

    name: str
    state: TaskState = TaskState.RUNNING
    restarts: int = 0
    error: str | None = None

    def report(self) -> dict[str, object]:
        """Its state for the health file."""
        return {"state": self.state.value, "restarts": self.restarts, "error": self.error}


Factory = Callable[[], Awaitable[None]]


def describe(error: BaseException) -> str:
    """A short text for an error; a group lists its members."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in error.exceptions)
    return f"{type(error).__name__}: {error}"


def is_permanent(error: BaseException, permanent: tuple[type[BaseException], ...]) -> bool:
    """Whether ``error`` (or every error of a group) is one that retrying cannot fix."""
    if isinstance(error, BaseExceptionGroup):
        return all(is_permanent(inner, permanent) for inner in error.exceptions)
    return isinstance(error, permanent)


class TaskSupervisor:
    """Starts, restarts and finally cancels the edge's loops.

    Args:
        permanent: exception types that are not retried.
        policy: restart backoff.
        clock: monotonic seconds.
        jitter: uniform draws in [0, 1) for the backoff.
        sleep: how to wait between runs (tests pass one that records the delays).
    """

    def __init__(
        self,
        *,
        permanent: tuple[type[BaseException], ...] = (),
        policy: BackoffPolicy = RESTART_POLICY,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._permanent = permanent
        self._sleep = sleep
        self._policy = policy
        self._clock = clock
        self._jitter = jitter
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.components: dict[str, Component] = {}
        self._open = False

    async def __aenter__(self) -> TaskSupervisor:
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        await self.stop_all()

    def start(self, name: str, factory: Factory, *, restart: bool = True) -> asyncio.Task[None]:
        """Run ``factory()`` as the loop ``name``, again after each failure if ``restart``.

        Cancelling the returned task stops the loop for good (as at shutdown).
        """
        if not self._open:
            message = "start() is only allowed inside 'async with TaskSupervisor()'"
            raise RuntimeError(message)
        component = Component(name)
        self.components[name] = component
        task = asyncio.create_task(self._keep(component, factory, restart=restart), name=name)
        self._tasks[name] = task
        task.add_done_callback(lambda done: self._forget(component, done))
        return task

    def _forget(self, component: Component, task: asyncio.Task[None]) -> None:
        if task.cancelled():  # possibly before it ever ran
            component.state = TaskState.STOPPED
        if self._tasks.get(component.name) is task:
            del self._tasks[component.name]

    async def _keep(self, component: Component, factory: Factory, *, restart: bool) -> None:
        attempt = 0
        while True:
            component.state = TaskState.RUNNING
            started_s = self._clock()
            try:
                await factory()
            except asyncio.CancelledError:
                component.state = TaskState.STOPPED
                raise
            except Exception as error:  # task root: every failure is classified and logged
                component.error = describe(error)
                if is_permanent(error, self._permanent):
                    component.state = TaskState.FAILED
                    _LOGGER.error(  # noqa: TRY400 - reported plainly, it is not a bug
                        "%s stopped for good: %s", component.name, component.error
                    )
                    return
                _LOGGER.exception("%s failed", component.name)
            else:
                if not restart:
                    component.state = TaskState.STOPPED
                    return
                component.error = "returned unexpectedly"
                _LOGGER.error("%s returned unexpectedly", component.name)
            if not restart:
                component.state = TaskState.FAILED
                return
            if self._clock() - started_s >= self._policy.healthy_after_s:
                attempt = 0  # that run was healthy: back off from the start again
            delay_s = backoff_delay_s(attempt, self._policy, self._jitter())
            attempt += 1
            component.restarts += 1
            component.state = TaskState.RESTARTING
            _LOGGER.warning("%s restarts in %.1f s", component.name, delay_s)
            await self._sleep(delay_s)

    def report(self) -> dict[str, dict[str, object]]:
        """Every loop's state, for the health file."""
        return {name: c.report() for name, c in sorted(self.components.items())}

    def down(self) -> list[str]:
        """Loops that failed and are not running now."""
        bad = (TaskState.FAILED, TaskState.RESTARTING)
        return sorted(name for name, c in self.components.items() if c.state in bad)

    async def stop_all(self, timeout_s: float = STOP_WAIT_S) -> int:
        """Cancel every loop and wait for them; returns how many were still running after."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if not tasks:
            return 0
        _, late = await asyncio.wait(tasks, timeout=timeout_s)
        for task in late:
            _LOGGER.error("task %s did not stop within %.0f s", task.get_name(), timeout_s)
        return len(late)
