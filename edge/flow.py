"""Publishing flow: a bounded window in flight, ack deadlines set by the server's pace (pure).

The publisher keeps at most :data:`WINDOW` messages published and not yet acknowledged by the
server (alerts get :data:`ALERT_RESERVE` more, so a full window of routine messages never holds
an alert back). A message is published again only when its ack deadline passes; the deadline
grows with the messages ahead of it divided by the rate at which the server is acking now, and
doubles with every resend. So a slow server slows the edge down instead of drawing more traffic,
and a server that stops acking is asked again less and less often. After a reconnect everything
is due at once (the caller :meth:`Flow.reset`s). The reasons are in docs/wire.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

WINDOW: Final = 100
"""Messages in flight at once. At a loopback round trip of ~1 ms this allows ~100,000 msg/s and
over 50 ms of Wi-Fi still 2,000 msg/s, far above any site's rate; yet an alert queued at the
server behind a full window waits for at most 100 messages (~0.1 s at the measured ~950 msg/s
ingest)."""

ALERT_RESERVE: Final = 20
"""Extra slots only alerts and their updates may use."""

ACK_TIMEOUT_MIN_S: Final = 10.0
"""The shortest wait for an ack: the app round trip is ~1 ms on loopback and well under a second
over Wi-Fi, so 10 s without an ack means the message (or the server) is genuinely lost."""

ACK_TIMEOUT_MAX_S: Final = 300.0
"""The longest wait between two publishes of one message on a live connection."""

RATE_FLOOR_HZ: Final = 10.0
"""The slowest ack rate assumed when estimating the wait for the backlog ahead (a server that
stopped acking would otherwise make the deadline infinite)."""

RATE_SPAN_S: Final = 5.0
"""The ack rate is the acks counted over the last 5 s: long enough to smooth bursts."""


def ack_timeout_s(ahead: int, ack_rate_hz: float, resends: int) -> float:
    """How long to wait for the ack of a message published behind ``ahead`` others.

    Args:
        ahead: messages in flight before this one (the server works through them first).
        ack_rate_hz: the rate at which the server has been acking lately.
        resends: how many times this message was already published on this connection, minus one.

    Returns:
        ``(ACK_TIMEOUT_MIN_S + ahead / rate) * 2**resends``, capped at ``ACK_TIMEOUT_MAX_S``.
    """
    if ahead < 0 or resends < 0:
        message = f"need ahead >= 0 and resends >= 0, got {ahead}, {resends}"
        raise ValueError(message)
    wait_s = ACK_TIMEOUT_MIN_S + ahead / max(ack_rate_hz, RATE_FLOOR_HZ)
    return float(min(wait_s * 2.0 ** min(resends, 16), ACK_TIMEOUT_MAX_S))


@dataclass(frozen=True, slots=True)
class Flight:
    """One message published and waiting for its ack."""

    msg_id: str
    alert: bool
    sent_s: float
    deadline_s: float
    resends: int


class Flow:
    """Which messages are in flight, how many more may go, and which are overdue (pure).

    Args:
        window: routine messages in flight at once.
        alert_reserve: extra slots for alert traffic.
    """

    def __init__(self, window: int = WINDOW, alert_reserve: int = ALERT_RESERVE) -> None:
        if window < 1 or alert_reserve < 0:
            message = f"need window >= 1 and alert_reserve >= 0, got {window}, {alert_reserve}"
            raise ValueError(message)
        self.window = window
        self.alert_reserve = alert_reserve
        self._flights: dict[str, Flight] = {}
        self._acks: deque[float] = deque()
        self.resent = 0
        """Publishes after the first on the same connection (ack timeouts)."""

    def __len__(self) -> int:
        return len(self._flights)

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._flights

    def ids(self) -> set[str]:
        """The ids in flight."""
        return set(self._flights)

    def free(self, *, alert: bool) -> int:
        """How many more messages of this kind may be published now."""
        limit = self.window + (self.alert_reserve if alert else 0)
        return max(limit - len(self._flights), 0)

    def ack_rate_hz(self, now_s: float) -> float:
        """Acks per second over the last :data:`RATE_SPAN_S`."""
        while self._acks and self._acks[0] < now_s - RATE_SPAN_S:
            self._acks.popleft()
        return len(self._acks) / RATE_SPAN_S

    def sent(self, msg_id: str, now_s: float, *, alert: bool) -> Flight:
        """Record a publish of ``msg_id`` (first or again) and set its ack deadline."""
        before = self._flights.pop(msg_id, None)
        resends = 0 if before is None else before.resends + 1
        self.resent += before is not None
        ahead = len(self._flights)
        deadline_s = now_s + ack_timeout_s(ahead, self.ack_rate_hz(now_s), resends)
        flight = Flight(msg_id, alert, now_s, deadline_s, resends)
        self._flights[msg_id] = flight
        return flight

    def acked(self, msg_id: str, now_s: float) -> Flight | None:
        """The server acked ``msg_id``; returns its flight if it was in flight."""
        self._acks.append(now_s)
        self.ack_rate_hz(now_s)  # trims the old ones
        return self._flights.pop(msg_id, None)

    def overdue(self, now_s: float) -> list[Flight]:
        """Flights whose deadline has passed, alerts first, then oldest first."""
        late = [f for f in self._flights.values() if f.deadline_s <= now_s]
        late.sort(key=lambda f: (not f.alert, f.msg_id))
        return late

    def next_deadline_s(self) -> float | None:
        """When the next ack deadline passes (None with nothing in flight)."""
        return min((f.deadline_s for f in self._flights.values()), default=None)

    def forget(self, msg_id: str) -> None:
        """Stop tracking ``msg_id`` (it left the outbox another way)."""
        self._flights.pop(msg_id, None)

    def reset(self) -> None:
        """A new connection: nothing is in flight on it yet, so everything is due again."""
        self._flights.clear()
