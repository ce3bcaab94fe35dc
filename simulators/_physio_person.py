"""One simulated person's hidden physiology: breaths, movements, oxygen and heart (pure).

Everything is generated lazily and in time order from dedicated random generators, so the
result does not depend on how, or by how many consumers, the person is sampled: a breath, a
movement or a second of vitals is drawn once, the first time any consumer needs it.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import numpy.typing as npt

from simulators import _physio_const as c
from simulators._physio_params import Episode, Label, Posture, SubjectParams
from simulators._physio_schedule import Schedule

FloatArray = npt.NDArray[np.float64]
LABELS: tuple[Label, ...] = tuple(Label)
LABEL_CODE: dict[Label, int] = {label: i for i, label in enumerate(LABELS)}
_MOTION_OVERRIDES = frozenset(
    LABEL_CODE[label] for label in (Label.NORMAL, Label.TALKING, Label.SLEEP, Label.STILL)
)
MOTION_OVERRIDES: npt.NDArray[np.bool_] = np.array(
    [i in _MOTION_OVERRIDES for i in range(len(LABELS))], dtype=bool
)
_MOTION_CAP_PER_MIN = 2 * c.MOTION_PER_MIN_ACTIVE + c.MOTION_PER_MIN_TALK
"""Upper bound of every activity's movement rate, for thinning the Poisson process."""

_GRAVITY: dict[Posture, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # (gravity as read by the sensor in g, direction the breathing tilt moves it)
    Posture.SUPINE: ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    Posture.SITTING: (
        (0.0, math.cos(c.SITTING_RECLINE_RAD), math.sin(c.SITTING_RECLINE_RAD)),
        (0.0, -math.sin(c.SITTING_RECLINE_RAD), math.cos(c.SITTING_RECLINE_RAD)),
    ),
    Posture.SIDE: ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}


_INITIAL_CAPACITY = 256
"""Rows a column starts with: about 15 minutes of breaths before the first doubling."""


class _Grow:
    """A float column that grows by doubling: cheap appends, views for reading."""

    def __init__(self) -> None:
        self.data = np.empty(_INITIAL_CAPACITY)
        self.size = 0

    def append(self, value: float) -> None:
        if self.size == len(self.data):
            self.data = np.concatenate([self.data, np.empty(len(self.data))])
        self.data[self.size] = value
        self.size += 1

    @property
    def view(self) -> FloatArray:
        return self.data[: self.size]


def _hill_pct(pao2_mmhg: float) -> float:
    """Haemoglobin saturation (%) at an oxygen tension, by the Hill equation."""
    ratio = float((pao2_mmhg / c.HILL_P50_MMHG) ** c.HILL_N)
    return 100.0 * ratio / (1.0 + ratio)


def breath_shape(u: FloatArray, insp: FloatArray, exp: FloatArray) -> FloatArray:
    """Chest excursion at cycle phase ``u`` in [0, 1): 0 at rest, 1 at end-inspiration."""
    rise = 0.5 * (1.0 - np.cos(np.pi * np.minimum(u / insp, 1.0)))
    fall = 0.5 * (1.0 + np.cos(np.pi * np.clip((u - insp) / exp, 0.0, 1.0)))
    return np.where(u < insp, rise, fall)


