"""Spectral cross-check of the breathing rate over the last minute (pure).

Time-domain breath counting can miss or add breaths (shallow breaths, speech); the dominant
frequency of the last 60 s of band-passed signal gives an independent rate, and how much of the
band's power sits around that peak says whether breathing is regular enough for the spectrum to
be trusted [detection.md 2.2, 2.5 "spectral concentration"; Karlen 2013 "Smart Fusion"].
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detector.filters import FloatArray
from edge.detector.settings import DetectorSettings

_UPDATE_S = 10
"""The spectrum is recomputed every 10 s: slowed breathing develops over minutes [1.3]."""
_NFFT = 2048
"""Zero-padded FFT length: at 25 Hz a 0.012 Hz grid (0.73 breaths/min), finer than the 60 s
window's own resolution of 1/min."""
_PEAK_HALF_WIDTH_HZ = 0.03
"""Power within +-0.03 Hz of the peak counts as "at the peak" (a 60 s window resolves 0.017 Hz)."""


@dataclass(frozen=True, slots=True)
class Spectrum:
    """The last spectral estimate of one channel.

    Attributes:
        rate_bpm: dominant breathing frequency, per minute.
        concentration: fraction of the breathing band's power near that peak (0-1).
    """

    rate_bpm: float
    concentration: float


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> FloatArray:
    window: FloatArray = np.hanning(n)
    window.setflags(write=False)
    return window


class SpectralRate:
    """Keeps a minute of band-passed signal and re-estimates its dominant rate every 10 s."""

    def __init__(self, settings: DetectorSettings) -> None:
        self._s = settings
        self._seconds: deque[FloatArray] = deque(maxlen=round(settings.rate_window_s))
        self._last: Spectrum | None = None
        self._count = 0

    def reset(self) -> None:
        """Drop the window after a gap or artefact (it would mix unrelated signal)."""
        self._seconds.clear()
        self._last = None

    def add(self, y: FloatArray, fs_hz: float) -> Spectrum | None:
        """Add one good second; return the current estimate (None until a full window)."""
        self._seconds.append(y)
        self._count += 1
        full = len(self._seconds) == self._seconds.maxlen
        if full and (self._last is None or self._count % _UPDATE_S == 0):
            self._last = self._estimate(np.concatenate(self._seconds), fs_hz)
        return self._last if full else None

    def _estimate(self, x: FloatArray, fs_hz: float) -> Spectrum | None:
        if x.size < 8 or not math.isfinite(fs_hz):
            return None
        window = _hann(x.size)
        nfft = max(_NFFT, x.size)
        power = np.abs(np.fft.rfft((x - x.mean()) * window, n=nfft)) ** 2
        freqs, band, where = _grid(nfft, fs_hz, self._s.resp_band_low_hz, self._s.resp_band_high_hz)
        in_band = power[band]
        total = float(in_band.sum())
        if total <= 0.0:
            return None
        k = int(where[int(in_band.argmax())])
        near = band & (np.abs(freqs - freqs[k]) <= _PEAK_HALF_WIDTH_HZ)
        concentration = float(power[near].sum()) / total
        return Spectrum(rate_bpm=float(freqs[k] * 60.0), concentration=concentration)


@functools.lru_cache(maxsize=8)
def _grid(
    nfft: int, fs_hz: float, low_hz: float, high_hz: float
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """The FFT's frequencies, the breathing band's mask and its indices (read-only, shared)."""
    freqs: FloatArray = np.fft.rfftfreq(nfft, 1.0 / fs_hz).astype(np.float64, copy=False)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    where = np.flatnonzero(band)
    for a in (freqs, band, where):
        a.setflags(write=False)
    return freqs, band, where
