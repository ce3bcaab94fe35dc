"""The numpy filter designs equal scipy.signal's, so the edge need not import scipy.signal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal  # type: ignore[import-untyped]

from edge.detector.design import butter_sos, section_group_delay, sosfilt_zi
from edge.detector.filters import CausalFilter, design_bandpass, group_delay_s

CASES = [
    (order, cutoff, fs, btype)
    for order in (1, 2, 3, 4, 5)
    for cutoff, fs in ((0.05, 10.0), (0.7, 10.0), (2.0, 25.0), (11.0, 50.0), (0.45, 1.0))
    for btype in ("lowpass", "highpass")
]


@pytest.mark.parametrize(("order", "cutoff", "fs", "btype"), CASES)
def test_design_butter_sos_equals_scipy(order: int, cutoff: float, fs: float, btype: str) -> None:
    ours = butter_sos(order, cutoff, fs, btype)  # type: ignore[arg-type]
    theirs = signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sosfilt_zi(ours), signal.sosfilt_zi(theirs), rtol=1e-8, atol=1e-10)
    for section in theirs:
        _, gd = signal.group_delay((section[:3], section[3:]), w=[0.25], fs=fs)
        assert section_group_delay(section, 0.25, fs) == pytest.approx(float(gd[0]), rel=1e-9)


@pytest.mark.parametrize(("order", "cutoff", "fs"), [(0, 1.0, 10.0), (2, 5.0, 10.0), (2, 0, 10.0)])
def test_design_butter_sos_rejects_impossible_filters(order: int, cutoff: float, fs: float) -> None:
    with pytest.raises(ValueError, match="Butterworth"):
        butter_sos(order, cutoff, fs, "lowpass")


def test_design_detector_band_filters_like_scipy() -> None:
    sos = np.array(design_bandpass(0.05, 1.0, 10.0, 4))
    x = np.random.default_rng(7).standard_normal((3, 600))
    y = CausalFilter(sos).process(x)
    zi = signal.sosfilt_zi(sos)[:, None, :] * x[None, :, 0, None]  # steady state on sample 0
    expected, _ = signal.sosfilt(sos, x, axis=-1, zi=zi)
    np.testing.assert_allclose(y, expected, rtol=1e-9, atol=1e-9)
    scipy_delay = sum(
        float(signal.group_delay((s[:3], s[3:]), w=[0.25], fs=10.0)[1][0]) for s in sos
    )
    assert group_delay_s(sos, 0.25, 10.0) == pytest.approx(scipy_delay / 10.0, rel=1e-9)
