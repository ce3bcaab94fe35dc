"""Per-channel conditioning: sample timelines, causal filters and per-second summaries (pure).

A stream turns sample blocks of one channel group into one :class:`Second` per whole second of
the sample clock. Respiration streams band-pass their signal (the accelerometer group is first
projected onto its main breathing axis); scalar streams summarise each second. Gaps shorter than
``gap_s`` are padded with missing samples; longer gaps restart the filters. Everything here runs
once per block or once per second, never once per sample.
"""

from __future__ import annotations

import math
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
    group_delay_s,
)
from edge.detector.settings import DetectorSettings

IndexArray = npt.NDArray[np.int64]

_INDEX_EPS = 1e-6
"""Sample-index tolerance when cutting seconds (far below one sample)."""
_EMPTY: FloatArray = np.empty(0)


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
        noise: noise standard deviation in the breathing band (respiration streams), else
            None: from the signal's second difference (belt, radar), or from the band-passed
            acceleration across the breathing axis (accelerometer).
        restarted: the accelerometer's filters restarted on a posture change this second.
        movement_g: per-second std of the acceleration vector about its linear trend
            (accelerometer), else None: movement across gravity, which leaves |a| unchanged.
        osc: accelerometer only, once its breathing axis is known: energy (sum of squares,
            signal units squared) above ``OSC_LOW_HZ`` along the breathing axis, the same
            across it per direction (None in a second the chest moved: not sensor noise), and
            the number of samples; else None.
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
    restarted: bool = False
    movement_g: float | None = None
    osc: tuple[float, float | None, int] | None = None


