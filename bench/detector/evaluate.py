"""Scoring: event matching against injected truth, latencies, false alarms, rate error (bench)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]

MATCH_AFTER_END_S = 2.0
"""An apnoea alarm counts if it comes before breathing resumes (plus the 1 s decision tick and
the ~1 s filter delay)."""
SLOWED_GRACE_S = 15.0
"""A slowed-breathing alarm counts up to 15 s after the slowed stretch ends (60 s window)."""
SLOWED_MAX_BPM = 8.0
"""Only stretches whose true rate is at or below the warning rate are scored [detection.md 1.2]."""
MERGE_S = 60.0
"""Alarms closer than this are one episode when counting false alarms [detection.md 2.8]."""


@dataclass
class Score:
    """Accumulated results of one method over many trials."""

    apnoeas: int = 0
    apnoeas_found: int = 0
    latencies: list[float] = field(default_factory=list)
    slowed: int = 0
    slowed_found: int = 0
    slowed_by_rate: int = 0
    false_alarms: int = 0
    hours: float = 0.0
    missed: list[tuple[int, float, float]] = field(default_factory=list)

    def add(
        self,
        trial: int,
        apnoea_alarms: list[float],
        slowed_alarms: list[float],
        apnoeas: list[tuple[float, float]],
        slowed: list[tuple[float, float, float]],
        duration_s: float,
    ) -> None:
        """Score one trial's alarms against its truth."""
        used: set[int] = set()
        for onset, end in apnoeas:
            self.apnoeas += 1
            hits = [i for i, a in enumerate(apnoea_alarms) if onset <= a <= end + MATCH_AFTER_END_S]
            if hits:
                self.apnoeas_found += 1
                self.latencies.append(apnoea_alarms[hits[0]] - onset)
                used.update(hits)
            else:
                self.missed.append((trial, onset, end - onset))
        for start, end, rate in slowed:
            if rate > SLOWED_MAX_BPM:
                continue  # the stretched breathing did not end up slow enough to score
            self.slowed += 1
            hits = [i for i, a in enumerate(slowed_alarms) if start <= a <= end + SLOWED_GRACE_S]
            # Breaths 15 s or more apart in a slowed stretch are apnoeas, and the apnoea alarm
            # then stands for it (slowed-breathing calls wait while an apnoea is active).
            pauses = [a for a in apnoea_alarms if start <= a <= end + SLOWED_GRACE_S]
            self.slowed_found += bool(hits or pauses)
            self.slowed_by_rate += bool(hits)
            # Apnoea alarms inside a slowed stretch are true pauses of >= 15 s, not false alarms.
            used.update(
                i for i, a in enumerate(apnoea_alarms) if start <= a <= end + SLOWED_GRACE_S
            )
        slowed_used = {
            i
            for i, a in enumerate(slowed_alarms)
            for s, e, _ in slowed
            if s <= a <= e + SLOWED_GRACE_S
        }
        stray = [a for i, a in enumerate(apnoea_alarms) if i not in used]
        stray += [a for i, a in enumerate(slowed_alarms) if i not in slowed_used]
        # Slowed-breathing alarms raised while an apnoea's 60 s window still holds it are fine.
        stray = [a for a in stray if not any(on <= a <= end + MERGE_S for on, end in apnoeas)]
        self.false_alarms += episodes(stray)
        self.hours += duration_s / 3600.0

    def row(self) -> dict[str, float]:
        """Summary figures."""
        lat = np.asarray(self.latencies) if self.latencies else np.asarray([np.nan])
        return {
            "apnoea_sensitivity_pct": 100.0 * self.apnoeas_found / max(1, self.apnoeas),
            "apnoeas": float(self.apnoeas),
            "latency_median_s": float(np.median(lat)),
            "latency_p90_s": float(np.percentile(lat, 90)),
            "latency_max_s": float(np.max(lat)),
            "slowed_sensitivity_pct": 100.0 * self.slowed_found / max(1, self.slowed),
            "slowed_by_rate_pct": 100.0 * self.slowed_by_rate / max(1, self.slowed),
            "slowed": float(self.slowed),
            "false_alarms_per_h": self.false_alarms / max(self.hours, 1e-9),
        }


def episodes(times: list[float]) -> int:
    """Number of alarm episodes, merging alarms closer than :data:`MERGE_S`."""
    count, last = 0, -np.inf
    for t in sorted(times):
        if t - last > MERGE_S:
            count += 1
        last = t
    return count


def reference_rate(peaks_s: Arr, seconds: Arr, n: int = 5) -> Arr:
    """Breath-by-breath reference rate at each second: 60 / median of the last ``n`` intervals."""
    out = np.full(seconds.size, np.nan)
    for k, t in enumerate(seconds):
        past = peaks_s[peaks_s <= t][-(n + 1) :]
        if past.size == n + 1:
            out[k] = 60.0 / float(np.median(np.diff(past)))
    return out


def window_rate(peaks_s: Arr, seconds: Arr, window_s: float = 60.0) -> Arr:
    """Breaths counted in the last ``window_s`` at each second, per minute (the 60 s rate)."""
    hi = np.searchsorted(peaks_s, seconds, side="right")
    lo = np.searchsorted(peaks_s, seconds - window_s, side="right")
    out: Arr = (hi - lo) * 60.0 / window_s
    return out


def rate_error(estimate: Arr, reference: Arr) -> tuple[float, float]:
    """Mean absolute error (breaths/min) and coverage (% of seconds with an estimate)."""
    ok = np.isfinite(reference)
    both = ok & np.isfinite(estimate)
    if not both.any():
        return float("nan"), 0.0
    return float(np.mean(np.abs(estimate[both] - reference[both]))), 100.0 * both.sum() / ok.sum()
