"""Login throttling: failed attempts per account and per address in a sliding window (pure).

ASVS 6.1.1 / 6.3.1: slow down guessing without letting an attacker lock a responder out for
long. Only failures count; a success clears the account's failures. Time is a parameter.

Checking and counting are one step (:meth:`LoginLimiter.begin`): an attempt is counted as a
failure *before* the slow password check and taken back if it succeeds. Checking first and
counting after would let a burst of parallel guesses all pass the check while every one of them
is still hashing.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

WINDOW_S: Final = 60.0
"""Failures older than a minute are forgotten (the ASVS test: 6th failure in a minute -> 429)."""
PER_ACCOUNT: Final = 5
"""Five wrong passwords a minute is more than a person mistypes; a lockout lasts < 1 min."""
PER_ADDRESS: Final = 20
"""A hostel shares one NAT address; 20 a minute lets a whole shift mistype while stopping a
scripted guesser spraying many accounts from one address."""
MAX_KEYS: Final = 10_000
"""Bound on tracked keys so a flood of random usernames cannot grow memory without end."""


@dataclass
class LoginLimiter:
    """Counts failed logins; asks whether another attempt may go ahead."""

    window_s: float = WINDOW_S
    per_account: int = PER_ACCOUNT
    per_address: int = PER_ADDRESS
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, username: str, address: str, now: float) -> int:
        """Seconds to wait before trying again (0: go ahead)."""
        waits = [
            self._wait(f"u:{username}", self.per_account, now),
            self._wait(f"a:{address}", self.per_address, now),
        ]
        return max(waits)

    def begin(self, username: str, address: str, now: float) -> int:
        """Check and count an attempt at once: seconds to wait (nothing counted), or 0.

        A 0 means go ahead; the attempt already counts as a failure until :meth:`succeeded`.
        """
        wait = self.retry_after(username, address, now)
        if wait == 0:
            self.failed(username, address, now)
        return wait

    def failed(self, username: str, address: str, now: float) -> None:
        """Count one failed attempt against both keys."""
        if len(self._failures) >= MAX_KEYS:
            self._prune(now)
        for key in (f"u:{username}", f"a:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, address: str | None = None, at: float | None = None) -> None:
        """A correct login clears the account's failures, and takes back the address's count
        for the attempt begun at ``at`` (other failures from the address stay)."""
        self._failures.pop(f"u:{username}", None)
        times = self._failures.get(f"a:{address}") if address is not None else None
        if times is not None and at is not None:
            with contextlib.suppress(ValueError):
                times.remove(at)

    def _wait(self, key: str, limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) < limit:
            return 0
        return max(1, math.ceil(times[-limit] + self.window_s - now))

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            times = self._failures[key]
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if not times:
                del self._failures[key]
        if len(self._failures) >= MAX_KEYS:
            self._failures.clear()  # a flood: forget rather than grow; per-try cost stays Argon2
