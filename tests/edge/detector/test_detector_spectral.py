"""Spectral cross-check: finds the breathing rate of regular breathing, distrusts noise."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detector import DetectorSettings
from edge.detector.spectral import SpectralRate

FS = 25.0


def _feed(x: np.ndarray) -> object:
    sr = SpectralRate(DetectorSettings())
    out = None
    for k in range(0, x.size, int(FS)):
        out = sr.add(x[k : k + int(FS)], FS)
    return out


@pytest.mark.parametrize("rate_bpm", [5.0, 7.5, 12.0, 18.0, 30.0])
def test_spectral_rate_finds_the_breathing_frequency(rate_bpm: float) -> None:
    t = np.arange(0, 90, 1 / FS)
    rng = np.random.default_rng(1)
    x = np.sin(2 * np.pi * rate_bpm / 60 * t) + 0.2 * rng.normal(size=t.size)
    spectrum = _feed(x)
    assert spectrum is not None
    assert abs(spectrum.rate_bpm - rate_bpm) <= 0.6
    assert spectrum.concentration >= 0.5


def test_spectral_rate_distrusts_broadband_noise() -> None:
    x = np.random.default_rng(2).normal(size=int(90 * FS))
    spectrum = _feed(x)
    assert spectrum is not None
    assert spectrum.concentration < 0.5


def test_spectral_rate_needs_a_full_minute_and_resets() -> None:
    sr = SpectralRate(DetectorSettings())
    tone = np.sin(2 * np.pi * 0.25 * np.arange(0, 1, 1 / FS))
    assert all(sr.add(tone, FS) is None for _ in range(59))
    assert sr.add(tone, FS) is not None
    sr.reset()
    assert sr.add(tone, FS) is None
