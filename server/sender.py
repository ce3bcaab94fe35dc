"""The sender: drains the durable send queue, one task per push, and records each result (shell).

Rows are taken oldest first (:mod:`server.store.pushes`); each is sent through the
:class:`~server.notify.Notifier` and finished in one transaction with its channel attempts. A row
whose result cannot be written (the disk is full) stays pending and is tried again after
:data:`HOLD_S`; a row cut off by a crash is still pending at the next start and is sent again.
When the last page of a level fails on every channel, ``on_nobody_reached`` is told at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from server.config import ResponderConfig
from server.dispatch import Dispatcher
from server.domain.alerts import Push
from server.live import LiveHub
from server.notify.base import Delivery, Notifier
from server.store.pushes import Purpose, PushQueue, PushState, QueuedPush

_LOGGER = logging.getLogger(__name__)

POLL_S: Final = 1.0
"""Queue poll when nothing wakes the sender: a push queued by another path waits at most this."""

MAX_IN_FLIGHT: Final = 16
"""Pushes sent at once: a mass escalation goes out in parallel, a slow provider cannot pile up."""

HOLD_S: Final = 5.0
"""A push whose result could not be written waits this long before it is tried again."""

SHUTDOWN_GRACE_S: Final = 5.0
"""Shutdown lets sends under way finish this long; a cut-off one stays pending and is resent."""


class Sender:
    """Delivers queued pushes.

    Args:
        queue: the send queue.
        dispatcher: looks up a row's responder (their channels live in the settings).
        notifier: how a push is sent.
        hub: live updates for panels.
        now: the wall clock.
        on_nobody_reached: called with a failed page when every page of its level failed.
        on_result: called with each push's result (``sent``, ``failed``), for metrics.
    """

    def __init__(
        self,
        queue: PushQueue,
        dispatcher: Dispatcher,
        notifier: Notifier,
        hub: LiveHub,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        on_nobody_reached: Callable[[QueuedPush], None] | None = None,
        on_result: Callable[[QueuedPush, PushState], None] | None = None,
    ) -> None:
        self._queue = queue
        self._dispatcher = dispatcher
        self._notifier = notifier
        self._hub = hub
        self._now = now
        self.on_nobody_reached = on_nobody_reached
        """Told when the last page of a level failed on every channel (escalate, tell staff)."""
        self._on_result = on_result
        self._wake = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._held: dict[int, float] = {}
        self.running = False
        """True while the drain loop runs (health)."""
        self.last_error = ""
        """The last reason a result could not be written, cleared by the next success."""

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Pushes being sent right now."""
        return len(self._in_flight)

    async def run(self) -> None:
        """Drain the queue until cancelled; sends under way get a short grace at shutdown."""
        try:
            while True:
                self._wake.clear()
                self._start_due()
                self.running = True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_S):
                        await self._wake.wait()
        finally:
            self.running = False
            await self._stop_in_flight()

    def _start_due(self) -> None:
        now = time.monotonic()
        self._held = {seq: until for seq, until in self._held.items() if until > now}
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        skip = [*self._in_flight, *self._held]
        for queued in self._queue.pending(skip, limit=room):
            task = asyncio.get_running_loop().create_task(
                self._deliver(queued), name=f"push {queued.key}"
            )
            self._in_flight[queued.seq] = task
            task.add_done_callback(functools.partial(self._done, queued.seq))

    def _done(self, seq: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(seq, None)
        self._wake.set()

    async def _stop_in_flight(self) -> None:
        tasks = list(self._in_flight.values())
        if not tasks:
            return
        _, cut = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)

    async def _deliver(self, queued: QueuedPush) -> None:
        responder = self._dispatcher.responder(queued.responder_id)
        if responder is None:
            deliveries = [Delivery(queued.responder_id, "none", ok=False, detail="not configured")]
        else:
            try:
                deliveries = await self._notifier.send(responder, queued.push)
            except Exception:  # task root: one failed send must not stop the others
                _LOGGER.exception("sending %s failed", queued.key)
                deliveries = [Delivery(queued.responder_id, "error", ok=False, detail="raised")]
        try:
            state = self._queue.finish(queued, deliveries, self._now())
        except sqlite3.Error as error:
            # Sent (or not) but not recorded: keep the row pending and send again later; the
            # key lets the phone show a repeat once.
            self.last_error = str(error)
            self._held[queued.seq] = time.monotonic() + HOLD_S
            _LOGGER.error(  # noqa: TRY400 - the cause (a full disk) is in the message
                "could not record push %s (%s); will send it again", queued.key, error
            )
            return
        self.last_error = ""
        for delivery in deliveries:
            self._hub.publish({"type": "delivery", "id": queued.alert_id, "ok": delivery.ok})
        try:
            self._after(queued, state)
        except Exception:  # task root: the push is recorded; what follows must not be lost quietly
            _LOGGER.exception("after push %s", queued.key)

    def _after(self, queued: QueuedPush, state: PushState) -> None:
        if self._on_result is not None:
            self._on_result(queued, state)
        if state is not PushState.FAILED:
            return
        _LOGGER.warning("push %s failed on every channel", queued.key)
        if queued.purpose is Purpose.PAGE and self.on_nobody_reached is not None:
            outcome = self._queue.level_outcome(queued.alert_id, queued.level, queued.cycle)
            if outcome.nobody_reached:
                self.on_nobody_reached(queued)

    async def send_now(self, planned: list[tuple[ResponderConfig, Push]]) -> None:
        """Send unqueued pushes once, best effort (a server notice when nothing can be stored)."""
        reached = 0
        for responder, push in planned:
            try:
                deliveries = await self._notifier.send(responder, push)
            except Exception:  # task root: best effort, the failure is logged
                _LOGGER.exception("server notice to %s failed", responder.id)
                continue
            reached += any(d.ok for d in deliveries)
        _LOGGER.warning("server notice reached %d of %d", reached, len(planned))

    async def idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until nothing is pending or in flight (tests, benchmarks); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._in_flight and not self._queue.pending(limit=1):
                return True
            self.wake()
            await asyncio.sleep(0.05)
        return False
