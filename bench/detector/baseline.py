"""The pipeline a user would otherwise assemble: NeuroKit2 ``rsp_process`` plus "no breath peak
for 15 s" (offline, so it sees the whole recording, including the future) (benchmark code)."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]

APNOEA_S = 15.0
"""Same threshold as the detector's wearable default."""
RD_BPM = 8.0
"""Same slowed-breathing warning threshold as the detector."""
RD_HOLD_S = 60.0
"""Rate must stay at or below RD_BPM this long, as for the detector."""


@dataclass(frozen=True)
class Alarms:
    """Alarm times (seconds) of the baseline, and its per-sample rate."""

    apnoea: list[tuple[float, float]]  # (alarm time, estimated onset = last peak)
    slowed: list[float]
    rate_bpm: Arr
    peaks_s: Arr


def available() -> bool:
    """NeuroKit2 is installed (the ``bench`` extra)."""
    try:
        import neurokit2  # noqa: F401
    except ImportError:
        return False
    return True


def run(x: Arr, fs: float) -> Alarms:
    """Process a whole recording offline and derive apnoea and slowed-breathing alarms."""
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sig, info = nk.rsp_process(x, sampling_rate=round(fs))
    peaks = np.asarray(info["RSP_Peaks"], dtype=float) / fs
    duration = x.size / fs
    apnoea: list[tuple[float, float]] = []
    edges = np.concatenate([peaks, [duration]])
    for a, b in itertools.pairwise(edges):
        if b - a > APNOEA_S:
            apnoea.append((a + APNOEA_S, a))
    rate = np.asarray(sig["RSP_Rate"], dtype=float)
    slowed: list[float] = []
    low = rate <= RD_BPM
    hold = int(RD_HOLD_S * fs)
    run_start = None
    fired = False
    for i in np.flatnonzero(np.diff(np.concatenate([[0], low.astype(int), [0]])) != 0):
        if run_start is None:
            run_start, fired = int(i), False
        else:
            if int(i) - run_start >= hold and not fired:
                slowed.append((run_start + hold) / fs)
            run_start = None
    return Alarms(apnoea=apnoea, slowed=slowed, rate_bpm=rate, peaks_s=peaks)
