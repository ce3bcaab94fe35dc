"""A scenario run's report: the timeline of every hop with latencies, and the verdicts (pure).

Latencies are from the previous hop that happened, in simulated seconds; for the machine hops
(outbox, broker, stored, notified) the wall-clock milliseconds are given too, since those are
the system's own speed, which the speed factor inflates in simulated time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from odart.simulate_observe import HOPS, WIRE_HOPS, Observed
from simulators.scenario import Scenario
from simulators.scenario_expect import ObservedAlert, Verdict


@dataclass(frozen=True)
class Report:
    """Everything a run produced."""

    scenario: Scenario
    speed: float
    broker: str
    wall_s: float
    observed: Observed
    verdicts: tuple[Verdict, ...]
    played: tuple[tuple[float, str], ...] = ()
    signals: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    max_lag_s: float = 0.0
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every expectation passed."""
        return all(v.passed for v in self.verdicts)

    def hop_rows(self, alert: ObservedAlert) -> list[dict[str, Any]]:
        """The alert's hops in order, each with its latency from the previous one."""
        events: list[tuple[float, str]] = [
            (t, name) for name in HOPS if (t := alert.hop(name)) is not None
        ]
        events += [(t, f"escalated to level {level}") for t, level in alert.escalations]
        events.sort(key=lambda e: (e[0], _order(e[1])))
        rows = []
        previous: float | None = None
        for t, name in events:
            latency = None if previous is None else round(t - previous, 3)
            wall_ms = (
                round(latency / self.speed * 1000, 1)
                if latency is not None and name in WIRE_HOPS
                else None
            )
            rows.append({"hop": name, "t_s": round(t, 3), "latency_s": latency, "wall_ms": wall_ms})
            previous = t
        return rows

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        scenario = self.scenario
        return {
            "scenario": scenario.name,
            "summary": scenario.summary,
            "source": scenario.source,
            "passed": self.passed,
            "speed": self.speed,
            "duration_s": scenario.duration_s,
            "wall_s": round(self.wall_s, 2),
            "broker": self.broker,
            "device_lag_s": round(self.max_lag_s, 2),
            "timeline": [
                {"at_s": e.at_s, "event": e.event, "person": e.person, "device": e.device}
                | ({} if e.duration_s is None else {"duration_s": e.duration_s})
                for e in scenario.timeline
            ],
            "alerts": [
                {
                    "id": a.alert_id,
                    "kind": a.kind,
                    "severity": a.severity,
                    "person": a.person,
                    "room": self.observed.rooms.get(a.alert_id),
                    "state": a.state,
                    "outcome": a.outcome,
                    "paged": a.paged,
                    "hops": self.hop_rows(a),
                }
                for a in self.observed.observation.alerts
            ],
            "pages": [
                {"responder": p.responder, "level": p.level, "t_s": p.t_s, "alert": p.alert_id}
                for p in self.observed.observation.pages
            ],
            "responder_steps": [
                {
                    "responder": s.responder,
                    "alert": s.alert_id,
                    "action": s.action,
                    "t_s": round(s.t_s, 3),
                    "status": s.status,
                }
                for s in self.observed.steps
            ],
            "expectations": [
                {"expectation": v.expectation, "passed": v.passed, "detail": v.detail}
                for v in self.verdicts
            ],
        }

    def format(self) -> str:
        """The report as text."""
        s = self.scenario
        lines = [
            f"Scenario {s.name}: {s.summary}",
            f"  {s.source}; {s.duration_s:.0f} simulated s at x{self.speed:g} in "
            f"{self.wall_s:.1f} s wall; broker {self.broker}; devices lagged at most "
            f"{self.max_lag_s:.1f} s",
            "",
            "What happens:",
        ]
        for e in s.timeline:
            who = e.person or e.device or "edge"
            span = "" if e.duration_s is None else f" for {e.duration_s:g} s"
            lines.append(f"  {e.at_s:7.1f} s  {who}: {e.event}{span}")
        if not s.timeline:
            lines.append("  (nothing: a quiet night)")
        lines += ["", f"Alerts ({len(self.observed.observation.alerts)}):"]
        for alert in self.observed.observation.alerts:
            room = self.observed.rooms.get(alert.alert_id) or "-"
            outcome = f" ({alert.outcome})" if alert.outcome else ""
            lines.append(
                f"  {alert.alert_id}  {alert.kind} {alert.severity}  person {alert.person or '-'}"
                f"  {room}  -> {alert.state}{outcome}"
            )
            lines.append(f"    {'hop':<22}{'t (s)':>9}{'+sim s':>9}{'+wall ms':>10}")
            for row in self.hop_rows(alert):
                latency = "" if row["latency_s"] is None else f"{row['latency_s']:+.1f}"
                wall = "" if row["wall_ms"] is None else f"{row['wall_ms']:.1f}"
                lines.append(f"    {row['hop']:<22}{row['t_s']:9.1f}{latency:>9}{wall:>10}")
        if self.observed.steps:
            lines += ["", "Responders:"]
            for step in self.observed.steps:
                lines.append(
                    f"  {step.t_s:7.1f} s  {step.responder} {step.action} {step.alert_id} "
                    f"-> HTTP {step.status}"
                )
        lines += ["", "Expectations:"]
        for verdict in self.verdicts:
            mark = "PASS" if verdict.passed else "FAIL"
            lines.append(f"  {mark}  {verdict.expectation}: {verdict.detail}")
        total = len(self.verdicts)
        failed = sum(not v.passed for v in self.verdicts)
        lines.append(
            f"{'PASS' if self.passed else 'FAIL'}: {total - failed}/{total} expectations met"
        )
        return "\n".join(lines)


def _order(name: str) -> int:
    return HOPS.index(name) if name in HOPS else len(HOPS)