def fill_forward(x: FloatArray, last: FloatArray) -> FloatArray:
    """Replace NaNs in ``x`` ``(rows, n)`` by the previous valid value (``last`` at the start)."""
    bad = np.isnan(x)
    if not bad.any():
        return x
    idx = np.where(~bad, np.arange(x.shape[1]), -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    rows = np.arange(x.shape[0])[:, None]
    filled = x[rows, np.maximum(idx, 0)]
    out: FloatArray = np.where(idx >= 0, filled, last[:, None])
    return out


class Stream:
    """Base: a sample timeline cut into whole seconds."""

    rows = 1

    def __init__(self, settings: DetectorSettings) -> None:
        self._s = settings
        self.fs: float | None = None
        self._t_start = 0.0
        self._n = 0  # samples since _t_start
        self._tick = 0  # next second to emit
        self._raw: FloatArray = np.empty((self.rows, 0))
        self._raw_start = 0  # sample index of _raw[:, 0]
        self.end_s = -math.inf  # time just after the last sample received

    def feed(self, t0: float, fs: float, values: FloatArray) -> list[Second]:
        """Add samples ``(rows, n)`` starting at ``t0``; return the seconds completed."""
        if values.shape[1] == 0:
            return []
        out: list[Second] = []
        if self.fs is not None and abs(fs - self.fs) <= const.FS_TOLERANCE * self.fs:
            fs = self.fs  # the same device rate, reported with a little rounding or jitter
        expected = self._t_start + self._n / fs if self.fs is not None else -math.inf
        if self.fs != fs or t0 > expected + self._s.gap_s:
            out.extend(self._flush())
            self._restart(t0, fs)
        elif t0 > expected + const.JITTER_SAMPLES / fs:
            pad = round((t0 - expected) * fs)
            values = np.concatenate([np.full((self.rows, pad), np.nan), values], axis=1)
        elif t0 < expected - const.JITTER_SAMPLES / fs:
            values = values[:, round((expected - t0) * fs) :]
            if values.shape[1] == 0:
                return out
        self._ingest(values)
        self._raw = np.concatenate((self._raw, values), axis=1) if self._raw.size else values
        self._n += values.shape[1]
        self.end_s = self._t_start + self._n / fs
        out.extend(self._cut())
        return out

    def _restart(self, t0: float, fs: float) -> None:
        self.fs = fs
        self._t_start = t0
        self._n = 0
        self._raw = np.empty((self.rows, 0))
        self._raw_start = 0
        self._tick = max(self._tick, math.floor(t0))
        self._reset_filters()

    def _index(self, tick: int) -> int:
        assert self.fs is not None
        # A hair below the boundary so float noise never moves a sample into the next second.
        return max(0, math.ceil((tick - self._t_start) * self.fs - _INDEX_EPS))

    def _cut(self) -> list[Second]:
        out: list[Second] = []
        lo = max(self._index(self._tick), self._raw_start)
        while (hi := self._index(self._tick + 1)) <= self._n:
            seg = self._raw[:, lo - self._raw_start : hi - self._raw_start]
            out.append(self._second(self._tick, seg, lo, hi))
            self._tick += 1
            lo = hi
        if lo > self._raw_start:
            self._raw = self._raw[:, lo - self._raw_start :]
            self._raw_start = lo
        return out

    def _flush(self) -> list[Second]:
        """Emit the partial last second before a restart."""
        if self.fs is None or self._n == 0:
            return []
        lo = max(self._index(self._tick), self._raw_start)
        seg = self._raw[:, lo - self._raw_start :]
        out = [self._second(self._tick, seg, lo, self._n)] if seg.shape[1] else []
        self._tick += 1
        return out

    def _coverage(self, seg: FloatArray) -> float:
        assert self.fs is not None
        n = seg.shape[1]
        if np.isnan(seg).any():
            n = int(np.count_nonzero(~np.isnan(seg).any(axis=0)))
        return float(min(1.0, n / max(1.0, self.fs)))

    # Hooks for subclasses.
    def _reset_filters(self) -> None:
        return

    def _ingest(self, values: FloatArray) -> None:
        return

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        return Second(tick=tick, coverage=self._coverage(seg))


class ScalarStream(Stream):
    """SpO2, HR, presence, radar motion or door: the per-second median (or max) of readings."""

    def __init__(self, settings: DetectorSettings, *, reduce_max: bool = False) -> None:
        super().__init__(settings)
        self._reduce_max = reduce_max

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        row = seg[0]
        if row.size == 1:
            v = float(row[0])
            value = None if math.isnan(v) else v
        else:
            valid = row[~np.isnan(row)]
            value = None
            if valid.size:
                value = float(valid.max() if self._reduce_max else np.median(valid))
        # Slow channels (1 Hz SpO2) count as present if the second holds any reading slot.
        return Second(tick=tick, coverage=1.0 if row.size else 0.0, value=value)


class RespStream(Stream):
    """A respiration waveform (belt, radar phase): decimate, band-pass, cut into seconds."""

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._dec: Decimator | None = None
        self._bp: CausalFilter | None = None
        self._last = np.zeros(self.rows)
        self._first = True
        self._noise_scale = 1.0
        self._delay_s = 0.0
        # Rows: band-passed signal, then the decimated raw signal (for the noise probe).
        self._y: FloatArray = np.empty((2 * self.rows, 0))
        self._yi: IndexArray = np.empty(0, dtype=np.int64)

    def _reset_filters(self) -> None:
        assert self.fs is not None
        s = self._s
        cutoff = const.ANTI_ALIAS_FRACTION * s.internal_fs_hz
        self._dec = Decimator(self.fs, s.internal_fs_hz, cutoff)
        fs_int = self.fs / self._dec.factor
        if s.resp_band_high_hz >= fs_int / 2:
            reason = f"sampling rate {self.fs:g} Hz is too low for a respiration channel"
            raise InputError(reason)
        high = self._band_high_hz()
        sos = design_bandpass(s.resp_band_low_hz, high, fs_int, s.filter_order)
        self._bp = CausalFilter(sos)
        # Filtered samples are stamped with the time of the raw signal they mostly reflect: the
        # filters' group delay at a typical breathing rate is taken off, so breath and pause
        # times (and an apnoea's onset) are not reported late.
        self._delay_s = group_delay_s(sos, const.TYPICAL_BREATH_HZ, fs_int)
        if self._dec.sos is not None:
            self._delay_s += group_delay_s(self._dec.sos, const.TYPICAL_BREATH_HZ, self.fs)
        # White noise of std sigma gives a second difference of std sqrt(6) * sigma; the part
        # of it inside the breathing band is sqrt(band / Nyquist) of the whole.
        band = high - s.resp_band_low_hz
        self._noise_scale = math.sqrt(band / (fs_int / 2)) / math.sqrt(6.0)
        self._y = np.empty((2 * self.rows, 0))
        self._yi = np.empty(0, dtype=np.int64)
        self._first = True

    def _band_high_hz(self) -> float:
        """Upper edge of the breathing band."""
        return self._s.resp_band_high_hz

    def _ingest(self, values: FloatArray) -> None:
        assert self._dec is not None
        assert self._bp is not None
        if self._first:
            valid = values[:, ~np.isnan(values).any(axis=0)]
            if valid.shape[1] == 0:
                return
            self._last = valid[:, 0].copy()
            self._first = False
        filled = fill_forward(values, self._last)
        self._last = filled[:, -1].copy()
        dec, keep = self._dec.process(filled)
        y = np.concatenate((self._bp.process(dec), dec), axis=0)
        self._y = np.concatenate((self._y, y), axis=1) if self._y.size else y
        keep = keep + self._n
        self._yi = np.concatenate((self._yi, keep)) if self._yi.size else keep

    def _take(self, lo: int, hi: int) -> tuple[FloatArray, FloatArray]:
        """The conditioned rows and times of samples ``[lo, hi)``; drops what came before."""
        a = int(np.searchsorted(self._yi, lo))
        b = int(np.searchsorted(self._yi, hi))
        y = self._y[:, a:b]
        assert self.fs is not None
        t = self._t_start + self._yi[a:b] / self.fs - self._delay_s
        self._y = self._y[:, b:]
        self._yi = self._yi[b:]
        return y, t

    def _noise(self, raw: FloatArray) -> float | None:
        if raw.size < 4:
            return None
        d2 = raw[2:] - 2.0 * raw[1:-1] + raw[:-2]
        return math.sqrt(float(d2 @ d2) / d2.size) * self._noise_scale

    def _second(self, tick: int, seg: FloatArray, lo: int, hi: int) -> Second:
        y, t = self._take(lo, hi)
        row = seg[0]
        ok = row[~np.isnan(row)] if np.isnan(row).any() else row
        static = ok.size > 1 and bool(ok.max() == ok.min())
        return Second(
            tick=tick,
            coverage=self._coverage(seg),
            y=y[0],
            t=t,
            static=static,
            noise=self._noise(y[1]),
        )
