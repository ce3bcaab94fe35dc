"""Breath detection on a band-passed respiration signal, one second at a time (pure).

A Schmitt trigger around zero: the signal must swing below ``-h`` and then above ``+h`` for an
inspiration to count, with ``h = rel_amp * baseline / 2`` so a counted breath swings at least
``rel_amp`` of the person's baseline breath amplitude [detection.md 2.3]. The baseline is the
median of the last accepted breaths, so it cannot drift during a pause: no breaths, no updates
(the "freeze"). Thresholds change only at second boundaries, which makes the result independent
of how the samples were chunked.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detector import const
from edge.detector.settings import DetectorSettings

FloatArray = npt.NDArray[np.float64]

_NOISE_WINDOW_S = 30
"""Seconds of noise-floor readings whose mean sets the smallest believable breath (seconds with
motion or artefact never reach the tracker, so a mean is robust enough here)."""


@dataclass(frozen=True, slots=True)
class BreathSecond:
    """What one second of respiration signal says about breathing.

    Attributes:
        good: the second was usable (data present, no motion or artefact, baseline known).
        breaths: breaths whose inspiration was confirmed in this second.
        strong_breaths: of those, breaths since the last pause that reached the recovery amplitude.
        last_breath_s: time of the most recent breath, or None if none since the last reset.
        quiet_since_s: start of the current stretch of good signal without respiratory
            movement (the last swing across both thresholds), or None while the signal is not
            good.
        rate_bpm: breath-by-breath rate (median of recent intervals), or None.
        count_rate_bpm: breaths counted in the rate window scaled to a minute, or None if the
            window is not covered well enough by good signal.
        amplitude: current baseline breath amplitude in signal units, or None.
        noisy: the baseline breath is too close to the noise floor for the channel to be
            trusted either way.
    """

    good: bool
    breaths: int
    strong_breaths: int
    last_breath_s: float | None
    quiet_since_s: float | None
    rate_bpm: float | None
    count_rate_bpm: float | None
    amplitude: float | None
    noisy: bool = False


class BreathTracker:
    """Streaming breath detector fed one second of band-passed samples at a time."""

    def __init__(self, settings: DetectorSettings, *, min_amplitude: float = 0.0) -> None:
        self._s = settings
        self._min_amplitude = min_amplitude
        self._amplitudes: deque[float] = deque(maxlen=settings.baseline_breaths)
        self._breath_times: deque[float] = deque()
        self._good_seconds: deque[bool] = deque(maxlen=round(settings.rate_window_s))
        self._noise: deque[float] = deque(maxlen=_NOISE_WINDOW_S)
        self._noise_sum = 0.0
        self._good_count = 0
        self._rate_cache: float | None = None
        self._boot_hi: list[float] = []
        self._boot_lo: list[float] = []
        self._baseline: float | None = None
        self._state = 0
        self._phase_max = -np.inf
        self._phase_min = np.inf
        self._last_trough: float | None = None
        self._last_breath: float | None = None
        self._good_since: float | None = None
        self._strong = 0
        self._last_swing: float | None = None
        self._extreme_t = -np.inf

    def reset(self) -> None:
        """Forget the breathing phase after a data gap; the baseline amplitude is kept."""
        self._state = 0
        self._phase_max = -np.inf
        self._phase_min = np.inf
        self._last_trough = None
        self._good_since = None

    @property
    def baseline(self) -> float | None:
        """Current baseline breath amplitude (peak to trough), or None before bootstrap."""
        return self._baseline

    def bad_second(self, t_end: float) -> BreathSecond:
        """Record a second that could not be used (gap, motion, artefact)."""
        self._push_good(False)
        self.reset()
        return BreathSecond(
            good=False,
            breaths=0,
            strong_breaths=0,
            last_breath_s=self._last_breath,
            quiet_since_s=None,
            rate_bpm=self._rate_bpm(),
            count_rate_bpm=None,
            amplitude=self._baseline,
        )

    def good_second(
        self, y: FloatArray, t: FloatArray, t_end: float, noise: float | None = None
    ) -> BreathSecond:
        """Process one usable second.

        Args:
            y: band-passed samples.
            t: their times.
            t_end: end of the second.
            noise: noise standard deviation in the breathing band, if the stream measured it.
        """
        breaths = strong = 0
        if noise is not None:
            if len(self._noise) == self._noise.maxlen:
                self._noise_sum -= self._noise[0]
            self._noise.append(noise)
            self._noise_sum += noise
        self._push_good(self._baseline is not None)
        if self._baseline is None:
            self._bootstrap(y)
        else:
            if self._good_since is None:
                self._good_since = float(t[0]) if t.size else t_end
            breaths, strong = self._trigger(y, t)
        quiet = None
        if self._good_since is not None:
            quiet = self._good_since
            if self._last_swing is not None and self._last_swing > quiet:
                # The pause runs from the end of the last breath: the extreme of the phase that
                # followed the last swing (the end-expiratory trough, whatever the polarity).
                quiet = max(self._last_swing, self._extreme_t)
        window_start = t_end - self._s.rate_window_s
        if self._breath_times and self._breath_times[0] <= window_start:
            while self._breath_times and self._breath_times[0] <= window_start:
                self._breath_times.popleft()
            self._update_rate()
        coverage = self._good_count / self._s.rate_window_s
        count_rate = None
        if self._baseline is not None and coverage >= self._s.rd_min_coverage:
            count_rate = len(self._breath_times) * 60.0 / self._s.rate_window_s
        floor = self._min_swing()
        noisy = self._baseline is not None and self._baseline < const.MIN_SNR * floor
        return BreathSecond(
            good=self._baseline is not None and not noisy,
            breaths=breaths,
            strong_breaths=strong,
            last_breath_s=self._last_breath,
            quiet_since_s=quiet,
            rate_bpm=self._rate_bpm(),
            count_rate_bpm=count_rate,
            amplitude=self._baseline,
            noisy=noisy,
        )

    def _min_swing(self) -> float:
        """Smallest swing that can be a breath: above the noise floor and the sensor floor."""
        noise = self._noise_sum / len(self._noise) if self._noise else 0.0
        return max(const.NOISE_SWING_K * noise, self._min_amplitude)

    def _bootstrap(self, y: FloatArray) -> None:
        if y.size:
            self._boot_hi.append(float(y.max()))
            self._boot_lo.append(float(y.min()))
        if len(self._boot_hi) >= self._s.bootstrap_s:
            swing = float(np.median(self._boot_hi) - np.median(self._boot_lo))
            self._baseline = max(swing, self._min_swing())
            self._boot_hi.clear()
            self._boot_lo.clear()

    def _trigger(self, y: FloatArray, t: FloatArray) -> tuple[int, int]:
        """Run the Schmitt trigger over one second; return (breaths, strong breaths)."""
        assert self._baseline is not None
        h = 0.5 * max(self._s.rel_amp * self._baseline, self._min_swing())
        above = y > h
        below = y < -h
        breaths = strong = 0
        pos, n = 0, y.size
        while pos < n:
            # Jump straight to the next crossing of the threshold this state is waiting for.
            if self._state == 1:
                wait = below[pos:]
            elif self._state == -1:
                wait = above[pos:]
            else:
                wait = above[pos:] | below[pos:]
            k = int(wait.argmax()) if wait.size else 0
            if not wait.size or not wait[k]:
                self._extend_phase(y[pos:], t[pos:])
                break
            at = pos + k
            if at > pos:
                self._extend_phase(y[pos:at], t[pos:at])
            b, st = self._cross(1 if above[at] else -1, float(t[at]))
            breaths += b
            strong += st
            pos = at
        return breaths, strong

    def _cross(self, new_state: int, when: float) -> tuple[int, int]:
        """The signal crossed into ``new_state`` at ``when``; return (breath, strong breath)."""
        breath = strong = 0
        if self._state != 0:
            # A full swing across both thresholds in either direction is respiratory movement.
            # The accelerometer's polarity is arbitrary, so the pause is timed from the last
            # swing, not from the last confirmed peak.
            self._last_swing = when
        if new_state == -1 and self._state == 1 and self._close_breath():
            # The signal fell from above +h to below -h after a trough: the breath's peak is
            # confirmed now, in mid-expiration [detection.md 2.3 step 2].
            breath, strong = 1, self._strong
            self._last_breath = when
            self._breath_times.append(when)
            self._update_rate()
        if new_state == 1:
            self._phase_max = -np.inf
        else:
            self._phase_min = np.inf
        self._extreme_t = when
        self._state = new_state
        return breath, strong

    def _extend_phase(self, seg: FloatArray, t: FloatArray) -> None:
        """Follow the current phase's extreme; after a swing its time is where the breath ended."""
        if self._state == 1:
            k = int(seg.argmax())
            if seg[k] > self._phase_max:
                self._phase_max = float(seg[k])
                self._extreme_t = float(t[k])
        elif self._state == -1:
            k = int(seg.argmin())
            if seg[k] < self._phase_min:
                self._phase_min = float(seg[k])
                self._extreme_t = float(t[k])
            self._last_trough = self._phase_min

    def _close_breath(self) -> bool:
        """A peak was confirmed: accept the breath if a trough preceded it, update the baseline."""
        assert self._baseline is not None
        if self._last_trough is None or not np.isfinite(self._phase_max):
            return False
        swing = self._phase_max - self._last_trough
        self._strong = int(swing >= self._s.recovery_amp * self._baseline)
        self._amplitudes.append(swing)
        if len(self._amplitudes) >= 3:
            self._baseline = max(float(np.median(self._amplitudes)), self._min_swing())
        return True

    def _push_good(self, good: bool) -> None:
        if len(self._good_seconds) == self._good_seconds.maxlen and self._good_seconds[0]:
            self._good_count -= 1
        self._good_seconds.append(good)
        self._good_count += good

    def _rate_bpm(self) -> float | None:
        return self._rate_cache

    def _update_rate(self) -> None:
        """Breath-by-breath rate: 60 / median of the last few intervals (on each new breath)."""
        n = self._s.rate_breaths
        if len(self._breath_times) < n + 1:
            self._rate_cache = None
            return
        times = list(self._breath_times)[-(n + 1) :]
        ibi = sorted(b - a for a, b in itertools.pairwise(times))[n // 2]
        self._rate_cache = 60.0 / ibi if ibi > 0 else None
