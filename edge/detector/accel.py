"""The chest accelerometer stream: motion, clipping, posture, breathing axis and in-band noise
(pure).
"""

from __future__ import annotations

import functools
import math
from collections import deque

import numpy as np

from edge.detector import const
from edge.detector.design import butter_sos
from edge.detector.filters import CausalFilter, FloatArray
from edge.detector.settings import DetectorSettings
from edge.detector.streams import RespStream, Second, fill_forward

_PCA_WINDOW_S = 30
"""Seconds of band-passed acceleration used for the breathing axis (about six breaths)."""
_PCA_REFRESH_S = 30
"""A full eigen-decomposition every 30 s; one power-iteration step per second in between."""
_COS_POSTURE_CHANGE = math.cos(const.POSTURE_CHANGE_RAD)
_PCA_FAST_S = 5
"""...and every second for the first 5 s after a restart, while the new axis is unknown."""


class AccStream(RespStream):
    """A three-axis accelerometer: motion, clipping, posture, and breathing on its main axis.

    Breathing tilts the chest, which turns the gravity vector by a few mg; its direction
    depends on posture and sensor placement, so the band-passed acceleration is projected on
    its principal axis over the last 30 s of settled signal (PCA over all three axes [2.1]).
    The two directions across that axis hold no breathing: their band-passed variance is the
    sensor's noise *in the breathing band*, whatever its spectrum or quantisation, and sets the
    smallest believable breath. A posture change (the settled gravity vector turns by more
    than ``POSTURE_CHANGE_RAD``) restarts the filters in steady state on the new posture (no
    step transient) and re-learns the axis; the first settled second after movement restarts
    the filters too, so a movement's decaying response never reaches the breath detector.
    Filtering runs second by second, so a restart falls on the same sample whatever the block
    sizes.
    """

    rows = 3

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._last = np.zeros(3)
        self._covs: deque[FloatArray] = deque()
        self._cov_sum = np.zeros((3, 3))
        self._axis = np.array([1.0, 0.0, 0.0])
        self._since_eig = _PCA_REFRESH_S
        self._gravity: list[float] | None = None
        self._moved = False
        self._osc_bp: CausalFilter | None = None

    def _band_high_hz(self) -> float:
        return min(self._s.resp_band_high_hz, const.ACC_BAND_HIGH_HZ)

    def _reset_filters(self) -> None:
        super()._reset_filters()
        assert self.fs is not None
        assert self._dec is not None
        fs_int = self.fs / self._dec.factor
        sos = np.vstack(
            [
                butter_sos(2, const.OSC_LOW_HZ, fs_int, "highpass"),
                butter_sos(2, const.OSC_HIGH_HZ, fs_int, "lowpass"),
            ]
        )
        self._osc_bp = CausalFilter(sos)  # the oscillation check's 0.15-0.5 Hz band
        self._osc_bp.reset(np.zeros(3))
        self._forget_axis()
        self._gravity = None

    def _forget_axis(self) -> None:
        self._covs.clear()
        self._cov_sum = np.zeros((3, 3))
        self._since_eig = _PCA_REFRESH_S

    def _ingest(self, values: FloatArray) -> None:
        return  # filtered second by second in _second (a posture change restarts the filters)

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        assert self._dec is not None
        assert self._bp is not None
        assert self.fs is not None
        holes = math.isnan(seg.sum()) if seg.size else False
        good = seg[:, ~np.isnan(seg).any(axis=0)] if holes else seg
        motion = movement = None
        clipped = static = restarted = False
        n = good.shape[1]
        mean: list[float] | None = None
        if n > 1:
            motion, movement, mean = _movement(good)
            hi_v, lo_v = good.max(axis=1).tolist(), good.min(axis=1).tolist()
            clipped = max(max(hi_v), -min(lo_v)) >= const.CLIP_FRACTION * self._s.acc_full_scale_g
            # Bit-identical readings on every axis for a whole second: a real sensor on a body
            # always flickers, so this is a stuck or off-body sensor, not evidence of apnoea.
            static = hi_v == lo_v
            if max(motion, movement) >= const.SETTLED_X * self._s.gross_motion_g:
                self._moved = True
            else:
                restarted = self._posture(mean)
                if self._moved and not restarted:
                    # Restart on the first still second after movement: the movement's decaying
                    # response would otherwise fill the following seconds (and the noise floor).
                    self._restart_filters(mean)
                self._moved = False
        if seg.shape[1] == 0:
            return Second(tick=tick, coverage=0.0, motion_g=motion)
        if self._first:
            if n == 0:
                return Second(tick=tick, coverage=0.0)
            self._last = good[:, 0].copy()
            self._first = False
            if mean is not None:
                self._restart_filters(mean)  # start on the mean, not the first noisy sample
        filled = fill_forward(seg, self._last) if holes else seg
        self._last = filled[:, -1]  # a view: nothing writes into a second's samples
        dec, keep = self._dec.process(filled)
        y3 = self._bp.process(dec)
        t = np.multiply(keep + lo, 1.0 / self.fs, dtype=np.float64)
        t += self._t_start - self._delay_s
        y = self._axis @ y3
        if y3.shape[1] and n > 1 and not self._moved and self._moving_along(y3, y):
            self._learn_axis(y3)
            y = self._axis @ y3
        noise: float | None = None
        osc: tuple[float, float | None, int] | None = None
        assert self._osc_bp is not None
        h3 = self._osc_bp.process(y3)
        # Until the axis has been learnt over a few seconds, breathing leaks across it and
        # would read as noise (a start-up or post-posture-change "not measurable").
        if y.size > 1 and len(self._covs) >= _PCA_FAST_S:
            across = float(np.vdot(y3, y3)) - float(y @ y)
            h = self._axis @ h3
            along_hp = float(h @ h)
            if self._moved:
                # A turn of the chest leaks into the gravity direction (by its angle squared):
                # a moving second is not sensor noise and feeds neither noise reference (the
                # breath floor's, the oscillation check's).
                osc = (along_hp, None, y.size)
            else:
                noise = math.sqrt(max(across, 0.0) / (2.0 * y.size))
                across_hp = max(float(np.vdot(h3, h3)) - along_hp, 0.0) / 2.0
                osc = (along_hp, across_hp, y.size)
        return Second(
            tick=tick,
            coverage=self._coverage(seg) if holes else min(1.0, seg.shape[1] / self.fs),
            y=y,
            t=t,
            motion_g=motion,
            clipped=clipped,
            static=static,
            noise=noise,
            restarted=restarted,
            movement_g=movement,
            osc=osc,
        )

    def _posture(self, gravity: list[float]) -> bool:
        """Compare a still second's mean acceleration with the last one; on a posture change
        restart the filters (steady state on this second's mean) and the axis."""
        last, self._gravity = self._gravity, gravity
        if last is None:
            return False
        g0, g1, g2 = gravity
        h0, h1, h2 = last
        dot = g0 * h0 + g1 * h1 + g2 * h2
        norm = math.sqrt((g0 * g0 + g1 * g1 + g2 * g2) * (h0 * h0 + h1 * h1 + h2 * h2))
        if norm <= 0.0 or dot >= _COS_POSTURE_CHANGE * norm:
            return False  # turned by at most POSTURE_CHANGE_RAD
        self._restart_filters(gravity)
        self._forget_axis()
        return True

    def _restart_filters(self, mean: list[float]) -> None:
        """Restart the filters in steady state on a still second's mean: starting on its first
        sample instead would turn that sample's noise or residual movement into a step whose
        decay (seconds, in a random direction) could steer the breathing axis."""
        assert self._dec is not None
        assert self._bp is not None
        level = np.array(mean)
        self._dec.reset(level)
        self._bp.reset(level)
        if self._osc_bp is not None:
            self._osc_bp.reset(np.zeros(3))  # its input, band-passed, restarts at zero

    def _moving_along(self, y3: FloatArray, y: FloatArray) -> bool:
        """Whether this second may teach the breathing axis: while the axis is new (the first
        seconds after a restart), or when the signal along it stands above the noise across
        it. Seconds of noise alone (a pause) would turn the axis towards the noise's largest
        direction, and the oscillation check would then read noise as movement."""
        if len(self._covs) < _PCA_FAST_S:
            return True
        along = float(y @ y)
        across = (float(np.vdot(y3, y3)) - along) / 2.0
        return along >= const.AXIS_LEARN_X * across

    def _learn_axis(self, y3: FloatArray) -> None:
        """Track the principal axis of recent still, band-passed acceleration."""
        cov = y3 @ y3.T
        self._covs.append(cov)
        self._cov_sum += cov
        if len(self._covs) > _PCA_WINDOW_S:
            self._cov_sum -= self._covs.popleft()
        self._since_eig += 1
        if self._since_eig >= _PCA_REFRESH_S or len(self._covs) <= _PCA_FAST_S:
            self._since_eig = 0
            axis = np.linalg.eigh(self._cov_sum)[1][:, -1]
        else:
            axis = self._cov_sum @ self._axis
        norm = math.sqrt(float(axis @ axis))
        if norm > 0.0:
            axis = axis / norm
            # Keep the sign stable so the waveform does not flip between seconds.
            self._axis = axis if float(axis @ self._axis) >= 0 else -axis


@functools.lru_cache(maxsize=8)
def _basis(n: int) -> tuple[FloatArray, float]:
    """Ones and the centred sample index of an ``n``-sample second as ``(n, 2)`` columns, and
    the index's sum of squares: one product gives each axis's sum and linear trend."""
    tc = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    basis = np.ascontiguousarray(np.stack([np.ones(n), tc], axis=1))
    basis.setflags(write=False)
    return basis, float(tc @ tc)


def _movement(x: FloatArray) -> tuple[float, float, list[float]]:
    """Per-second std of |a|, std of the vector ``x`` ``(3, n)`` about its per-axis linear
    trend (as one norm), and the mean vector."""
    n = x.shape[1]
    basis, tt = _basis(n)
    sums = (x @ basis).tolist()  # per axis: [sum, sum of index * sample]
    mag2 = (x * x).sum(axis=0)
    s2 = float(mag2.sum())
    energy = s2 - sum(r[0] * r[0] for r in sums) / n - sum(r[1] * r[1] for r in sums) / tt
    m1 = float(np.sqrt(mag2).sum()) / n
    motion = math.sqrt(max(s2 / n - m1 * m1, 0.0))
    return motion, math.sqrt(max(energy, 0.0) / n), [r[0] / n for r in sums]
