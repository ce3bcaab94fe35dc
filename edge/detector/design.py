"""Butterworth designs as second-order sections, their start state and group delay (pure).

The same results as ``scipy.signal``'s ``butter(..., output="sos")``, ``sosfilt_zi`` and
``group_delay`` (``tests/edge/detector/test_design.py`` compares them), computed with numpy
alone: importing ``scipy.signal`` loads about 700 modules and 75 MB, which was most of the edge
agent's memory on a Pi, for three small functions that run once per stream.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

BILINEAR_FS: Final = 2.0
"""scipy designs digital filters on a unit-Nyquist grid (``fs = 2``) and pre-warps the edge."""

REAL_TOL_EPS: Final = 100.0
"""A root counts as real when its imaginary part is within this many eps of its magnitude
(scipy's ``_cplxreal`` tolerance), so conjugate pairs split the same way."""


def butter_sos(
    order: int, cutoff_hz: float, fs_hz: float, btype: Literal["lowpass", "highpass"]
) -> FloatArray:
    """A digital Butterworth filter as an SOS matrix ``(sections, 6)``.

    Args:
        order: filter order (1 or more).
        cutoff_hz: -3 dB edge; strictly between 0 and ``fs_hz / 2``.
        fs_hz: sampling rate.
        btype: ``"lowpass"`` or ``"highpass"``.

    Returns:
        The sections, gain in the first, poles nearest the unit circle in the last.

    Raises:
        ValueError: an order below 1 or a cutoff outside (0, Nyquist).
    """
    wn = 2.0 * cutoff_hz / fs_hz
    if order < 1 or not 0.0 < wn < 1.0:
        raise ValueError(f"Butterworth order {order} at {cutoff_hz} Hz of {fs_hz} Hz")
    warped = 2.0 * BILINEAR_FS * np.tan(np.pi * wn / BILINEAR_FS)
    prototype = -np.exp(1j * np.pi * np.arange(-order + 1, order, 2) / (2 * order))
    zeros_s: ComplexArray
    if btype == "lowpass":
        zeros_s = np.zeros(0, dtype=np.complex128)
        poles_s = warped * prototype
        gain = warped**order
    else:
        zeros_s = np.zeros(order, dtype=np.complex128)
        poles_s = warped / prototype
        gain = float(np.real(1.0 / np.prod(-prototype)))
    fs2 = 2.0 * BILINEAR_FS
    zeros_z = np.concatenate(
        [(fs2 + zeros_s) / (fs2 - zeros_s), -np.ones(len(poles_s) - len(zeros_s))]
    )
    poles_z = (fs2 + poles_s) / (fs2 - poles_s)
    gain *= float(np.real(np.prod(fs2 - zeros_s) / np.prod(fs2 - poles_s)))
    return _zpk2sos(zeros_z, poles_z, gain)


def _is_real(x: ComplexArray) -> npt.NDArray[np.bool_]:
    return np.abs(x.imag) <= REAL_TOL_EPS * np.finfo(np.float64).eps * np.abs(x)


def _one_of_each_pair(x: ComplexArray) -> ComplexArray:
    """Complex roots once each (positive imaginary part), then the real ones; sorted as scipy."""
    real = _is_real(x)
    complex_half = x[~real & (x.imag > 0)]
    complex_half = complex_half[np.lexsort((np.abs(complex_half.imag), complex_half.real))]
    return np.concatenate([complex_half, np.sort(x[real].real).astype(np.complex128)])


def _section(zeros: list[complex], poles: list[complex]) -> FloatArray:
    row = np.zeros(6)
    b = np.real(np.poly(zeros)) if zeros else np.ones(1)
    a = np.real(np.poly(poles))
    row[3 - len(b) : 3] = b
    row[6 - len(a) : 6] = a
    return row


def _take_nearest(roots: ComplexArray, target: complex) -> tuple[complex, ComplexArray]:
    i = int(np.argmin(np.abs(roots - target)))
    return complex(roots[i]), np.delete(roots, i)


def _zpk2sos(zeros: ComplexArray, poles: ComplexArray, gain: float) -> FloatArray:
    """scipy's ``zpk2sos`` with ``pairing="nearest"``, for a filter whose zeros are all real."""
    n_sections = (len(poles) + 1) // 2
    if len(poles) % 2 == 1:
        poles = np.append(poles, 0.0)
        zeros = np.append(zeros, 0.0)
    z = np.sort(zeros.real).astype(np.complex128)
    p = _one_of_each_pair(poles)
    sos = np.zeros((n_sections, 6))
    for si in range(n_sections - 1, -1, -1):
        worst = int(np.argmin(np.abs(1 - np.abs(p))))  # closest to the unit circle goes last
        p1 = complex(p[worst])
        p = np.delete(p, worst)
        if p1.imag == 0.0 and not _is_real(p).any():
            z1, z = _take_nearest(z, p1)
            sos[si] = _section([z1, 0], [p1, 0])
            continue
        if p1.imag == 0.0:
            reals = np.flatnonzero(_is_real(p))
            j = int(reals[np.argmin(np.abs(1 - np.abs(p[reals])))])
            p2 = complex(p[j])
            p = np.delete(p, j)
        else:
            p2 = p1.conjugate()
        pair: list[complex] = []
        for _ in range(2):
            if len(z):
                zk, z = _take_nearest(z, p1)
                pair.append(zk)
        sos[si] = _section(pair, [p1, p2])
    sos[0, :3] *= gain
    return sos


def _lfilter_zi(b: FloatArray, a: FloatArray) -> FloatArray:
    """Steady-state state of one section for a unit step (scipy's ``lfilter_zi``)."""
    b = b / a[0]
    a = a / a[0]
    n = max(len(a), len(b))
    companion = np.zeros((n - 1, n - 1))
    companion[0, :] = -a[1:]
    companion[1:, :-1] += np.eye(n - 2)
    i_minus_a = np.eye(n - 1) - companion.T
    rhs = b[1:] - a[1:] * b[0]
    zi: FloatArray = np.linalg.solve(i_minus_a, rhs)
    return zi


def sosfilt_zi(sos: FloatArray) -> FloatArray:
    """Per-section state ``(sections, 2)`` for a unit step in steady state (``sosfilt_zi``)."""
    zi = np.empty((sos.shape[0], 2))
    scale = 1.0
    for k, section in enumerate(np.asarray(sos, dtype=np.float64)):
        b, a = section[:3], section[3:]
        zi[k] = scale * _lfilter_zi(b, a)
        scale *= b.sum() / a.sum()
    return zi


def section_group_delay(section: FloatArray, freq_hz: float, fs_hz: float) -> float:
    """Group delay of one section at ``freq_hz``, in samples (scipy's ``group_delay``)."""
    b, a = section[:3], section[3:]
    c = np.convolve(b, a[::-1])
    cr = c * np.arange(c.size)
    z = np.exp(-1j * 2.0 * np.pi * freq_hz / fs_hz)
    num = np.polyval(cr[::-1], z)
    den = np.polyval(c[::-1], z)
    return float(np.real(num / den)) - a.size + 1
