"""Scoring: event matching against injected truth, latencies, false alarms, rate error (bench)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]

MATCH_AFTER_END_S = 2.0
"""An apnoea alarm counts if it comes before breathing resumes (plus the 1 s decision tick and
the ~1 s filter delay)."""
SHALLOW_AFTER_S = 15.0
"""A false page up to this long after a shallow stretch ends was decided on a pause that began
inside it (the apnoea threshold), so it counts as a page in the stretch."""
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


@dataclass
class ConditionScore:
    """Per-condition figures of one method (the detector or NeuroKit2) over its recordings.

    ``silent`` counts recordings in which some true apnoea produced no event of any kind: no
    apnoea alarm, no other event during it, and no "breathing not measurable" warning standing.
    """

    recordings: int = 0
    hours: float = 0.0
    apnoeas: int = 0
    found: int = 0
    latencies: list[float] = field(default_factory=list)
    false_apnoea: int = 0
    false_in_shallow: int = 0
    false_warned: int = 0
    false_slowed: int = 0
    native_slowed: int = 0
    slowed: int = 0
    slowed_found: int = 0
    silent: int = 0
    warned: int = 0
    warnings: int = 0
    unmeasured_s: float = 0.0
    missed: list[str] = field(default_factory=list)

    def add(
        self,
        name: str,
        duration_s: float,
        apnoeas: list[tuple[float, float]],
        slowed: list[tuple[float, float, float]],
        apnoea_alarms: list[float],
        slowed_alarms: list[float],
        other_events: list[float] | None = None,
        warnings: list[tuple[float, float]] | None = None,
        native_slow: list[tuple[float, float]] | None = None,
        not_apnoea: list[tuple[float, float]] | None = None,
    ) -> None:
        """Score one recording (``native_slow``: stretches where it breathes slowly of
        itself; slowed-breathing alerts there are counted apart, not as false;
        ``not_apnoea``: stretches of shallow or disturbed breathing, where a false apnoea page
        is also counted apart, as is one while a not-measurable warning stands)."""
        other = other_events or []
        warns = warnings or []
        self.recordings += 1
        self.hours += duration_s / 3600.0
        self.warned += bool(warns)
        # What honesty costs: how often the channel says "not measurable", and for how long
        # nobody can see this person breathe (a standing warning runs to the recording's end).
        self.warnings += len(warns)
        self.unmeasured_s += sum(max(0.0, min(stop, duration_s) - begin) for begin, stop in warns)
        used: set[int] = set()
        silent = False
        for onset, end in apnoeas:
            self.apnoeas += 1
            hits = [i for i, a in enumerate(apnoea_alarms) if onset <= a <= end + MATCH_AFTER_END_S]
            if hits:
                self.found += 1
                self.latencies.append(apnoea_alarms[hits[0]] - onset)
                used.update(hits)
                continue
            self.missed.append(f"{name}@{onset:.0f}s/{end - onset:.0f}s")
            during = [t for t in other if onset <= t <= end + MATCH_AFTER_END_S]
            standing = [w for w in warns if w[0] <= end and w[1] >= onset]
            silent |= not during and not standing
        self.silent += silent
        for start, end, rate in slowed:
            window = (start, end + SLOWED_GRACE_S)
            # Pauses of 15 s or more inside slowed breathing are real; not false apnoea pages.
            used.update(i for i, a in enumerate(apnoea_alarms) if window[0] <= a <= window[1])
            if rate > SLOWED_MAX_BPM:
                continue
            self.slowed += 1
            self.slowed_found += any(window[0] <= a <= window[1] for a in slowed_alarms)
        stray = [a for i, a in enumerate(apnoea_alarms) if i not in used]
        self.false_apnoea += episodes(stray)
        shallow = not_apnoea or []
        self.false_in_shallow += episodes(
            [a for a in stray if any(s <= a <= e + SHALLOW_AFTER_S for s, e in shallow)]
        )
        self.false_warned += episodes([a for a in stray if any(w0 <= a <= w1 for w0, w1 in warns)])
        stray_slowed = [
            a
            for a in slowed_alarms
            if not any(s <= a <= e + SLOWED_GRACE_S for s, e, _ in slowed)
            and not any(on <= a <= end + MERGE_S for on, end in apnoeas)
        ]
        native = [
            a
            for a in stray_slowed
            if any(s <= a <= e + SLOWED_GRACE_S for s, e in native_slow or [])
        ]
        self.native_slowed += episodes(native)
        self.false_slowed += episodes([a for a in stray_slowed if a not in native])

    def row(self) -> dict[str, float]:
        """Summary figures (NaN where there is nothing to score)."""
        nan = float("nan")
        return {
            "recordings": float(self.recordings),
            "hours": self.hours,
            "apnoeas": float(self.apnoeas),
            "sensitivity": self.found / self.apnoeas if self.apnoeas else nan,
            "latency_median_s": float(np.median(self.latencies)) if self.latencies else nan,
            "latency_max_s": float(np.max(self.latencies)) if self.latencies else nan,
            "false_apnoea_per_h": self.false_apnoea / max(self.hours, 1e-9),
            "false_in_shallow_per_h": self.false_in_shallow / max(self.hours, 1e-9),
            "false_warned_per_h": self.false_warned / max(self.hours, 1e-9),
            "false_slowed_per_h": self.false_slowed / max(self.hours, 1e-9),
            "native_slowed_per_h": self.native_slowed / max(self.hours, 1e-9),
            "slowed": float(self.slowed),
            "slowed_flagged_pct": 100.0 * self.slowed_found / self.slowed if self.slowed else nan,
            "silent_recordings": float(self.silent),
            "warned_recordings": float(self.warned),
            "warnings_per_h": self.warnings / max(self.hours, 1e-9),
            "not_measurable_pct": 100.0 * self.unmeasured_s / max(3600.0 * self.hours, 1e-9),
        }
