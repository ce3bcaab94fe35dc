"""Each resident's runtime at the edge: detector, device-link task, check-in and buzzer (shell).

A :class:`Resident` holds what the agent keeps for one person while they are monitored: their
detector (and so every signal buffer), the task running their device links, and their check-in.
:class:`BuzzWriter` is the one task that writes buzz on/off to residents' wearables, so a slow
or absent wearable never stalls the detector.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from edge.checkin import CheckIn
from edge.detector import Detector
from edge.transport import Buzzer, DeviceLink
from firmware_bridge import AlertLevel

_LOGGER = logging.getLogger(__name__)

BUZZ_LEVEL: Final = AlertLevel.HIGH_ALERT
"""The check-in asks someone who may be drowsy from opioids: the strongest alert the Immediate
Alert Service has (IAS 1.0 §3.1: 0 none, 1 mild, 2 high)."""

BUZZ_RETRY_S: Final = 1.0
"""A buzz the wearable did not take (not connected) is retried this often while the check-in is
open, so a wearable that reconnects during the window still asks its wearer."""

SILENCE_WAIT_S: Final = 1.0
"""Bound on stopping a withdrawn resident's buzz before their devices are disconnected: a write
without response on a live link takes a connection interval or two, and the consent deadline
(5 s) must hold even for a wearable that hangs."""

STOP_WAIT_S: Final = 3.5
"""How long a consent change waits for a resident's links to wind down: the contract allows 5 s
from receipt to stopped (docs/wire.md), less the time given to stopping the buzz; a BLE
disconnect normally takes well under a second."""


@dataclass(slots=True, eq=False)
class Resident:
    """A resident: pseudonym, room, devices, and while monitored, a detector and a link task.

    Attributes:
        participant: the pseudonymous id (the only name that reaches a log).
        room: the resident's room id, if known.
        links: the links of their devices.
        detector: their detector while monitored; ``None`` otherwise (nothing kept).
        task: the task running their links while monitored.
        checkin: their check-in with the wearer.
        buzz_wanted: whether their wearables should be buzzing.
        buzz_written: what was last written to them successfully.
        blocks: sample blocks their detector has been fed.
        last_sample_s: see the attribute.
        last_sample_at_s: see the attribute.
    """

    participant: str
    room: str | None
    links: list[DeviceLink]
    detector: Detector | None = None
    task: asyncio.Task[None] | None = None
    checkin: CheckIn = field(default_factory=CheckIn)
    buzz_wanted: bool = False
    buzz_written: bool = False
    blocks: int = 0
    last_sample_s: float | None = None
    """End of the newest block fed to the detector, on the devices' sample clock."""
    last_sample_at_s: float = 0.0
    """When that block arrived, on the agent's monotonic clock."""

    def sample_clock_now(self, clock_now_s: float) -> float | None:
        """The devices' sample clock now: the newest block's end plus the time since it came."""
        if self.last_sample_s is None:
            return None
        return self.last_sample_s + max(clock_now_s - self.last_sample_at_s, 0.0)

    @property
    def monitored(self) -> bool:
        """Whether the edge looks at this resident's data now."""
        return self.detector is not None

    @property
    def buzzers(self) -> list[Buzzer]:
        """The resident's devices that can ask them "are you OK?" (buzz, and hear the button)."""
        return [link for link in self.links if isinstance(link, Buzzer) and link.checkin_possible]

    def halt(self) -> asyncio.Task[None] | None:
        """Stop monitoring now: drop the detector and cancel the links; return the task to await."""
        self.detector = None  # the detector and every buffer in it go with it
        return self.stop_links()

    def stop_links(self) -> asyncio.Task[None] | None:
        """Cancel the task running the links (the detector stays); return the task to await."""
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
        return task


async def write_buzz(resident: Resident, *, on: bool) -> bool:
    """Buzz (or stop buzzing) every wearable of ``resident``; True if any took it."""
    level = BUZZ_LEVEL if on else AlertLevel.NO_ALERT
    taken = False
    for buzzer in resident.buzzers:
        try:
            taken = await buzzer.alert(level) or taken
        except Exception:  # callback dispatch: a misbehaving wearable must not stop the others
            _LOGGER.exception("could not buzz a wearable of %s", resident.participant)
    # A wearable that is not connected is not buzzing for us: "off" needs no retry.
    if taken or not on:
        resident.buzz_written = on
    return taken


async def silence(resident: Resident, timeout_s: float = SILENCE_WAIT_S) -> None:
    """Stop ``resident``'s wearables buzzing, if they were, giving up after ``timeout_s``."""
    resident.buzz_wanted = False
    if resident.buzz_written:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await write_buzz(resident, on=False)


async def wait_stopped(tasks: Iterable[asyncio.Task[None]], timeout_s: float = STOP_WAIT_S) -> int:
    """Wait for cancelled link tasks to finish; return how many were still running at the end."""
    pending = list(tasks)
    if not pending:
        return 0
    _, late = await asyncio.wait(pending, timeout=timeout_s)
    if late:
        _LOGGER.error("%d device link task(s) still stopping after %.0f s", len(late), timeout_s)
    return len(late)


class BuzzWriter:
    """The one task that makes each resident's wearables buzz as their check-in wants.

    Args:
        residents: called for the current residents on every pass.
    """

    def __init__(self, residents: Callable[[], Iterable[Resident]]) -> None:
        self._residents = residents
        self._wake = asyncio.Event()

    def want(self, resident: Resident, *, on: bool) -> None:
        """Ask for ``resident``'s wearables to buzz (or stop)."""
        if resident.buzz_wanted != on:
            resident.buzz_wanted = on
            self._wake.set()

    async def run(self) -> None:
        """Write what is wanted until cancelled; retry an unanswered buzz every second."""
        while True:
            self._wake.clear()
            for resident in self._residents():
                if resident.buzz_wanted != resident.buzz_written:
                    await write_buzz(resident, on=resident.buzz_wanted)
            retry = any(r.buzz_wanted and not r.buzz_written for r in self._residents())
            with contextlib.suppress(TimeoutError):  # not wait_for: see Publisher._drain
                async with asyncio.timeout(BUZZ_RETRY_S if retry else None):
                    await self._wake.wait()
