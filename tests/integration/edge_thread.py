"""An edge agent with virtual wearables on its own event loop in a thread, for integration tests.

The server runs in Starlette's TestClient (its own thread and loop); the edge needs a loop of its
own beside it. Everything the agent owns (its SQLite outbox included) is created in the edge's
thread and touched only there: the test reaches it through :meth:`EdgeThread.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from edge.agent import EdgeAgent
from edge.config import EdgeConfig, config_from_mapping
from edge.detector import DetectionEvent, EventKind, Severity
from edge.notify_decode import NotificationLink
from edge.outbox import Outbox
from edge.transport import DeviceLink
from odart.links import build_links
from simulators.devices import VirtualWearable
from simulators.framed import FramedWearable

T = TypeVar("T")
# Generous for a loaded 2-core CI machine: these calls normally return in milliseconds.
CALL_TIMEOUT_S = 15.0


class BrokerAddress(Protocol):
    """Where the edge finds its broker (a running MosquittoBroker, or a closed port)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


def edge_config(
    broker: BrokerAddress, outbox: Path, *, people: int = 1, **settings: Any
) -> EdgeConfig:
    """An edge of site ``hostel-1`` with one virtual wearable per resident ``p-000N``.

    Keyword settings go to the config's top level, except ``answers_checkin``,
    ``answer_delay_s`` and ``speed``, which go to every virtual wearable.
    """
    virtual = {
        key: settings.pop(key)
        for key in ("answers_checkin", "answer_delay_s", "speed")
        if key in settings
    }
    return config_from_mapping(
        {
            "site": "hostel-1",
            "edge": "pi-1",
            "outbox": str(outbox),
            "mqtt": {"host": broker.host, "port": broker.port},
            "people": [
                {"participant": f"p-000{n}", "room": f"room-{n + 2}", "devices": [f"wearable-{n}"]}
                for n in range(1, people + 1)
            ],
            "devices": [
                {
                    "id": f"wearable-{n}",
                    "role": "wearable",
                    "link": "virtual",
                    "virtual": {"seed": n, "speed": 10.0, **virtual},
                }
                for n in range(1, people + 1)
            ],
            **settings,
        }
    )


def warning(kind: EventKind = EventKind.RESPIRATORY_DEPRESSION) -> DetectionEvent:
    """A hand-made warning, as the detector would raise for slowed breathing."""
    return DetectionEvent(kind, Severity.WARNING, 60.0, 40.0, {"rate_bpm": 5.0})


def critical(kind: EventKind = EventKind.APNOEA) -> DetectionEvent:
    """A hand-made critical event, as the detector would raise for a long apnoea."""
    return DetectionEvent(kind, Severity.CRITICAL, 60.0, 40.0, {"seconds_since_breath": 20.0})


def virtual_wearables(links: list[DeviceLink]) -> list[VirtualWearable | FramedWearable]:
    """The simulated wearables behind ``links``: framed ones sit behind the decoding link."""
    found: list[VirtualWearable | FramedWearable] = []
    for link in links:
        if isinstance(link, NotificationLink) and isinstance(link.source, FramedWearable):
            found.append(link.source)
        elif isinstance(link, VirtualWearable):
            found.append(link)
    return found


class EdgeThread:
    """Runs an :class:`EdgeAgent` for ``config`` in a thread until closed.

    Attributes:
        agent: the agent (read its plain attributes freely; call its methods via :meth:`call`).
        wearables: the virtual wearables, in config order.
    """

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.agent: EdgeAgent
        self.wearables: list[VirtualWearable | FramedWearable] = []
        self._thread = threading.Thread(target=self._serve, name="edge", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:  # reported to the test thread
            self._error = error
        finally:
            self._ready.set()
            self.loop.close()

    async def _main(self) -> None:
        outbox = Outbox(self.config.outbox)
        links = build_links(self.config)
        self.wearables = virtual_wearables(links)
        self.agent = EdgeAgent(self.config, links, outbox)
        self._task = asyncio.current_task()
        self._ready.set()
        try:
            await self.agent.run()
        finally:
            outbox.close()

    def start(self) -> EdgeThread:
        """Start the thread and wait until the agent exists."""
        self._thread.start()
        if not self._ready.wait(CALL_TIMEOUT_S) or self._error is not None:
            message = f"the edge did not start: {self._error!r}"
            raise RuntimeError(message)
        return self

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the edge's loop and return its result."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(CALL_TIMEOUT_S)

    def await_(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()`` on the edge's loop and return its result."""

        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(CALL_TIMEOUT_S)

    def outbox_size(self) -> int:
        """Messages waiting for the server's ack."""
        return self.call(lambda: len(self.agent.outbox))

    def close(self) -> None:
        """Cancel the agent and wait for the thread."""
        task = self._task
        if task is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                self.loop.call_soon_threadsafe(task.cancel)
        self._thread.join(CALL_TIMEOUT_S)
        if isinstance(self._error, Exception):
            raise self._error

    def __enter__(self) -> EdgeThread:
        return self if self._thread.is_alive() else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def now() -> datetime:
    """UTC now (for timing checks against the server's timestamps)."""
    return datetime.now(UTC)
