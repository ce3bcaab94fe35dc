"""Per-channel conditioning: sample timelines, causal filters and per-second summaries (pure).

A stream turns sample blocks of one channel group into one :class:`Second` per whole second of
the sample clock. Respiration streams band-pass their signal (the accelerometer group is first
projected onto its main breathing axis); scalar streams summarise each second. Gaps shorter than
``gap_s`` are padded with missing samples; longer gaps restart the filters.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.detector import const
from edge.detector.errors import InputError
from edge.detector.filters import (
    CausalFilter,
    Decimator,
    FloatArray,
    design_bandpass,
    design_highpass,
)
from edge.detector.settings import DetectorSettings

_PCA_WINDOW_S = 30
"""Seconds of band-passed acceleration used for the breathing axis (about six breaths)."""
_EMPTY = np.empty(0)


@dataclass(frozen=True, slots=True)
class Second:
    """Summary of one stream over the second ``[tick, tick + 1)``.

    Attributes:
        tick: whole second on the sample clock.
        coverage: fraction of expected samples present.
        y: band-passed respiration samples (respiration streams), else empty.
        t: their times.
        motion_g: per-second std of |a| (accelerometer), else None.
        clipped: a sample reached the sensor's full scale.
        static: the raw signal did not move at all (stuck sensor or lying on a table).
        value: summary of a scalar channel (median of valid readings), else None.
        noise: noise standard deviation in the breathing band, estimated from the signal above
            it (respiration streams), else None.
    """

    tick: int
    coverage: float
    y: FloatArray = field(default_factory=lambda: _EMPTY)
    t: FloatArray = field(default_factory=lambda: _EMPTY)
    motion_g: float | None = None
    clipped: bool = False
    static: bool = False
    value: float | None = None
    noise: float | None = None


def _rms(x: FloatArray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def fill_forward(x: FloatArray, last: FloatArray) -> FloatArray:
    """Replace NaNs in ``x`` ``(rows, n)`` by the previous valid value (``last`` at the start)."""
    bad = np.isnan(x)
    if not bad.any():
        return x
    idx = np.where(~bad, np.arange(x.shape[1]), -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    rows = np.arange(x.shape[0])[:, None]
    filled = x[rows, np.maximum(idx, 0)]
    return np.where(idx >= 0, filled, last[:, None])


class Stream:
    """Base: a sample timeline cut into whole seconds."""

    rows = 1

    def __init__(self, settings: DetectorSettings) -> None:
        self._s = settings
        self.fs: float | None = None
        self._t_start = 0.0
        self._n = 0  # samples since _t_start
        self._tick = 0  # next second to emit
        self._raw: list[FloatArray] = []
        self._raw_start = 0  # sample index of the first buffered raw sample
        self.end_s = -math.inf  # time just after the last sample received

    def feed(self, t0: float, fs: float, values: FloatArray) -> list[Second]:
        """Add samples ``(rows, n)`` starting at ``t0``; return the seconds completed."""
        n = values.shape[1]
        if n == 0:
            return []
        out: list[Second] = []
        expected = self._t_start + self._n / fs if self.fs is not None else -math.inf
        if self.fs != fs or t0 > expected + self._s.gap_s:
            out.extend(self._flush())
            self._restart(t0, fs)
        elif t0 > expected + 0.5 / fs:
            pad = round((t0 - expected) * fs)
            values = np.concatenate([np.full((self.rows, pad), np.nan), values], axis=1)
        elif t0 < expected - 0.5 / fs:
            drop = round((expected - t0) * fs)
            values = values[:, drop:]
        if values.shape[1] == 0:
            return out
        self._ingest(values)
        self._raw.append(values)
        self._n += values.shape[1]
        self.end_s = self._t_start + self._n / fs
        out.extend(self._cut())
        return out

    def _restart(self, t0: float, fs: float) -> None:
        self.fs = fs
        self._t_start = t0
        self._n = 0
        self._raw = []
        self._raw_start = 0
        self._tick = max(self._tick, math.floor(t0))
        self._reset_filters()

    def _index(self, tick: int) -> int:
        assert self.fs is not None
        return max(0, math.ceil((tick - self._t_start) * self.fs - 1e-6))

    def _cut(self) -> list[Second]:
        out: list[Second] = []
        if self._index(self._tick + 1) > self._n:
            return out
        raw = np.concatenate(self._raw, axis=1) if len(self._raw) > 1 else self._raw[0]
        while (hi := self._index(self._tick + 1)) <= self._n:
            lo = max(self._index(self._tick), self._raw_start)
            seg = raw[:, lo - self._raw_start : hi - self._raw_start]
            out.append(self._second(self._tick, seg, lo, hi))
            self._tick += 1
        keep_from = max(self._index(self._tick), self._raw_start)
        self._raw = [raw[:, keep_from - self._raw_start :]]
        self._raw_start = keep_from
        return out

    def _flush(self) -> list[Second]:
        """Emit the partial last second before a restart."""
        if self.fs is None or self._n == 0:
            return []
        raw = np.concatenate(self._raw, axis=1)
        lo = max(self._index(self._tick), self._raw_start)
        seg = raw[:, lo - self._raw_start :]
        out = [self._second(self._tick, seg, lo, self._n)] if seg.shape[1] else []
        self._tick += 1
        return out

    def _coverage(self, seg: FloatArray) -> float:
        assert self.fs is not None
        valid = int(np.count_nonzero(~np.isnan(seg).any(axis=0)))
        return min(1.0, valid / max(1.0, self.fs))

    # Hooks for subclasses.
    def _reset_filters(self) -> None:
        return

    def _ingest(self, values: FloatArray) -> None:
        return

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        return Second(tick=tick, coverage=self._coverage(seg))


class ScalarStream(Stream):
    """SpO2, HR, presence, radar motion or door: the per-second median of valid readings."""

    def __init__(self, settings: DetectorSettings, *, reduce: str = "median") -> None:
        super().__init__(settings)
        self._reduce = reduce

    def _coverage(self, seg: FloatArray) -> float:
        # Slow channels (1 Hz SpO2) are present if the second holds any reading slot at all.
        return 1.0 if seg.shape[1] else 0.0

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        row = seg[0]
        valid = row[~np.isnan(row)]
        value: float | None = None
        if valid.size:
            value = float(valid.max() if self._reduce == "max" else np.median(valid))
        return Second(tick=tick, coverage=self._coverage(seg), value=value)


class RespStream(Stream):
    """A respiration waveform (belt, radar phase): decimate, band-pass, cut into seconds."""

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._dec: Decimator | None = None
        self._bp: CausalFilter | None = None
        self._hf: CausalFilter | None = None
        self._noise_scale = 1.0
        self._last = np.zeros(self.rows)
        self._y: list[FloatArray] = []
        self._yi: list[npt.NDArray[np.int64]] = []

    def _reset_filters(self) -> None:
        assert self.fs is not None
        s = self._s
        self._dec = Decimator(
            self.fs, s.internal_fs_hz, const.ANTI_ALIAS_FRACTION * s.internal_fs_hz
        )
        fs_int = self.fs / self._dec.factor
        if s.resp_band_high_hz >= fs_int / 2:
            reason = f"sampling rate {self.fs} Hz is too low for a respiration channel"
            raise InputError(reason)
        self._bp = CausalFilter(
            design_bandpass(s.resp_band_low_hz, s.resp_band_high_hz, fs_int, s.filter_order)
        )
        self._hf = CausalFilter(design_highpass(const.NOISE_BAND_LOW_HZ, fs_int))
        # White noise measured above NOISE_BAND_LOW_HZ, rescaled to the breathing band's width.
        upper = (const.ANTI_ALIAS_FRACTION if self._dec.factor > 1 else 0.5) * fs_int
        band = s.resp_band_high_hz - s.resp_band_low_hz
        self._noise_scale = math.sqrt(band / max(upper - const.NOISE_BAND_LOW_HZ, band))
        self._y, self._yi = [], []
        self._first = True

    def _condition(self, x: FloatArray) -> FloatArray:
        """Band-passed rows stacked over the noise-band rows: ``(2 * rows, n)``."""
        assert self._bp is not None
        assert self._hf is not None
        return np.concatenate([self._bp.process(x), self._hf.process(x)], axis=0)

    def _ingest(self, values: FloatArray) -> None:
        assert self._dec is not None
        if self._first:
            valid = values[:, ~np.isnan(values).any(axis=0)]
            if valid.shape[1] == 0:
                return
            self._last = valid[:, 0].copy()
            self._first = False
        filled = fill_forward(values, self._last)
        self._last = filled[:, -1].copy()
        dec, keep = self._dec.process(filled)
        self._y.append(self._condition(dec))
        self._yi.append(keep + self._n)

    def _take(self, lo: int, hi: int) -> tuple[FloatArray, FloatArray]:
        if not self._y:
            return np.empty((2, 0)), _EMPTY
        y = np.concatenate(self._y, axis=1) if len(self._y) > 1 else self._y[0]
        yi = np.concatenate(self._yi) if len(self._yi) > 1 else self._yi[0]
        a = int(np.searchsorted(yi, lo))
        b = int(np.searchsorted(yi, hi))
        self._y, self._yi = [y[:, b:]], [yi[b:]]
        assert self.fs is not None
        return y[:, a:b], self._t_start + yi[a:b] / self.fs

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        y, t = self._take(lo, hi)
        ok = seg[0][~np.isnan(seg[0])]
        static = ok.size > 1 and bool(np.ptp(ok) == 0.0)
        noise = _rms(y[1]) * self._noise_scale if y.size else None
        return Second(
            tick=tick,
            coverage=self._coverage(seg),
            y=y[0] if y.size else _EMPTY,
            t=t,
            static=static,
            noise=noise,
        )


class AccStream(RespStream):
    """A three-axis accelerometer: motion, clipping, and breathing on its main axis (PCA)."""

    rows = 3

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._last = np.zeros(3)
        self._cov: deque[FloatArray] = deque(maxlen=_PCA_WINDOW_S)
        self._axis = np.array([1.0, 0.0, 0.0])
        self._bp3: FloatArray = np.empty((6, 0))
        self._bp3_i: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)

    def _reset_filters(self) -> None:
        super()._reset_filters()
        self._cov.clear()
        self._bp3 = np.empty((6, 0))
        self._bp3_i = np.empty(0, dtype=np.int64)

    def _ingest(self, values: FloatArray) -> None:
        before = len(self._y)
        super()._ingest(values)
        if len(self._y) > before:
            # Keep the three band-passed axes; projection happens per second in _second.
            self._bp3 = np.concatenate([self._bp3, self._y.pop()], axis=1)
            self._bp3_i = np.concatenate([self._bp3_i, self._yi.pop()])

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        assert self.fs is not None
        a = int(np.searchsorted(self._bp3_i, lo))
        b = int(np.searchsorted(self._bp3_i, hi))
        y3 = self._bp3[:, a:b]
        t = self._t_start + self._bp3_i[a:b] / self.fs
        self._bp3, self._bp3_i = self._bp3[:, b:], self._bp3_i[b:]
        good = seg[:, ~np.isnan(seg).any(axis=0)]
        coverage = self._coverage(seg)
        motion = None
        clipped = static = False
        if good.shape[1] > 1:
            mag = np.sqrt(np.einsum("ij,ij->j", good, good))
            motion = float(mag.std())
            clipped = bool(np.abs(good).max() >= 0.99 * self._s.acc_full_scale_g)
            # Bit-identical readings on every axis for a whole second: a real sensor on a body
            # always flickers, so this is a stuck or off-body sensor, not evidence of apnoea.
            static = bool(np.ptp(good, axis=1).max() == 0.0)
        y = self._project(y3[:3], motion)
        noise = _rms(self._axis @ y3[3:]) * self._noise_scale if y3.shape[1] else None
        return Second(
            tick=tick,
            coverage=coverage,
            y=y,
            t=t,
            motion_g=motion,
            clipped=clipped,
            static=static,
            noise=noise,
        )

    def _project(self, y3: FloatArray, motion: float | None) -> FloatArray:
        """Project onto the principal axis of recent still, band-passed acceleration."""
        if y3.shape[1] and motion is not None and motion < self._s.gross_motion_g:
            self._cov.append(y3 @ y3.T)
            total = np.sum(self._cov, axis=0)
            _, vecs = np.linalg.eigh(total)
            axis = vecs[:, -1]
            # Keep the sign stable so the waveform does not flip between seconds.
            self._axis = axis if float(axis @ self._axis) >= 0 else -axis
        out: FloatArray = self._axis @ y3
        return out
