"""Helpers shared by the physiology simulator tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FS_HZ = 25.0


def band_power(x: npt.NDArray[np.float64], fs_hz: float, lo_hz: float, hi_hz: float) -> float:
    """Mean power of ``x`` (mean removed) between ``lo_hz`` and ``hi_hz``."""
    spectrum = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / fs_hz)
    return float(spectrum[(freqs >= lo_hz) & (freqs <= hi_hz)].sum() / len(x) ** 2)


def peak_rate_bpm(x: npt.NDArray[np.float64], fs_hz: float) -> float:
    """The breathing rate at the spectral peak of ``x`` between 2 and 40 per minute."""
    x = x - x.mean()
    n = len(x) * 8
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    freqs = np.fft.rfftfreq(n, 1.0 / fs_hz) * 60.0
    band = (freqs > 2.0) & (freqs < 40.0)
    return float(freqs[band][np.argmax(spectrum[band])])
