"""What a scenario expects, what a run observed, and the verdict of one against the other (pure).

Three kinds of expectation, all in simulated seconds from the start of the run:

- ``[[expect.alert]]``: an alert of ``kind`` (and ``severity``, for ``person``) detected between
  ``after`` and ``by``; optionally its first push received by ``notified_by``, its final
  ``state`` and ``outcome``.
- ``[[expect.page]]``: a page (a push with action links) reached a responder at escalation
  ``level`` (or the named ``responder``) between ``after`` and ``by``.
- ``[[expect.never]]``: no alert matching ``kind`` / ``severity`` / ``person`` between ``after``
  and ``until``; with ``paged = true`` only alerts that paged somebody count, and with
  ``level`` no page may reach that level at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from simulators.scenario_fields import Fields

__all__ = [
    "AlertExpect",
    "Expectations",
    "NeverExpect",
    "Observation",
    "ObservedAlert",
    "ObservedPage",
    "PageExpect",
    "Verdict",
    "check",
    "parse_expectations",
]

KINDS: Final = frozenset(
    {
        "apnoea",
        "respiratory_depression",
        "desaturation",
        "stillness",
        "prolonged_occupancy",
        "no_signal",
        "recovered",
        "button",
        "edge_offline",
        "edge_disk_full",
        "device_fault",
        "low_battery",
        "nobody_reachable",
    }
)
"""Alert kinds a scenario can expect (``firmware_bridge.wire.AlertKind`` without ``test``)."""

SEVERITIES: Final = frozenset({"info", "warning", "critical"})
STATES: Final = frozenset(
    {"checking_in", "noted", "triggered", "acknowledged", "en_route", "on_scene", "resolved"}
    | {"cancelled"}
)


@dataclass(frozen=True, slots=True)
class AlertExpect:
    """An alert that must happen."""

    kind: str
    severity: str | None
    person: str | None
    after_s: float
    by_s: float
    notified_by_s: float | None
    state: str | None
    outcome: str | None

    def describe(self) -> str:
        """One line saying what is expected."""
        who = f" for {self.person}" if self.person else ""
        sev = f" ({self.severity})" if self.severity else ""
        extra = "" if self.notified_by_s is None else f", notified by {self.notified_by_s:g} s"
        end = "" if self.state is None else f", ends {self.state}"
        end += "" if self.outcome is None else f" ({self.outcome})"
        return (
            f"alert {self.kind}{sev}{who} detected in {self.after_s:g}-{self.by_s:g} s{extra}{end}"
        )


@dataclass(frozen=True, slots=True)
class PageExpect:
    """A page that must reach an escalation level (or a named responder)."""

    level: int | None
    responder: str | None
    after_s: float
    by_s: float

    def describe(self) -> str:
        """One line saying what is expected."""
        who = f"responder {self.responder}" if self.responder else f"level {self.level}"
        return f"page reaches {who} in {self.after_s:g}-{self.by_s:g} s"


@dataclass(frozen=True, slots=True)
class NeverExpect:
    """Something that must not happen."""

    kind: str | None
    severity: str | None
    person: str | None
    paged: bool
    level: int | None
    after_s: float
    until_s: float

    def describe(self) -> str:
        """One line saying what must not happen."""
        if self.level is not None:
            return f"no page reaches level {self.level}"
        what = f"{self.kind} " if self.kind else ""
        sev = f" ({self.severity})" if self.severity else ""
        who = f" for {self.person}" if self.person else ""
        how = " that pages a responder" if self.paged else ""
        span = (
            ""
            if self.after_s == 0 and math.isinf(self.until_s)
            else (f" in {self.after_s:g}-{self.until_s:g} s")
        )
        return f"no {what}alert{sev}{who}{how}{span}"


@dataclass(frozen=True, slots=True)
class Expectations:
    """Everything a scenario expects."""

    alerts: tuple[AlertExpect, ...] = ()
    pages: tuple[PageExpect, ...] = ()
    never: tuple[NeverExpect, ...] = ()

    def __len__(self) -> int:
        return len(self.alerts) + len(self.pages) + len(self.never)


@dataclass(frozen=True, slots=True)
class ObservedAlert:
    """An alert as the run saw it; hop times in simulated seconds since the start."""

    alert_id: str
    kind: str
    severity: str
    person: str | None
    state: str
    outcome: str | None
    hops: Mapping[str, float | None]
    escalations: tuple[tuple[float, int], ...] = ()
    paged: bool = False

    def hop(self, name: str) -> float | None:
        """The time of hop ``name``, or ``None`` if it did not happen."""
        return self.hops.get(name)


@dataclass(frozen=True, slots=True)
class ObservedPage:
    """A push with action links that reached a virtual responder."""

    responder: str
    level: int
    t_s: float
    alert_id: str | None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a run observed."""

    alerts: tuple[ObservedAlert, ...]
    pages: tuple[ObservedPage, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One expectation's result."""

    expectation: str
    passed: bool
    detail: str


def _kind(fields: Fields, key: str, *, required: bool) -> str | None:
    value = fields.text(key) if required else fields.optional_text(key)
    if value is not None and value not in KINDS:
        fields.fail(key, f"unknown alert kind; one of {sorted(KINDS)}")
    return value


def _choice(fields: Fields, key: str, allowed: frozenset[str]) -> str | None:
    value = fields.optional_text(key)
    if value is not None and value not in allowed:
        fields.fail(key, f"one of {sorted(allowed)}")
    return value


def _person(fields: Fields, people: set[str]) -> str | None:
    value = fields.optional_text("person")
    if value is not None and value not in people:
        fields.fail("person", f"no person {value!r} in [[people]]")
    return value


def _level(fields: Fields, levels: frozenset[int]) -> int | None:
    value = fields.optional_number("level", low=0.0, high=9.0)
    if value is not None and int(value) not in levels:
        fields.fail("level", f"no responder is configured at level {int(value)}")
    return None if value is None else int(value)


def _until(fields: Fields, after: float) -> float:
    value = fields.optional_number("until", low=after)
    return math.inf if value is None else value


def parse_expectations(fields: Fields, people: set[str], levels: frozenset[int]) -> Expectations:
    """Read ``[expect]``; a scenario must expect at least one thing."""
    fields.only({"alert", "page", "never"})
    alerts = []
    for row in fields.rows("alert"):
        row.only({"kind", "severity", "person", "after", "by", "notified_by", "state", "outcome"})
        kind = _kind(row, "kind", required=True)
        assert kind is not None
        after = row.number("after", 0.0, low=0.0)
        alerts.append(
            AlertExpect(
                kind,
                _choice(row, "severity", SEVERITIES),
                _person(row, people),
                after,
                row.number("by", low=after),
                row.optional_number("notified_by", low=after),
                _choice(row, "state", STATES),
                row.optional_text("outcome"),
            )
        )
    pages = []
    for row in fields.rows("page"):
        row.only({"level", "responder", "after", "by"})
        level, responder = _level(row, levels), row.optional_text("responder")
        if (level is None) == (responder is None):
            row.fail("level", "give exactly one of level and responder")
        after = row.number("after", 0.0, low=0.0)
        pages.append(PageExpect(level, responder, after, row.number("by", low=after)))
    never = []
    for row in fields.rows("never"):
        row.only({"kind", "severity", "person", "paged", "level", "after", "until"})
        after = row.number("after", 0.0, low=0.0)
        never.append(
            NeverExpect(
                _kind(row, "kind", required=False),
                _choice(row, "severity", SEVERITIES),
                _person(row, people),
                row.flag("paged", default=False),
                _level(row, levels),
                after,
                _until(row, after),
            )
        )
    expect = Expectations(tuple(alerts), tuple(pages), tuple(never))
    if not len(expect):
        fields.fail("(table)", "a scenario must expect something: [[expect.alert]], page, never")
    return expect


def _matches(
    alert: ObservedAlert, kind: str | None, severity: str | None, person: str | None
) -> bool:
    return (
        (kind is None or alert.kind == kind)
        and (severity is None or alert.severity == severity)
        and (person is None or alert.person == person)
    )


def _check_alert(expect: AlertExpect, seen: Observation) -> Verdict:
    label = expect.describe()
    candidates = [
        a for a in seen.alerts if _matches(a, expect.kind, expect.severity, expect.person)
    ]
    if not candidates:
        return Verdict(label, passed=False, detail="no such alert")
    timely = [
        a
        for a in candidates
        if (t := a.hop("detected")) is not None and expect.after_s <= t <= expect.by_s
    ]
    if not timely:
        times = ", ".join(f"{a.hop('detected') or math.nan:.1f} s" for a in candidates)
        return Verdict(label, passed=False, detail=f"detected at {times}")
    alert = timely[0]
    t = alert.hop("detected") or 0.0
    problems = []
    notified = alert.hop("notified")
    if expect.notified_by_s is not None and (notified is None or notified > expect.notified_by_s):
        problems.append("never notified" if notified is None else f"notified at {notified:.1f} s")
    if expect.state is not None and alert.state != expect.state:
        problems.append(f"ended {alert.state}")
    if expect.outcome is not None and alert.outcome != expect.outcome:
        problems.append(f"outcome {alert.outcome}")
    if problems:
        return Verdict(label, passed=False, detail=f"{alert.alert_id}: " + "; ".join(problems))
    return Verdict(label, passed=True, detail=f"{alert.alert_id} detected at {t:.1f} s")


def _check_page(expect: PageExpect, seen: Observation) -> Verdict:
    label = expect.describe()
    reached = [
        p
        for p in seen.pages
        if (p.responder == expect.responder if expect.responder else p.level == expect.level)
    ]
    timely = [p for p in reached if expect.after_s <= p.t_s <= expect.by_s]
    if timely:
        first = timely[0]
        return Verdict(label, passed=True, detail=f"{first.responder} paged at {first.t_s:.1f} s")
    if reached:
        return Verdict(label, passed=False, detail=f"first page at {reached[0].t_s:.1f} s")
    return Verdict(label, passed=False, detail="never paged")


def _check_never(expect: NeverExpect, seen: Observation) -> Verdict:
    label = expect.describe()
    if expect.level is not None:
        reached = [p for p in seen.pages if p.level == expect.level]
        if reached:
            first_page = reached[0]
            detail = f"{first_page.responder} paged at {first_page.t_s:.1f} s"
            return Verdict(label, passed=False, detail=detail)
        return Verdict(label, passed=True, detail="none")
    hits: list[ObservedAlert] = []
    for alert in seen.alerts:
        t = alert.hop("detected")
        if t is None or not expect.after_s <= t <= expect.until_s:
            continue
        if _matches(alert, expect.kind, expect.severity, expect.person) and (
            alert.paged or not expect.paged
        ):
            hits.append(alert)
    if hits:
        first = hits[0]
        detail = f"{first.kind} ({first.severity}) at {first.hop('detected') or 0.0:.1f} s"
        return Verdict(label, passed=False, detail=detail + (" and paged" if first.paged else ""))
    return Verdict(label, passed=True, detail="none")


def check(expect: Expectations, seen: Observation) -> tuple[Verdict, ...]:
    """Every expectation's verdict, in the order the scenario lists them."""
    return (
        *(_check_alert(e, seen) for e in expect.alerts),
        *(_check_page(e, seen) for e in expect.pages),
        *(_check_never(e, seen) for e in expect.never),
    )
