"""Slowed breathing: the respiratory-depression rule, read from breath counts and the breathing
spectrum (pure).

The rule only decides: :class:`edge.detector.rules.Rules` owns its latch, and raises or clears it
as told.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from edge.detector import const
from edge.detector.breath_second import BreathSecond
from edge.detector.events import EvidenceValue, Severity
from edge.detector.fusion import TickView
from edge.detector.settings import DetectorSettings

NOISY_DETAIL: Final = "breathing not measurable"
"""What a ``noisy`` channel means to a person: breaths are too close to the sensor's noise floor
for either breathing or its absence to be claimed."""


@dataclass(frozen=True, slots=True)
class RaiseSlowed:
    """Start or escalate the slowed-breathing latch, with the evidence to report."""

    severity: Severity
    onset_s: float
    evidence: dict[str, EvidenceValue]


@dataclass(frozen=True, slots=True)
class ClearSlowed:
    """Clear the slowed-breathing latch, with the evidence to report."""

    evidence: dict[str, EvidenceValue]


def assess_slowed(
    s: DetectorSettings,
    v: TickView,
    raised_s: float | None,
    spo2_baseline: Callable[[], float | None],
    still: bool,
) -> RaiseSlowed | ClearSlowed | None:
    """Judge slowed breathing on one tick.

    Args:
        s: the detector settings.
        v: the tick.
        raised_s: when the standing slowed-breathing latch was raised; None when none stands.
        spo2_baseline: the personal SpO2 baseline, read only when a raise is due.
        still: still (no gross movement) for at least ``stillness_s``.

    Returns:
        What to do with the latch, or None to leave it as it is.
    """
    good = [c for c in v.channels if c.good and c.breath.count_rate_bpm is not None]
    if not good:
        return _assess_by_spectrum(s, v, raised_s)
    # A breath seen on any good channel counts. The typical interval between the window's
    # breaths must agree, so that an apnoea (few breaths in the window, at normal intervals)
    # is left to the apnoea rule; slowed breathing is reported alongside any apnoea call.
    rate = max(c.breath.count_rate_bpm or 0.0 for c in good)
    spectra = [c.spectrum for c in good if c.spectrum is not None]
    trusted = [sp for sp in spectra if sp.concentration >= const.SPECTRAL_TRUST]
    slow = [sp.rate_bpm for sp in trusted if sp.rate_bpm <= s.rd_warning_bpm]
    # A clear, regular spectral peak at a normal rate: breaths were missed, not slowed.
    fast = any(sp.rate_bpm > s.rd_warning_bpm + const.SPECTRAL_MARGIN_BPM for sp in trusted)
    normal = rate >= s.rd_warning_bpm + const.RD_CLEAR_MARGIN_BPM
    if raised_s is not None and normal and not slow:
        # Hysteresis: clear only on a normal count with no slow spectral peak, and not
        # before the minimum hold, so that a stretch raises one alert, not a flapping few.
        if v.t_end - raised_s < const.RD_MIN_HOLD_S:
            return None
        return ClearSlowed({"rate_60s_bpm": rate})
    intervals = [c.breath.window_rate_bpm for c in good if c.breath.window_rate_bpm]
    # Movement or a gap may hide a breath each: the count is only slowed if it stays so
    # with every interruption granted one (gestures while talking cost two or three).
    most = max(_count_upper(c.breath, s.rate_window_s) for c in good)
    # A channel that moved with breathing it did not count within the window is missing
    # breaths (shallow breaths under its floor): its low count is not a slow rate.
    missing = all(
        c.breath.uncounted_s is not None and v.t_end - c.breath.uncounted_s < s.rate_window_s
        for c in good
    )
    counted = bool(intervals) and max(most, *intervals) <= s.rd_warning_bpm and not missing
    if fast or not (counted or (slow and not normal)):
        return None
    # Counting splits slow breaths at their notches (a count of 9-11/min for 7/min): a clear
    # spectral peak at <= 8/min with a count short of normal is slowed breathing too.
    # The spectral rate resolves 1/min over 60 s: it raises a warning, never a critical.
    by_count = max(rate, *intervals) if counted else math.inf
    low_spo2 = v.spo2_pct is not None and (
        v.spo2_pct < s.spo2_warning_pct
        or ((base := spo2_baseline()) is not None and base - v.spo2_pct >= s.spo2_drop_pct)
    )
    # Agreement raises severity: low SpO2, or a minute without gross movement (stillness
    # is the amplifier that turns slow breathing into the overdose picture) [2.4, 2.6].
    critical = by_count <= s.rd_critical_bpm or low_spo2 or still
    return RaiseSlowed(
        Severity.CRITICAL if critical else Severity.WARNING,
        v.t_end - s.rate_window_s,
        {
            "rate_60s_bpm": rate,
            "spectral_rate_bpm": (
                round(max(sp.rate_bpm for sp in spectra), 2) if spectra else None
            ),
        },
    )


def _assess_by_spectrum(
    s: DetectorSettings, v: TickView, raised_s: float | None
) -> RaiseSlowed | ClearSlowed | None:
    """Slowed breathing on channels whose breaths are too close to the noise floor to
    count ("not measurable"): a clear, regular spectral peak at or under the warning rate
    still shows it (the breaths' period is seen over a minute even when no single breath
    stands out). A warning only: the spectrum resolves 1/min, and it claims nothing about
    pauses. It clears on a clear peak at a normal rate, after the minimum hold."""
    spectra = [
        c.spectrum
        for c in v.channels
        if c.quality == "noisy"
        and c.spectrum is not None
        and c.spectrum.concentration >= const.SPECTRAL_TRUST
    ]
    if not spectra:
        return None
    rate = min(sp.rate_bpm for sp in spectra)
    if raised_s is not None:
        normal = rate >= s.rd_warning_bpm + const.RD_CLEAR_MARGIN_BPM
        if normal and v.t_end - raised_s >= const.RD_MIN_HOLD_S:
            return ClearSlowed({"spectral_rate_bpm": rate})
        return None
    if rate > s.rd_warning_bpm:
        return None
    return RaiseSlowed(
        Severity.WARNING,
        v.t_end - s.rate_window_s,
        {"spectral_rate_bpm": round(rate, 2), "detail": NOISY_DETAIL},
    )


def _count_upper(b: BreathSecond, window_s: float) -> float:
    """The window's count with one breath granted to each interruption of its signal."""
    return (b.count_rate_bpm or 0.0) + b.interruptions * 60.0 / window_s
