"""Operating hours of a site, in its own time zone: when non-urgent messages may be sent (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

_DAYS_AHEAD: Final = 8
"""Look at most a week and a day ahead for the next opening (a week has every weekday)."""


@dataclass(frozen=True, slots=True)
class OperatingHours:
    """Daily opening hours in a time zone; ``opens == closes`` means open all day.

    Attributes:
        opens: local time the office opens.
        closes: local time it closes (earlier than ``opens`` for hours spanning midnight).
        timezone: IANA zone name of the site, e.g. ``Europe/London``.
        weekdays: days it is open, Monday = 0.
    """

    opens: time = time(9, 0)
    closes: time = time(17, 0)
    timezone: str = "Europe/London"
    weekdays: frozenset[int] = frozenset(range(7))

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if not self.weekdays or not self.weekdays <= set(range(7)):
            message = "weekdays must be a non-empty set of 0 (Monday) to 6 (Sunday)"
            raise ValueError(message)

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` (time-zone aware) falls inside the hours."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.opens == self.closes:
            return local.weekday() in self.weekdays
        now = local.time()
        if self.opens < self.closes:
            return local.weekday() in self.weekdays and self.opens <= now < self.closes
        # Spans midnight: the late part belongs to the day the shift started.
        if now >= self.opens:
            return local.weekday() in self.weekdays
        return (local.weekday() - 1) % 7 in self.weekdays and now < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself if open, else the next time the hours begin (aware, same zone)."""
        if self.is_open(moment):
            return moment
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        for days in range(_DAYS_AHEAD):
            day = (local + timedelta(days=days)).date()
            candidate = datetime.combine(day, self.opens, tzinfo=zone)
            if candidate > local and day.weekday() in self.weekdays:
                return candidate.astimezone(moment.tzinfo)
        message = "no opening found within a week"  # unreachable with a non-empty weekday set
        raise ValueError(message)