class Person:
    """A person's breathing, movement, oxygen and heart, generated on demand."""

    def __init__(
        self, subject: SubjectParams, episodes: tuple[Episode, ...], rng: np.random.Generator
    ) -> None:
        """Build the person; ``rng`` is consumed only through three spawned children."""
        self.subject = subject
        self.schedule = Schedule(subject, episodes)
        self._breath_rng, self._motion_rng, self._vitals_rng = rng.spawn(3)
        self._cols = {
            name: _Grow() for name in ("start", "end", "depth", "insp", "exp", "code", "rate")
        }
        self._peaks: list[float] = []
        self._apnoeas: list[tuple[float, float, Label]] = []
        self._holds = list(self.schedule.breath_holds)
        self._gasps_left = 0
        self._boost_x = 1.0
        self._eps = 0.0
        self._wander = 0.0
        self._last_rate_bpm = subject.rate_bpm
        first_period = 60.0 / subject.rate_bpm
        self._seg_end = -first_period * float(self._breath_rng.random())
        self._last_breath_end = self._seg_end
        self._posture_changes = self.schedule.posture_changes()
        self._posture_table = (
            np.array([t for t, _ in self._posture_changes]),
            np.array([_GRAVITY[p][0] for _, p in self._posture_changes]),
            np.array([_GRAVITY[p][1] for _, p in self._posture_changes]),
        )
        self._init_motion()
        self._init_vitals()

    # --- breaths --------------------------------------------------------------------------

    def _append(
        self,
        start: float,
        end: float,
        depth: float,
        insp: float,
        exp: float,
        label: Label,
        rate: float,
    ) -> None:
        for name, value in (
            ("start", start),
            ("end", end),
            ("depth", depth),
            ("insp", insp),
            ("exp", exp),
            ("code", float(LABEL_CODE[label])),
            ("rate", rate),
        ):
            self._cols[name].append(value)
        self._seg_end = end

    def _pause(self, start: float, end: float, label: Label, rate: float) -> None:
        if end - self._last_breath_end >= c.APNOEA_MIN_S and math.isinf(end):
            self._apnoeas.append((self._last_breath_end, math.inf, label))
        self._append(start, end, 0.0, 0.5, 0.5, label, rate)
        self._eps = 0.0

    def _next_segment(self) -> None:
        s = self._seg_end
        act = self.schedule.activity(s)
        if act.apnoea_until_s > s:
            self._pause(s, act.apnoea_until_s, Label.APNOEA, 0.0)
            self._gasps_left = c.GASP_BREATHS
            return
        while self._holds and self._holds[0].end_s <= s:
            self._holds.pop(0)
        if self._holds and self._holds[0].start_s <= s:
            hold = self._holds.pop(0)
            assert hold.duration_s is not None  # validated by Episode
            self._pause(s, s + hold.duration_s, Label.BREATH_HOLD, 0.0)
            self._boost_x = c.RECOVERY_BREATH_DEPTH_X
            return
        z_period, z_depth, z_wander = self._breath_rng.standard_normal(3).tolist()
        u_sigh, u_pause, u_len = self._breath_rng.random(3).tolist()
        nominal = 60.0 / max(act.rate_bpm, c.MIN_RATE_BPM)
        keep = math.exp(-nominal / c.RATE_WANDER_TAU_S)
        self._wander = keep * self._wander + math.sqrt(1.0 - keep**2) * c.RATE_WANDER_CV * z_wander
        nominal *= math.exp(self._wander)
        # Jitter the breath *times* around a steady clock rather than each period on its own, so
        # periods vary but the phase does not random-walk away from the set rate.
        eps_next = act.period_cv * nominal / math.sqrt(2.0) * z_period
        period = max(nominal + eps_next - self._eps, c.PERIOD_MIN_X * nominal)
        self._eps += period - nominal
        depth = act.depth * self._boost_x * math.exp(act.depth_cv * z_depth)
        self._boost_x = 1.0
        pause_s = 0.0
        if self._gasps_left:
            self._gasps_left -= 1
            period = c.GASP_PERIOD_S * math.exp(act.period_cv * z_period)
            depth = self.subject.depth * c.GASP_DEPTH_X
            self._eps = 0.0
        elif u_sigh < act.sighs_per_min * period / 60.0:
            depth *= c.SIGH_DEPTH_X
            pause_s = min(period * c.POST_SIGH_PAUSE_X, c.SHORT_PAUSE_MAX_S)
        elif u_pause < act.pause_prob:
            pause_s = act.pause_max_s * u_len
        if s - self._last_breath_end >= c.APNOEA_MIN_S:
            gap_label = LABELS[int(self._cols["code"].view[-1])]
            self._apnoeas.append((self._last_breath_end, s, gap_label))
        label = Label.SLOWED if act.rate_bpm <= c.SLOWED_RATE_BPM else act.label
        self._append(
            s, s + period, depth, act.insp_fraction, act.exp_fraction, label, 60.0 / period
        )
        self._peaks.append(s + period * act.insp_fraction)
        self._last_breath_end = s + period
        self._last_rate_bpm = 60.0 / period
        if pause_s > 0.0:
            self._pause(self._seg_end, self._seg_end + pause_s, label, self._last_rate_bpm)

    def _ensure_breaths(self, t_s: float) -> None:
        while self._seg_end <= t_s:
            self._next_segment()

    def breathing(self, times: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Chest excursion (depth units), label codes and true rate (bpm) at sorted ``times``."""
        self._ensure_breaths(float(times[-1]))
        starts = self._cols["start"].view
        lo = max(int(np.searchsorted(starts, times[0], side="right")) - 1, 0)
        hi = int(np.searchsorted(starts, times[-1], side="right"))
        idx = np.searchsorted(starts[lo:hi], times, side="right") - 1 + lo
        start = starts[idx]
        u = (times - start) / (self._cols["end"].view[idx] - start)
        wave = self._cols["depth"].view[idx] * breath_shape(
            u, self._cols["insp"].view[idx], self._cols["exp"].view[idx]
        )
        return wave, self._cols["code"].view[idx], self._cols["rate"].view[idx]

    def breath_peaks(self, t0_s: float, t1_s: float) -> FloatArray:
        """End-inspiration times of the breaths peaking in ``[t0_s, t1_s)``."""
        self._ensure_breaths(t1_s)
        lo = bisect.bisect_left(self._peaks, t0_s)
        hi = bisect.bisect_left(self._peaks, t1_s)
        return np.array(self._peaks[lo:hi])

    def apnoea_intervals(self, now_s: float) -> list[tuple[float, float | None, Label]]:
        """Pauses of at least 10 s known by ``now_s``: (onset after the last breath, end or None,
        cause).
        """
        self._ensure_breaths(now_s)
        out: list[tuple[float, float | None, Label]] = []
        for onset, end, label in self._apnoeas:
            if onset + c.APNOEA_MIN_S <= now_s:
                out.append((onset, end if end <= now_s else None, label))
        return out

    # --- movement -------------------------------------------------------------------------

    def _init_motion(self) -> None:
        self._bursts: list[tuple[float, float, float, FloatArray, FloatArray]] = []
        self._burst_starts: list[float] = []
        for t, _posture in self._posture_changes[1:]:
            self._add_burst(t, c.POSTURE_TRANSITION_S, c.MOTION_G_ACTIVE)
        self._bursts.sort(key=lambda b: b[0])
        self._fixed = list(self._bursts)
        self._bursts = []
        self._burst_starts = []
        self._motion_t = 0.0

    def _add_burst(self, start: float, duration: float, amplitude: float) -> None:
        draws = self._motion_rng.random((2, 3, c.MOTION_COMPONENTS))
        freqs = c.MOTION_FREQ_MIN_HZ + (c.MOTION_FREQ_MAX_HZ - c.MOTION_FREQ_MIN_HZ) * draws[0]
        self._bursts.append((start, duration, amplitude, freqs, 2 * np.pi * draws[1]))
        self._burst_starts.append(start)

    def _ensure_motion(self, t_s: float) -> None:
        cap_per_s = _MOTION_CAP_PER_MIN / 60.0
        while self._motion_t <= t_s:
            gap, u_keep, u_len, u_amp = self._motion_rng.random(4).tolist()
            self._motion_t += -math.log1p(-gap) / cap_per_s
            act = self.schedule.activity(self._motion_t)
            if u_keep * _MOTION_CAP_PER_MIN < act.motion_per_min:
                duration = c.MOTION_MIN_S + (c.MOTION_MAX_S - c.MOTION_MIN_S) * u_len
                self._add_burst(
                    self._motion_t, duration, act.motion_g * (c.MOTION_AMP_MIN_X + u_amp)
                )

    def motion(self, times: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Movement acceleration (n, 3) in g at sorted ``times``, and where a burst is under way."""
        self._ensure_motion(float(times[-1]))
        acc = np.zeros((len(times), 3))
        active = np.zeros(len(times), dtype=bool)
        t0, t1 = float(times[0]), float(times[-1])
        lo = bisect.bisect_left(self._burst_starts, t0 - c.MOTION_MAX_S)
        hi = bisect.bisect_right(self._burst_starts, t1)
        for start, duration, amp, freqs, phases in [*self._fixed, *self._bursts[lo:hi]]:
            if start > t1 or start + duration < t0:
                continue
            rel = times - start
            inside = (rel >= 0.0) & (rel < duration)
            if not inside.any():
                continue
            r = rel[inside]
            envelope = amp * np.sin(np.pi * r / duration) ** 2 / c.MOTION_COMPONENTS
            waves = np.sin(2 * np.pi * freqs[:, :, None] * r + phases[:, :, None]).sum(axis=1)
            acc[inside] += (envelope * waves).T
            active |= inside
        return acc, active

    # --- oxygen and heart at 1 Hz ---------------------------------------------------------

    def _init_vitals(self) -> None:
        s = min(self.subject.spo2_pct, c.SPO2_MAX_INPUT_PCT) / 100.0
        pao2 = c.HILL_P50_MMHG * (s / (1.0 - s)) ** (1.0 / c.HILL_N)
        self._pao2_base = min(pao2, c.PAO2_ROOM_AIR_MAX_MMHG)
        # The simple Hill curve under-reads near the top; a gain puts the baseline reading back
        # on the subject's spo2_pct without pretending the PaO2 is hyperoxic.
        self._spo2_gain = self.subject.spo2_pct / _hill_pct(self._pao2_base)
        self._pao2 = self._pao2_base
        self._vent = 1.0
        self._drift = 0.0
        self._sao2 = _Grow()
        self.spo2 = _Grow()
        """Measured SpO2 (%) at each whole second, delayed and rounded like an oximeter."""
        self.hr = _Grow()
        """Heart rate (bpm) at each whole second."""
        self._phase = _Grow()
        self._phase.append(0.0)
        self._base_vent = self.subject.depth * self.subject.rate_bpm / 60.0

    def _vitals_step(self, k: int) -> None:
        t = float(k)
        self._ensure_breaths(t)
        idx = int(np.searchsorted(self._cols["start"].view, t, side="right")) - 1
        start = float(self._cols["start"].data[idx])
        period = float(self._cols["end"].data[idx]) - start
        depth = float(self._cols["depth"].data[idx])
        insp = float(self._cols["insp"].data[idx])
        u = (t - start) / period
        if u < insp:
            wave = depth * 0.5 * (1.0 - math.cos(math.pi * u / insp))
        else:
            fall = min((u - insp) / float(self._cols["exp"].data[idx]), 1.0)
            wave = depth * 0.5 * (1.0 + math.cos(math.pi * fall))
        vent_now = depth / period / self._base_vent
        self._vent += (vent_now - self._vent) * (1.0 - math.exp(-1.0 / c.VENT_TAU_S))
        vent = max(self._vent, c.VENT_FLOOR)
        target = min(
            max(self._pao2_base - c.HYPOVENT_MMHG * (1.0 / vent - 1.0), c.PAO2_FLOOR_MMHG),
            self._pao2_base + c.PAO2_MAX_RISE_MMHG,
        )
        tau = c.O2_FALL_TAU_S if target < self._pao2 else c.O2_RISE_TAU_S
        self._pao2 += (target - self._pao2) * (1.0 - math.exp(-1.0 / tau))
        self._sao2.append(self._spo2_gain * _hill_pct(self._pao2))
        z_spo2, z_drift, z_hr = self._vitals_rng.standard_normal(3).tolist()
        delayed = float(self._sao2.view[max(k - c.SPO2_DELAY_S, 0)])
        self.spo2.append(float(np.clip(round(delayed + c.SPO2_NOISE_PCT * z_spo2), 0.0, 100.0)))
        keep = math.exp(-1.0 / c.HR_DRIFT_TAU_S)
        self._drift = keep * self._drift + c.HR_DRIFT_BPM * math.sqrt(1.0 - keep**2) * z_drift
        act = self.schedule.activity(t)
        hypoxic = max(c.HYPOXIC_SPO2_PCT - delayed, 0.0) * c.HYPOXIC_BPM_PER_PCT
        hr = (
            self.subject.hr_bpm
            + act.hr_offset_bpm
            + self._drift
            + c.RSA_BPM * (2.0 * wave - depth)
            - hypoxic
            + c.HR_NOISE_BPM * z_hr
        )
        hr = max(hr, c.HR_MIN_BPM)
        self.hr.append(hr)
        self._phase.append(float(self._phase.view[-1]) + 2 * np.pi * hr / 60.0)

    def ensure_vitals(self, k: int) -> None:
        """Compute the 1 Hz vitals for every whole second up to and including ``k``."""
        while self.hr.size <= k:
            self._vitals_step(self.hr.size)

    def cardiac(self, times: FloatArray) -> FloatArray:
        """A unit sinusoid at the heart rate, phase-continuous, at sorted ``times`` >= 0."""
        k = np.floor(times).astype(np.int64)
        self.ensure_vitals(int(k[-1]))
        phase = self._phase.view[k] + 2 * np.pi * self.hr.view[k] / 60.0 * (times - k)
        return np.sin(phase)

    # --- posture --------------------------------------------------------------------------

    def gravity(self, times: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Gravity in g as the chest sensor reads it, and the breathing-tilt direction.

        Both are (n, 3), or (1, 3) when the posture is the same throughout (they broadcast).
        """
        starts, g_now, d_now = self._posture_table
        if len(starts) == 1:
            return g_now, d_now
        idx = np.searchsorted(starts, times, side="right") - 1
        prev = np.maximum(idx - 1, 0)
        w = np.clip((times - starts[idx]) / c.POSTURE_TRANSITION_S, 0.0, 1.0)[:, None]
        g = (1.0 - w) * g_now[prev] + w * g_now[idx]
        d = (1.0 - w) * d_now[prev] + w * d_now[idx]
        return g / np.linalg.norm(g, axis=1, keepdims=True), d / np.linalg.norm(
            d, axis=1, keepdims=True
        )
