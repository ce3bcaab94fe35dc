"""Causal IIR filters with carried state, and a stateful decimator (pure).

Every filter here is ``scipy.signal.sosfilt`` with its ``zi`` carried from call to call, so a
signal fed in pieces of any length gives exactly the output of the whole signal fed at once.
Non-causal filtering (``filtfilt``) has no place on the live path. Designs come from
:mod:`edge.detector.design` (numpy); the kernel is scipy's compiled ``sosfilt``, loaded without
the rest of ``scipy.signal`` (see :func:`_load_kernel`).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from edge.detector.design import butter_sos, section_group_delay, sosfilt_zi

FloatArray = npt.NDArray[np.float64]
Kernel = Callable[[FloatArray, FloatArray, FloatArray], None]


@lru_cache(maxsize=64)
def design_bandpass(low_hz: float, high_hz: float, fs_hz: float, order: int) -> FloatArray:
    """Respiration band-pass: first-order high-pass, Butterworth low-pass, as SOS.

    The high-pass is first order on purpose: when breathing stops at end-expiration the
    signal's mean steps down, and a second-order high-pass would overshoot back through zero
    several seconds later and look like one more breath. A first-order section decays without
    crossing zero.

    Args:
        low_hz: high-pass -3 dB edge.
        high_hz: low-pass -3 dB edge; clipped below Nyquist.
        fs_hz: sampling rate.
        order: low-pass order.

    Returns:
        The SOS matrix.
    """
    high = min(high_hz, 0.45 * fs_hz)
    hp = butter_sos(1, low_hz, fs_hz, "highpass")
    lp = butter_sos(order, high, fs_hz, "lowpass")
    sos: FloatArray = np.vstack([hp, lp])
    sos.setflags(write=False)
    return sos


@lru_cache(maxsize=64)
def design_lowpass(cutoff_hz: float, fs_hz: float, order: int) -> FloatArray:
    """Butterworth low-pass in second-order sections (anti-alias before decimation)."""
    sos = butter_sos(order, cutoff_hz, fs_hz, "lowpass")
    sos.setflags(write=False)
    return sos


def _sosfilt_public(sos: FloatArray, x: FloatArray, zi: FloatArray) -> None:
    """Filter ``x`` ``(rows, n)`` in place with state ``zi`` ``(rows, sections, 2)``."""
    from scipy import signal  # type: ignore[import-untyped]  # the fallback only: ~75 MB

    y, zf = signal.sosfilt(sos, x, axis=-1, zi=np.ascontiguousarray(zi.transpose(1, 0, 2)))
    x[...] = y
    zi[...] = zf.transpose(1, 0, 2)


KERNEL_MODULE = "scipy.signal._sosfilt"


def _load_kernel() -> Kernel:
    """scipy's compiled ``_sosfilt`` kernel, without running ``scipy/signal/__init__.py``.

    Importing any ``scipy.signal`` submodule the ordinary way first runs the package's
    ``__init__``, which imports about 700 modules (75 MB, most of the edge agent's memory) for a
    kernel that needs only numpy. So the extension is loaded from its file and registered under
    its own name, where a later ``import scipy.signal`` finds and reuses it. The public wrapper
    also spends ~25 us per call on argument checks, at one call per channel per second most of
    the detector's budget. The results are identical (tests/edge/detector pins that); if the
    file moves in a future scipy, the public ``sosfilt`` is used instead.
    """
    loaded = sys.modules.get(KERNEL_MODULE)
    if loaded is None:
        scipy_spec = importlib.util.find_spec("scipy")
        folders = scipy_spec.submodule_search_locations if scipy_spec else None
        finder = importlib.machinery.FileFinder(
            f"{next(iter(folders or []), '')}/signal",
            (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        )
        spec = finder.find_spec(KERNEL_MODULE)
        if spec is None or spec.loader is None:
            raise ImportError(KERNEL_MODULE)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        sys.modules[KERNEL_MODULE] = loaded
    kernel: Kernel = loaded._sosfilt
    return kernel


try:
    _sosfilt_fast = _load_kernel()
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed scipy
    _sosfilt_fast = _sosfilt_public


class CausalFilter:
    """A causal SOS filter over ``rows`` parallel signals, state carried between calls."""

    __slots__ = ("_kernel", "_level", "_sos", "_zi")

    def __init__(self, sos: FloatArray, *, fast: bool = True) -> None:
        self._sos = np.array(sos)  # the kernel needs a writable, C-ordered copy of the design
        self._zi: FloatArray | None = None
        self._level: FloatArray | None = None
        self._kernel = _sosfilt_fast if fast else _sosfilt_public

    def reset(self, level: FloatArray | None = None) -> None:
        """Forget the state; the next call starts in steady state on ``level`` (one value per
        row), or on its first sample."""
        self._zi = None
        self._level = level

    def process(self, x: FloatArray) -> FloatArray:
        """Filter ``x`` of shape ``(rows, n)`` along its last axis and return a new array."""
        y = np.array(x, dtype=np.float64, order="C")
        if y.shape[-1] == 0:
            return y
        if self._zi is None:
            # Start as if the first sample had always been there: no step transient.
            base = sosfilt_zi(self._sos)
            start = y[:, 0] if self._level is None else self._level
            self._zi = np.ascontiguousarray(base[None, :, :] * start[:, None, None])
            self._level = None
        self._kernel(self._sos, y, self._zi)
        return y


def group_delay_s(sos: FloatArray, freq_hz: float, fs_hz: float) -> float:
    """Group delay of an SOS filter at ``freq_hz``, in seconds."""
    delay = sum(section_group_delay(section, freq_hz, fs_hz) for section in np.asarray(sos))
    return delay / fs_hz


@lru_cache(maxsize=16)
def _indices(n: int) -> npt.NDArray[np.int64]:
    """``arange(n)``, shared read-only: a block's sample indices when nothing is dropped."""
    idx = np.arange(n, dtype=np.int64)
    idx.setflags(write=False)
    return idx


class Decimator:
    """Anti-alias low-pass then keep every ``factor``-th sample, phase carried between calls."""

    __slots__ = ("_filter", "_phase", "factor", "sos")

    def __init__(self, fs_hz: float, target_fs_hz: float, cutoff_hz: float) -> None:
        self.factor = max(1, int(fs_hz // target_fs_hz))
        self._filter = None
        self.sos: FloatArray | None = None
        if self.factor > 1:
            self.sos = design_lowpass(min(cutoff_hz, 0.4 * fs_hz / self.factor), fs_hz, 4)
            self._filter = CausalFilter(self.sos)
        self._phase = 0

    def reset(self, level: FloatArray | None = None) -> None:
        """Restart after a gap (in steady state on ``level``, or on the next first sample)."""
        if self._filter is not None:
            self._filter.reset(level)
        self._phase = 0

    def process(self, x: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """Decimate ``x`` ``(rows, n)``; return kept samples and their indices into ``x``."""
        n = x.shape[-1]
        if self._filter is None:
            return x, _indices(n)
        y = self._filter.process(x)
        first = (-self._phase) % self.factor
        keep = np.arange(first, n, self.factor, dtype=np.int64)
        self._phase = (self._phase + n) % self.factor
        return y[:, keep], keep
