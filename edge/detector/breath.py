"""Breath detection on a band-passed respiration signal, one second at a time (pure).

A hysteresis ("zig-zag") trigger relative to the signal's own extremes: a peak is confirmed
when the signal falls ``2h`` below the running maximum, a trough when it rises ``2h`` above the
running minimum, with ``2h = rel_amp * baseline`` [detection.md 2.3 step 2]. Being relative, it
follows breaths riding on slow baseline wander, which a threshold around zero would miss. A
breath is a confirmed peak after a confirmed trough. The baseline amplitude is the median swing
of recent breaths, so it cannot drift during a pause: no breaths, no updates (the "freeze").
Thresholds change only at second boundaries, which makes the result independent of how the
samples were chunked.

The baseline must not stay frozen at a level the person no longer breathes at (after a movement
artefact or a run of deep breaths): swings over ``ARTEFACT_X`` x the long-term amplitude stay
out of its history, the baseline is at most ``FAST_X`` x the median of the last three
breaths, and once no extreme has been confirmed for ``RELAX_MIN_S``-``RELAX_MAX_S`` s the
trigger relaxes (over ``RELAX_RAMP_S``) to ``SHALLOW_FLOOR`` of the baseline (AASM: a swing
above 10 % of the pre-event amplitude is not an apnoea [1.2]), so shallow breathing at 20-30 %
of before is still counted.

A pause is timed from the last *confirmed* extreme (at the time the extreme happened), so a
filter's slow settling after breathing stops, which moves in one direction only, can confirm at
most the end of the last breath and never extends the pause's start.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque

import numpy as np
import numpy.typing as npt

from edge.detector import const
from edge.detector.breath_second import BreathSecond
from edge.detector.oscillation import OscillationCheck
from edge.detector.rate import RateWindow
from edge.detector.settings import DetectorSettings

FloatArray = npt.NDArray[np.float64]

_NOISE_WINDOW_S = 30
"""Seconds of noise-floor readings whose median sets the smallest believable breath."""
_RIPPLE_WINDOW_S = 5
"""Seconds of ripple readings whose median keeps the trigger above fast oscillations: short
enough to follow ripple that appears when breathing stops (it is there before the trigger
relaxes, 4 s or more into a pause), long enough that one sharp second does not blind it."""
_SEEK_PEAK = 1
_SEEK_TROUGH = -1


class BreathTracker:
    """Streaming breath detector fed one second of band-passed samples at a time."""

    def __init__(
        self,
        settings: DetectorSettings,
        *,
        min_amplitude: float = 0.0,
        min_snr: float = const.MIN_SNR,
        clear_breaths: bool = False,
        ripple_guard: bool = True,
    ) -> None:
        """Args:
        settings: detector settings.
        min_amplitude: smallest swing ever believed (signal units; the sensor's floor).
        min_snr: a baseline under this many smallest believable swings is "not measurable".
        clear_breaths: also call the channel not measurable when every breath of the last
            ``PAUSE_S`` stayed under ``CLEAR_BREATH_X`` floors: noise swings that only just
            clear the floor (what a marginal channel shows when breathing stops) must not
            pass for breaths (the accelerometer: see ``ACC_MIN_SNR``).
        ripple_guard: keep the relaxed trigger above the fast (cardiac) ripple read from the
            signal's second difference: for channels whose noise floor is read as white noise
            (a belt's or radar's), blind to cardiac ripple in the breathing band.
        """
        self._s = settings
        self._min_amplitude = min_amplitude
        self._min_snr = min_snr
        self._clear_breaths = clear_breaths
        self._ripple_guard = ripple_guard
        self._amplitudes: deque[float] = deque(maxlen=settings.baseline_breaths)
        self._recent: deque[float] = deque(maxlen=const.FAST_BREATHS)
        self._halves: deque[float] = deque(maxlen=2 * settings.rate_breaths)
        self._long: deque[float] = deque(maxlen=const.LONG_BREATHS)
        self._long_median = 0.0
        self._rate = RateWindow(settings.rate_window_s, settings.rate_breaths)
        self._good_seconds: deque[bool] = deque(maxlen=round(settings.rate_window_s))
        self._noise: deque[float] = deque()
        self._noise_sorted: list[float] = []
        self._ripple: deque[float] = deque(maxlen=_RIPPLE_WINDOW_S)
        self._osc = OscillationCheck()
        self._uncounted_t: float | None = None
        self._good_count = 0
        self._noisy = False
        self._boot: list[FloatArray] = []
        self._baseline: float | None = None
        self._last_breath: float | None = None
        self._last_clear: float | None = None  # last breath clearly above the noise floor
        self._good_since: float | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the breathing phase after a gap or artefact; the baseline amplitude is kept."""
        self._mode = _SEEK_PEAK
        self._ext = -np.inf  # running extreme of the current search (max or min)
        self._ext_t = -np.inf
        self._trough: float | None = None  # value of the last confirmed trough
        self._confirmed_t: float | None = None  # time of the last confirmed extreme
        self._extreme_t: float | None = None  # ...including a lone one in a pause
        self._good_since = None
        self._osc.reset()

    @property
    def baseline(self) -> float | None:
        """Current baseline breath amplitude (peak to trough), or None before bootstrap."""
        return self._baseline

    def bad_second(self, t_end: float) -> BreathSecond:
        """Record a second that could not be used (gap, motion, artefact)."""
        self._push_good(False)
        self.reset()
        self._rate.interrupt(t_end - 1.0)
        return BreathSecond(
            good=False,
            breaths=0,
            strong_breaths=0,
            last_breath_s=self._last_breath,
            quiet_since_s=None,
            rate_bpm=self._rate.rate_bpm,
            count_rate_bpm=None,
            amplitude=self._baseline,
            noise=self._noise_mean(),
            floor=self._min_swing(),
            ripple=self._ripple_pp(),
        )

    def good_second(
        self,
        y: FloatArray,
        t: FloatArray,
        t_end: float,
        noise: float | None = None,
        osc: tuple[float, float | None, int] | None = None,
    ) -> BreathSecond:
        """Process one usable second.

        Args:
            y: band-passed samples.
            t: their times.
            t_end: end of the second.
            noise: noise standard deviation in the breathing band, if the stream measured it.
            osc: energy above ``OSC_LOW_HZ`` along the breathing axis, across it (per
                direction) and the sample count, if the stream measured them.
        """
        breaths = strong = 0
        if noise is not None:
            # A running median: a few seconds of artefact cannot lift the noise floor.
            if len(self._noise) == _NOISE_WINDOW_S:
                del self._noise_sorted[
                    bisect.bisect_left(self._noise_sorted, self._noise.popleft())
                ]
            self._noise.append(noise)
            bisect.insort(self._noise_sorted, noise)
        if self._ripple_guard and y.size > 3:
            self._ripple.append(_ripple_pp(y, float(t[1] - t[0])))
        self._push_good(self._baseline is not None)
        if self._baseline is None:
            self._bootstrap(y)
        elif y.size:
            if self._good_since is None:
                self._good_since = float(t[0])
            breaths, strong = self._trigger(y, t, self._swing(float(t[0])))
        quiet = self._good_since
        if quiet is not None and self._confirmed_t is not None and self._confirmed_t > quiet:
            quiet = self._confirmed_t
        after = -np.inf
        if self._confirmed_t is not None and not self._noisy:
            after = self._confirmed_t + const.OSC_AFTER_S
        osc_ratio, osc_from = self._osc.ratio(osc, t_end, after)
        if osc_ratio is not None and osc_ratio >= const.OSC_BREATHING_X:
            # Breathing movement somewhere in the window, too small for the trigger: the pause
            # clock runs at most from the window's start, and a low count means missed breaths.
            self._uncounted_t = t_end
            if quiet is not None:
                quiet = max(quiet, osc_from)
        self._rate.good()
        self._rate.trim(t_end)
        count_rate = window_rate = None
        if self._baseline is not None and self._good_count >= (
            self._s.rd_min_coverage * self._s.rate_window_s
        ):
            count_rate = self._rate.breaths * 60.0 / self._s.rate_window_s
            window_rate = self._rate.window_rate_bpm
        floor = self._min_swing()
        if self._baseline is not None:
            ratio = self._min_snr * (const.NOISY_EXIT_X if self._noisy else 1.0)
            noisy = self._baseline < ratio * floor
            if self._clear_breaths and self._last_breath is not None:
                # Only swings near the floor for a pause's length: what noise does when
                # breathing stops on a marginal channel. Neither breathing nor apnoea is shown.
                clear = self._last_clear if self._last_clear is not None else -np.inf
                noisy |= self._last_breath > clear and t_end - clear >= const.PAUSE_S
            self._noisy = noisy
        noisy = self._noisy
        stopped = self._osc.stopped(osc_ratio, osc_from, t_end)
        if noisy and stopped is not None:
            # Breaths too close to the floor to count one by one, but the breathing movement
            # the chest showed a moment ago has gone: the pause clock runs from when it went.
            noisy = False
            quiet = stopped
        elif noisy:
            # Seconds in which breathing cannot be seen are not evidence of its absence: the
            # pause clock starts again when the channel is trustworthy again.
            self._good_since = None
            quiet = None
        return BreathSecond(
            good=self._baseline is not None and not noisy,
            breaths=breaths,
            strong_breaths=strong,
            last_breath_s=self._last_breath,
            quiet_since_s=quiet,
            rate_bpm=self._rate.rate_bpm,
            count_rate_bpm=count_rate,
            amplitude=self._baseline,
            noisy=noisy,
            window_rate_bpm=window_rate,
            interruptions=self._rate.interruptions,
            noise=self._noise_mean(),
            floor=floor,
            ripple=self._ripple_pp(),
            osc_ratio=osc_ratio,
            uncounted_s=self._uncounted_t,
        )

    def _ripple_pp(self) -> float | None:
        """Median peak-to-peak of the recent seconds' fast ripple, or None."""
        return statistics.median(self._ripple) if self._ripple else None

    def _noise_mean(self) -> float | None:
        return self._noise_sorted[len(self._noise_sorted) // 2] if self._noise_sorted else None

    def _swing(self, t0: float) -> float:
        """The trigger's hysteresis for the second starting at ``t0``.

        Normally ``rel_amp`` x baseline. Once no extreme has been confirmed for the relax time
        (1.5 typical half-breaths, 4-8 s) it falls linearly over ``RELAX_RAMP_S`` to
        ``SHALLOW_FLOOR`` x baseline, so breaths much smaller than the baseline are still seen
        and pull it down, while a slow breath's long slope is not split at small wiggles.
        """
        assert self._baseline is not None
        floor = self._min_swing()
        normal = max(self._s.rel_amp * self._baseline, floor)
        ripple = self._ripple_pp()
        if ripple is not None:
            # A swing that cardiac ripple can make is not a breath, however far the trigger has
            # relaxed; but the guard never lifts it above the normal hysteresis, so an
            # artefact's large fast swings still count as movement.
            floor = max(floor, min(const.RIPPLE_X * ripple, normal))
        last = self._confirmed_t
        if last is None or (self._good_since is not None and self._good_since > last):
            last = self._good_since
        if last is None:
            return normal
        late = (t0 - last - self._relax_s()) / const.RELAX_RAMP_S
        if late <= 0.0:
            return normal
        rel = self._s.rel_amp + (const.SHALLOW_FLOOR - self._s.rel_amp) * min(late, 1.0)
        return max(rel * self._baseline, floor)

    def _relax_s(self) -> float:
        """Seconds without a confirmed extreme after which the trigger relaxes: 1.5 typical
        half-breaths, within ``RELAX_MIN_S``-``RELAX_MAX_S``."""
        half = statistics.median(self._halves) if self._halves else 0.0
        return min(max(const.RELAX_MIN_S, const.RELAX_HALF_X * half), const.RELAX_MAX_S)

    def _min_swing(self) -> float:
        """Smallest swing that can be a breath: above the noise floor, the sensor floor and a
        tenth of the person's long-term breath amplitude."""
        noise = self._noise_mean() or 0.0
        return max(
            const.NOISE_SWING_K * noise,
            self._min_amplitude,
            const.LONG_FLOOR * self._long_median,
        )

    def _bootstrap(self, y: FloatArray) -> None:
        """Seed the baseline with the median swing of the first seconds' 4 s windows (a whole
        breath at >= 15/min; a one-second handling transient cannot dominate a median)."""
        if y.size:
            self._boot.append(y)
        if len(self._boot) >= self._s.bootstrap_s:
            w = const.BOOT_WINDOW_S
            swings = [
                float(np.ptp(np.concatenate(self._boot[k : k + w])))
                for k in range(len(self._boot) - w + 1)
            ]
            self._baseline = max(statistics.median(swings), self._min_swing())
            self._boot.clear()

    def _trigger(self, y: FloatArray, t: FloatArray, swing: float) -> tuple[int, int]:
        """Run the zig-zag trigger over one second; return (breaths, strong breaths).

        A plain loop over the second's few dozen samples (at the internal rate) costs less than
        the numpy calls it replaces, and makes the same float comparisons sample by sample.
        """
        breaths = strong = 0
        ext, ext_t = self._ext, self._ext_t
        for v, tv in zip(y.tolist(), t.tolist(), strict=True):
            if self._mode == _SEEK_PEAK:
                if v > ext:
                    ext, ext_t = v, tv
                    continue
                if not v < ext - swing:
                    continue
            else:
                if v < ext:
                    ext, ext_t = v, tv
                    continue
                if not v > ext + swing:
                    continue
            self._ext, self._ext_t = ext, ext_t
            b, st = self._confirm()
            breaths += b
            strong += st
            # The sample that confirmed the extreme starts the search for the opposite one.
            ext, ext_t = v, tv
        self._ext, self._ext_t = ext, ext_t
        return breaths, strong

    def _confirm(self) -> tuple[int, int]:
        """The running extreme is confirmed; a peak after a trough is a breath."""
        assert self._baseline is not None
        breath = strong = 0
        if self._extreme_t is not None:
            self._halves.append(self._ext_t - self._extreme_t)
        self._extreme_t = self._ext_t
        last = self._confirmed_t
        if not (
            self._mode == _SEEK_TROUGH and last is not None and self._ext_t - last > self._relax_s()
        ):
            # A trough long into a pause (later than the relax time after the last extreme) is
            # not breathing until a peak completes a breath: a noise wobble would otherwise
            # restart the pause clock. The trough that ends the last exhale comes sooner.
            self._confirmed_t = self._ext_t
        if self._mode == _SEEK_PEAK:
            if self._trough is not None:
                amplitude = self._ext - self._trough
                # A swing far above the long-term amplitude (a movement artefact) counts as
                # movement but stays out of the baseline; it enters the long-term history
                # clipped, so only a sustained change of depth (minutes) moves the reference.
                ref = self._long_median if self._long else self._baseline
                cap = const.ARTEFACT_X * ref
                if amplitude <= cap:
                    self._amplitudes.append(amplitude)
                    self._recent.append(amplitude)
                self._long.append(min(amplitude, cap))
                self._long_median = statistics.median(self._long)
                if len(self._amplitudes) >= 3:
                    median = min(
                        statistics.median(self._amplitudes),
                        const.FAST_X * statistics.median(self._recent),
                    )
                    self._baseline = max(median, self._min_swing())
                breath = 1
                strong = int(amplitude >= self._s.recovery_amp * self._baseline)
                if amplitude >= const.CLEAR_BREATH_X * self._min_swing():
                    self._last_clear = self._ext_t
                self._last_breath = self._ext_t
                self._rate.add(self._ext_t)
            self._mode = _SEEK_TROUGH
        else:
            self._trough = self._ext
            self._mode = _SEEK_PEAK
        return breath, strong

    def _push_good(self, good: bool) -> None:
        if len(self._good_seconds) == self._good_seconds.maxlen and self._good_seconds[0]:
            self._good_count -= 1
        self._good_seconds.append(good)
        self._good_count += good


def _ripple_pp(y: FloatArray, dt_s: float) -> float:
    """Peak-to-peak of the fast oscillation in ``y``, read from its second difference as if it
    were a sinusoid at ``CARDIAC_LOW_HZ`` (faster ripple is over-read; breathing, whose second
    difference is small, reads a few per cent of its swing)."""
    d2 = y[2:] - 2.0 * y[1:-1] + y[:-2]
    rms = math.sqrt(float(d2 @ d2) / d2.size)
    gain = (2.0 * math.sin(math.pi * const.CARDIAC_LOW_HZ * dt_s)) ** 2 / math.sqrt(2.0)
    return 2.0 * rms / gain if gain > 0.0 else 0.0
