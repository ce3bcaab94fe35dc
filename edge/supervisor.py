"""Link supervision: a pure backoff classifier, a no-data watchdog and the restart loop (shell).

The policy is explicit code: :func:`next_delay_s` maps a failure to a delay or to "give up"
(capped exponential backoff with jitter, as bleak-retry-connector's ``calculate_backoff_time``
but for the long horizon of a wearable walking out of range and back), :class:`Watchdog` turns
silence into a failure, and :func:`supervise` runs one device session after another, turning
every loss into a :class:`~edge.transport.DeviceStatus` instead of an exception.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from edge.transport import DeviceStatus, LinkEvent
from firmware_bridge.wire import DeviceState

_LOGGER = logging.getLogger(__name__)

# First retry after half a second: long enough for BlueZ to clean up a dropped connection,
# short enough that a wearable flickering at the edge of range is back within a breath or two.
DEFAULT_BASE_S: Final = 0.5
# Cap at 30 s: a wearable out of range for minutes is retried twice a minute, which costs
# little radio time yet bounds the data gap once it returns (ble.md §7.2: cap 30-60 s).
DEFAULT_CAP_S: Final = 30.0
# A session that stayed up this long was healthy; the next failure starts backoff afresh.
DEFAULT_HEALTHY_AFTER_S: Final = 30.0
# Jitter keeps several wearables that dropped together from reconnecting in lockstep; the delay
# is scaled into [0.5, 1.0) of the exponential step ("equal jitter").
_JITTER_FLOOR: Final = 0.5
# 2**64 times any sane base is far beyond any cap.
_MAX_EXPONENT: Final = 64


class LinkLost(Exception):
    """A transient loss: the device dropped, the port vanished, a read failed. Retried."""


class LinkSilent(LinkLost):
    """The watchdog fired: connected, but no data for too long. Retried after a reconnect."""


class PermanentLinkError(Exception):
    """A failure retrying cannot fix (a device without the expected service, a bad port name)."""


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How fast to retry.

    Attributes:
        base_s: the first delay before jitter.
        cap_s: the largest delay before jitter.
        healthy_after_s: a session up this long resets the attempt count.
    """

    base_s: float = DEFAULT_BASE_S
    cap_s: float = DEFAULT_CAP_S
    healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s:
            message = f"need 0 < base_s <= cap_s, got {self.base_s}, {self.cap_s}"
            raise ValueError(message)


def backoff_delay_s(attempt: int, policy: BackoffPolicy, jitter: float) -> float:
    """The delay before retry number ``attempt`` (0 = first retry).

    Args:
        attempt: failures in a row so far, minus one.
        policy: base and cap.
        jitter: a uniform draw in [0, 1).

    Returns:
        ``min(cap, base * 2**attempt) * (0.5 + jitter / 2)``.
    """
    if attempt < 0 or not 0 <= jitter < 1:
        message = f"need attempt >= 0 and 0 <= jitter < 1, got {attempt}, {jitter}"
        raise ValueError(message)
    # Clamp the exponent: far past the cap, 2**attempt would only grow a huge float.
    step = min(policy.cap_s, policy.base_s * 2.0 ** min(attempt, _MAX_EXPONENT))
    return step * (_JITTER_FLOOR + (1 - _JITTER_FLOOR) * jitter)


def next_delay_s(
    error: BaseException, attempt: int, policy: BackoffPolicy, jitter: float
) -> float | None:
    """Classify a session failure: a delay to retry after, or ``None`` to give up."""
    if isinstance(error, PermanentLinkError):
        return None
    return backoff_delay_s(attempt, policy, jitter)


class Watchdog:
    """Fires when nothing was fed for ``timeout_s`` (pure: the caller passes the time)."""

    __slots__ = ("_last_s", "timeout_s")

    def __init__(self, timeout_s: float, now_s: float) -> None:
        """Arm the watchdog at ``now_s``."""
        if timeout_s <= 0:
            message = f"timeout_s must be positive, got {timeout_s}"
            raise ValueError(message)
        self.timeout_s = timeout_s
        self._last_s = now_s

    def feed(self, now_s: float) -> None:
        """Data arrived at ``now_s``."""
        self._last_s = now_s

    def remaining_s(self, now_s: float) -> float:
        """Time left before the watchdog fires (0 once it has)."""
        return max(0.0, self._last_s + self.timeout_s - now_s)

    def expired(self, now_s: float) -> bool:
        """The watchdog has fired."""
        return self.remaining_s(now_s) == 0.0


Session = Callable[[], AsyncIterator[LinkEvent]]


async def supervise(
    device_id: str,
    session: Session,
    *,
    policy: BackoffPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    jitter: Callable[[], float] = random.random,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[LinkEvent]:
    """Run ``session()`` again and again, yielding its events and a status after every loss.

    A session yields its own ``CONNECTED`` status once it is streaming, and ends or raises when
    the link is lost. :class:`LinkSilent` becomes ``NO_DATA``; any other loss ``DISCONNECTED``.
    :class:`PermanentLinkError` is re-raised after reporting ``DISCONNECTED``.

    Args:
        device_id: the enrolled device, for statuses and logs.
        session: starts one connection and yields its events.
        policy: backoff settings.
        clock: monotonic seconds, for statuses and the healthy-session reset.
        jitter: uniform draws in [0, 1) for the backoff.
        sleep: how to wait (tests pass a fake).
    """
    policy = policy or BackoffPolicy()
    attempt = 0
    while True:
        started_s = clock()
        error: Exception = LinkLost("session ended")
        try:
            async for event in session():
                yield event
        except (LinkLost, PermanentLinkError) as exc:
            error = exc
        except Exception as exc:  # task root of one session: any failure is a lost link
            _LOGGER.exception("device %s: session failed", device_id)
            error = exc
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # A library may turn our cancellation into its own error while closing: stop, never
            # retry (a swallowed cancel would keep a withdrawn device connected).
            raise asyncio.CancelledError
        state = DeviceState.NO_DATA if isinstance(error, LinkSilent) else DeviceState.DISCONNECTED
        yield DeviceStatus(device_id, state, clock())
        if clock() - started_s >= policy.healthy_after_s:
            attempt = 0
        delay = next_delay_s(error, attempt, policy, jitter())
        if delay is None:
            raise error
        _LOGGER.info("device %s: %s (%s); retrying in %.1f s", device_id, state.value, error, delay)
        attempt += 1
        await sleep(delay)
