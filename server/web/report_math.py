"""Aggregate reports: counts by kind and outcome, response-time median and p90 (pure).

Small counts are suppressed: a count from 1 to 4 is shown as ``"<5"``, and response times over
fewer than five alerts are not shown at all, because with a handful of incidents a figure can
point at one resident's night. This is the usual small-number suppression of published health
statistics; 5 is a common threshold, to be confirmed with the data protection officer. There is
no complementary suppression yet: a total minus the shown cells can reveal a suppressed cell.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from firmware_bridge.wire import PAGING_KINDS

RESPONSE_KINDS: Final = frozenset(kind.value for kind in PAGING_KINDS)
"""Alert kinds whose handling is a response to a resident (they page responders)."""
SMALL_COUNT: Final = 5
"""Counts below this (but above zero) are shown as ``"<5"``."""

MEASURES: Final = (
    ("ack", "ack_at", "Time to acknowledge"),
    ("on_scene", "on_scene_at", "Time to on scene"),
    ("resolve", "resolved_at", "Time to resolve"),
)
"""Response times: name, the row field that ends the interval, label. All start at detection."""


def shown(count: int) -> int | str:
    """A count as a report may show it."""
    return "<5" if 0 < count < SMALL_COUNT else count


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between order statistics (numpy's default)."""
    if not values or not 0 <= q <= 1:
        message = "need values and 0 <= q <= 1"
        raise ValueError(message)
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _seconds(later: str | None, earlier: str | None) -> float | None:
    if later is None or earlier is None:
        return None
    try:
        return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()
    except (TypeError, ValueError):  # an unreadable stored time: no figure, not a failed report
        return None


def response_seconds(row: Mapping[str, Any]) -> dict[str, float | None]:
    """Seconds from detection to acknowledge, on scene and resolve for one history row."""
    resolved = row.get("closed_at") if row.get("state") == "resolved" else None
    ends = {"ack_at": row.get("ack_at"), "on_scene_at": row.get("on_scene_at")}
    ends["resolved_at"] = resolved
    return {name: _seconds(ends[field], row["detected_at"]) for name, field, _ in MEASURES}


def report(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by kind, by outcome, by kind and outcome, and response times; small counts hidden.

    Test and drill alerts (``origin`` ``test`` or kind ``test``) are left out: they measure the
    paging path, not the response to residents. Response times are over the kinds that page
    responders only: a recovery or a technical alert is closed by the system, often within a
    second, and would pull the medians towards nothing.
    """
    real = [r for r in rows if r.get("origin") != "test" and r.get("kind") != "test"]
    kinds = Counter(str(r["kind"]) for r in real)
    outcomes = Counter(str(r.get("outcome") or "open") for r in real)
    pairs = Counter((str(r["kind"]), str(r.get("outcome") or "open")) for r in real)
    times: dict[str, list[float]] = {name: [] for name, _, _ in MEASURES}
    for row in real:
        if row["kind"] not in RESPONSE_KINDS:
            continue  # closed by the system (a recovery, a technical alert): not a response
        for name, value in response_seconds(row).items():
            if value is not None and value >= 0:
                times[name].append(value)
    response = {}
    for name, _, label in MEASURES:
        values = times[name]
        enough = len(values) >= SMALL_COUNT
        response[name] = {
            "label": label,
            "n": shown(len(values)),
            "median_s": round(quantile(values, 0.5), 1) if enough else None,
            "p90_s": round(quantile(values, 0.9), 1) if enough else None,
        }
    return {
        "total": shown(len(real)),
        "by_kind": {k: shown(n) for k, n in sorted(kinds.items())},
        "by_outcome": {k: shown(n) for k, n in sorted(outcomes.items())},
        "by_kind_outcome": [
            {"kind": k, "outcome": o, "n": shown(n)} for (k, o), n in sorted(pairs.items())
        ],
        "response": response,
    }
