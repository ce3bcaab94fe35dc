"""Session lifetime rules: idle and absolute expiry, and when to record activity (pure).

The shell (:mod:`server.store.users`) mints 256-bit tokens, keeps only their SHA-256 and asks
these rules whether a session still stands (ASVS 7.3.1 idle, 7.3.2 absolute timeouts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

IDLE_S: Final = 1800.0
"""30 min without a request ends a session. ASVS suggests 15 min; staff step away from the desk
during a rounds check and must not be logged out mid-incident, so 30 min is the default."""
ABSOLUTE_S: Final = 12 * 3600.0
"""12 h: one shift, then log in again (ASVS 7.3.2 absolute lifetime)."""
TOUCH_EVERY_S: Final = 60.0
"""Write ``seen_at`` at most once a minute: a board polling every few seconds must not turn the
single SQLite writer into a session-table writer."""


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lasts; seconds.

    Attributes:
        idle_s: ends after this long without a request.
        absolute_s: ends this long after login whatever happens.
    """

    idle_s: float = IDLE_S
    absolute_s: float = ABSOLUTE_S

    def __post_init__(self) -> None:
        if not 0 < self.idle_s <= self.absolute_s:
            message = "need 0 < idle_s <= absolute_s"
            raise ValueError(message)

    def expired(self, created_at: datetime, seen_at: datetime, now: datetime) -> str | None:
        """Why the session has ended at ``now``, or None if it still stands."""
        if now - created_at >= timedelta(seconds=self.absolute_s):
            return "the session reached its maximum age; log in again"
        if now - seen_at >= timedelta(seconds=self.idle_s):
            return "the session was idle too long; log in again"
        return None

    def should_touch(self, seen_at: datetime, now: datetime) -> bool:
        """Whether to record activity now (throttled to spare the single writer)."""
        return now - seen_at >= timedelta(seconds=TOUCH_EVERY_S)


def token_digest(token: str) -> str:
    """What the database keeps of a session token: a leaked table cannot log anyone in."""
    return hashlib.sha256(token.encode()).hexdigest()
