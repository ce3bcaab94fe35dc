"""Whether a resident's sensors could see their breathing (pure).

The edge's detector says so itself: a ``no_signal`` alert when a sensor cannot see breathing
(removed, silent, or breathing under its noise floor) and a ``recovered`` alert with
``cleared = no_signal`` once it has seen breathing again for a while, dated from when it came
back. Both carry the detector's ``source`` (``wearable``, ``radar``). Pairing them gives the
stretches in which an apnoea could be paged late or not at all: staff see a sensor that cannot
see breathing on the board, and how much of the day that was on the resident's page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from firmware_bridge.wire import AlertKind
from server.domain.alerts import Alert
from server.domain.lifecycle import Outcome

UNKNOWN_SOURCE = "unknown"
"""The source of a warning whose evidence names none (an older edge)."""


def source_of(alert: Alert) -> str:
    """The detector source an alert is about (``wearable``, ``radar``, ...)."""
    source = alert.evidence.get("source")
    return source if isinstance(source, str) and source else UNKNOWN_SOURCE


def ends_warning(alert: Alert) -> bool:
    """Whether ``alert`` says a sensor that could not see breathing can see it again."""
    return alert.kind is AlertKind.RECOVERED and alert.evidence.get("cleared") == "no_signal"


RECOVERY_OUTCOMES: dict[str, Outcome] = {
    AlertKind.NO_SIGNAL.value: Outcome.RECONNECTED,
    AlertKind.APNOEA.value: Outcome.BREATHING_RESTORED,
    AlertKind.RESPIRATORY_DEPRESSION.value: Outcome.BREATHING_RESTORED,
    AlertKind.DESATURATION.value: Outcome.BREATHING_RESTORED,
    AlertKind.STILLNESS.value: Outcome.OCCUPANT_OK,
    AlertKind.PROLONGED_OCCUPANCY.value: Outcome.SPACE_EMPTY,
}
"""What a ``recovered`` alert itself is closed with, by what it cleared: it is news, not a task
(left open, every recovery would stay on the board's list of open alerts for good)."""


def recovery_outcome(recovered: Alert) -> Outcome:
    """The outcome a ``recovered`` alert is closed with once it has been applied."""
    cleared = recovered.evidence.get("cleared")
    return (
        RECOVERY_OUTCOMES.get(cleared, Outcome.OTHER) if isinstance(cleared, str) else Outcome.OTHER
    )


def answered(recovered: Alert, warnings: Iterable[Alert]) -> list[Alert]:
    """The ``no_signal`` warnings among ``warnings`` that ``recovered`` ends.

    Those of the same resident and site, about the same source, raised no later than the
    recovery was detected. Empty when ``recovered`` does not end a warning.
    """
    if not ends_warning(recovered) or recovered.participant_id is None:
        return []
    return [
        w
        for w in warnings
        if w.kind is AlertKind.NO_SIGNAL
        and w.site_id == recovered.site_id
        and w.participant_id == recovered.participant_id
        and source_of(w) == source_of(recovered)
        and w.detected_at <= recovered.detected_at
    ]


@dataclass(frozen=True, slots=True)
class Stretch:
    """A time in which one source could not see the resident's breathing."""

    source: str
    start: datetime
    end: datetime | None
    """When breathing could be seen again; None while the warning stands."""


def stretches(alerts: Iterable[Alert]) -> list[Stretch]:
    """Pair each ``no_signal`` warning with the ``recovered`` that ends it, per source.

    ``alerts`` are one resident's, in any order. A warning raised while one already stands for
    the same source extends it (the edge restarted, or a redelivery with a new id); a recovery
    with no warning standing is ignored. A stretch starts at the warning's onset and ends at the
    recovery's onset (when breathing was seen again, not when that was confirmed).
    """
    ordered = sorted(alerts, key=lambda a: (a.detected_at, a.alert_id))
    standing: dict[str, Alert] = {}
    found: list[Stretch] = []
    for alert in ordered:
        source = source_of(alert)
        if alert.kind is AlertKind.NO_SIGNAL:
            standing.setdefault(source, alert)
        elif ends_warning(alert) and (warning := standing.pop(source, None)) is not None:
            end = max(alert.onset_at, warning.onset_at)
            found.append(Stretch(source, warning.onset_at, end))
    found += [Stretch(s, w.onset_at, None) for s, w in standing.items()]
    return sorted(found, key=lambda s: (s.start, s.source))


@dataclass(frozen=True, slots=True)
class Visibility:
    """How much of a window one resident's breathing could not be seen, per source."""

    start: datetime
    end: datetime
    blind_s: dict[str, float]
    """Seconds under a standing warning, per source that had one."""
    stretches: int
    longest_s: float
    blind_now: dict[str, datetime]
    """Sources that cannot see breathing at ``end``, with since when."""

    @property
    def window_s(self) -> float:
        """The window's length in seconds."""
        return (self.end - self.start).total_seconds()

    def blind_pct(self, source: str) -> float:
        """The share of the window ``source`` could not see breathing, in percent."""
        return 100.0 * self.blind_s.get(source, 0.0) / self.window_s if self.window_s else 0.0


def visibility(found: Iterable[Stretch], start: datetime, end: datetime) -> Visibility:
    """Sum the stretches that overlap ``[start, end]`` (each clipped to it)."""
    if end <= start:
        message = "the window must end after it starts"
        raise ValueError(message)
    blind: dict[str, float] = {}
    count, longest = 0, 0.0
    now: dict[str, datetime] = {}
    for stretch in found:
        stop = end if stretch.end is None else min(stretch.end, end)
        begin = max(stretch.start, start)
        if stop <= begin:
            continue
        seconds = (stop - begin).total_seconds()
        blind[stretch.source] = blind.get(stretch.source, 0.0) + seconds
        count += 1
        longest = max(longest, seconds)
        if stretch.end is None or stretch.end > end:
            now[stretch.source] = min(stretch.start, now.get(stretch.source, stretch.start))
    return Visibility(start, end, blind, count, longest, now)


def window(end: datetime, hours: float) -> tuple[datetime, datetime]:
    """The ``hours`` before ``end``."""
    return end - timedelta(hours=hours), end
