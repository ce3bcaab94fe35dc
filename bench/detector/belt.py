"""Real breathing from the respiration belt shipped in the ``biopeaks`` wheel, with apnoeas and
slowed stretches injected at seeded random times (benchmark code).

The recording (``OSmontage0J.txt``: BITalino RESPBIT belt, 1 kHz, 85 min of clean breathing) is
read from the installed package; it is never copied into this repository (GPL).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

Arr = npt.NDArray[np.float64]

RAW_FS_HZ = 1000
FS_HZ = 25.0
"""The belt is decimated to the detector's internal rate, as a BLE belt would send it."""
WARMUP_S = 300.0
"""No injection in the first five minutes: the detector learns the person's baseline there."""
GAP_S = 150.0
"""Injected events are at least this far apart, so each is scored on its own."""


@dataclass(frozen=True)
class Belt:
    """The clean recording at :data:`FS_HZ` and its reference breaths (offline, biopeaks)."""

    x: Arr
    peaks_s: Arr
    troughs_s: Arr

    @property
    def duration_s(self) -> float:
        """Length of the recording."""
        return self.x.size / FS_HZ

    @property
    def amplitude(self) -> float:
        """Median breath swing (peak to next trough), signal units."""
        idx_p = np.round(self.peaks_s * FS_HZ).astype(int)
        idx_t = np.round(self.troughs_s * FS_HZ).astype(int)
        n = min(idx_p.size, idx_t.size)
        return float(np.median(np.abs(self.x[idx_p[:n]] - self.x[idx_t[:n]])))


@dataclass(frozen=True)
class Trial:
    """One belt recording with injected events and their truth.

    Attributes:
        x: the signal at :data:`FS_HZ`.
        apnoeas: ``(onset_s, end_s)`` of each injected apnoea (onset = end of the last breath).
        slowed: ``(start_s, end_s, rate_bpm)`` of each slowed stretch.
    """

    x: Arr
    apnoeas: list[tuple[float, float]]
    slowed: list[tuple[float, float, float]]

    @property
    def t(self) -> Arr:
        """Sample times."""
        return np.arange(self.x.size) / FS_HZ


def recording_path() -> Path:
    """Where the installed biopeaks wheel keeps the belt recording.

    Raises:
        FileNotFoundError: biopeaks 1.4.1 is not installed (``pip install -e '.[bench]'``).
    """
    spec = importlib.util.find_spec("biopeaks")
    if spec is None or not spec.submodule_search_locations:
        message = "biopeaks is not installed: pip install -e '.[bench]'"
        raise FileNotFoundError(message)
    path = Path(next(iter(spec.submodule_search_locations))) / "tests/testdata/OSmontage0J.txt"
    if not path.is_file():
        message = f"belt recording not found at {path}"
        raise FileNotFoundError(message)
    return path


@functools.lru_cache(maxsize=2)
def load(limit_s: float | None = None) -> Belt:
    """Read the belt (column A2), decimate to 25 Hz and find reference breaths offline."""
    path = recording_path()  # FileNotFoundError, with the install hint, when biopeaks is absent
    raw = np.loadtxt(path, comments="#", usecols=5)
    if limit_s is not None:
        raw = raw[: int(limit_s * RAW_FS_HZ)]
    return from_raw(raw, RAW_FS_HZ)


def from_raw(raw: Arr, raw_fs: int) -> Belt:
    """A belt at :data:`FS_HZ` from a recording at ``raw_fs`` (a multiple of it), with its
    reference breaths found offline by biopeaks' ``resp_extrema``."""
    from biopeaks.resp import resp_extrema

    extrema = np.asarray(resp_extrema(raw, raw_fs))
    smooth = signal.sosfiltfilt(signal.butter(2, 1.0, fs=raw_fs, output="sos"), raw)
    values = smooth[extrema]
    is_peak = np.zeros(extrema.size, dtype=bool)
    is_peak[1:-1] = (values[1:-1] > values[:-2]) & (values[1:-1] > values[2:])
    is_peak[0] = extrema.size > 1 and values[0] > values[1]
    is_peak[-1] = extrema.size > 1 and values[-1] > values[-2]
    x = signal.resample_poly(raw, 1, int(raw_fs / FS_HZ))
    return Belt(
        x=x.astype(np.float64),
        peaks_s=extrema[is_peak] / raw_fs,
        troughs_s=extrema[~is_peak] / raw_fs,
    )


def _apnoea_segment(
    level: float, d_s: float, amp: float, noise: float, rng: np.random.Generator
) -> Arr:
    """A flat stretch at the end-expiratory level with cardiogenic ripple, drift and noise."""
    t = np.arange(round(d_s * FS_HZ)) / FS_HZ
    cardiac = 0.03 * amp * np.sin(2 * np.pi * rng.uniform(1.0, 1.5) * t + rng.uniform(0, 6.3))
    drift = 0.05 * amp * rng.choice([-1.0, 1.0]) * np.sin(np.pi * t / d_s)
    out: Arr = level + cardiac + drift + rng.normal(0.0, noise, t.size)
    return out


def _noise_level(x: Arr) -> float:
    d2 = x[2:] - 2 * x[1:-1] + x[:-2]
    return float(np.median(np.abs(d2)) / 0.6745 / np.sqrt(6.0))


def inject(
    belt: Belt,
    rng: np.random.Generator,
    *,
    n_apnoea: int = 8,
    n_slowed: int = 4,
    apnoea_s: tuple[float, float] = (15.0, 60.0),
    slow_rate_bpm: tuple[float, float] = (4.0, 7.0),
    slowed_s: float = 120.0,
    warmup_s: float = WARMUP_S,
) -> Trial:
    """Insert apnoeas and slowed stretches at random end-expiratory troughs.

    Apnoeas are inserted (the recording grows) so breathing resumes exactly where it stopped;
    a slowed stretch replaces a piece of real breathing by the same piece time-stretched to a
    rate of 4-7/min. Nothing is inserted in the first ``warmup_s`` (the detector learns the
    person there) or the last 200 s.
    """
    amp = belt.amplitude
    noise = _noise_level(belt.x)
    slow = signal.sosfiltfilt(signal.butter(4, 2.0, fs=FS_HZ, output="sos"), belt.x)
    fast = belt.x - slow
    candidates = belt.troughs_s[
        (belt.troughs_s > warmup_s) & (belt.troughs_s < belt.duration_s - 200)
    ]
    chosen: list[float] = []
    for t in rng.permutation(candidates):
        if len(chosen) == n_apnoea + n_slowed:
            break
        if all(abs(t - c) > GAP_S for c in chosen):
            chosen.append(float(t))
    kinds = rng.permutation(["apnoea"] * n_apnoea + ["slowed"] * n_slowed)[: len(chosen)]
    plan = sorted(zip(chosen, kinds, strict=True))
    pieces: list[Arr] = []
    apnoeas: list[tuple[float, float]] = []
    slowed: list[tuple[float, float, float]] = []
    pos = 0  # index into belt.x
    out_len = 0
    for t_s, kind in plan:
        i = round(t_s * FS_HZ)
        pieces.append(belt.x[pos:i])
        out_len += i - pos
        pos = i
        if kind == "apnoea":
            d = float(rng.uniform(*apnoea_s))
            seg = _apnoea_segment(float(belt.x[i]), d, amp, noise, rng)
            apnoeas.append((out_len / FS_HZ, (out_len + seg.size) / FS_HZ))
        else:
            # Stretch real breathing so that its rate lands in the slowed range (<= 7/min).
            ahead = belt.peaks_s[(belt.peaks_s >= t_s) & (belt.peaks_s < t_s + 40.0)]
            own = 60.0 / float(np.median(np.diff(ahead))) if ahead.size > 2 else 18.0
            factor = float(np.clip(own / rng.uniform(*slow_rate_bpm), 1.5, 6.0))
            later = belt.troughs_s[belt.troughs_s >= t_s + slowed_s / factor]
            j = round(later[0] * FS_HZ)
            # Only the breathing (below 2 Hz, with its harmonics) slows down; sensor noise above
            # 2 Hz keeps its own pace, and the heart adds the same small ripple as in an apnoea.
            piece = slow[i:j]
            n_out = round(piece.size * factor)
            seg = np.interp(np.linspace(0, piece.size - 1, n_out), np.arange(piece.size), piece)
            ripple = fast[i : i + n_out]
            seg[: ripple.size] += ripple
            seg += _apnoea_segment(0.0, n_out / FS_HZ, amp, 0.0, rng)[: seg.size]
            inside = belt.peaks_s[(belt.peaks_s >= t_s) & (belt.peaks_s < later[0])]
            ibi = float(np.median(np.diff(inside))) if inside.size > 2 else 60.0 / 18.0
            slowed.append((out_len / FS_HZ, (out_len + n_out) / FS_HZ, 60.0 / (ibi * factor)))
            pos = j
        pieces.append(seg)
        out_len += seg.size
    pieces.append(belt.x[pos:])
    return Trial(x=np.concatenate(pieces), apnoeas=apnoeas, slowed=slowed)


def window(belt: Belt, lo_s: float, hi_s: float) -> Belt:
    """The part of the recording in ``[lo_s, hi_s)``, its reference breaths moved with it."""
    a, b = round(lo_s * FS_HZ), round(min(hi_s, belt.duration_s) * FS_HZ)

    def _shift(times: Arr) -> Arr:
        inside = times[(times >= lo_s) & (times < b / FS_HZ)]
        out: Arr = inside - lo_s
        return out

    return Belt(
        x=belt.x[a:b].copy(), peaks_s=_shift(belt.peaks_s), troughs_s=_shift(belt.troughs_s)
    )


def inject_artefacts(
    x: Arr,
    amp: float,
    rng: np.random.Generator,
    *,
    n: int,
    avoid: list[tuple[float, float]],
    shallow_x: tuple[float, float] = (0.2, 0.3),
    shallow_s: tuple[float, float] = (60.0, 120.0),
) -> tuple[Arr, list[tuple[float, float]]]:
    """A movement artefact (5-15 s of swings 3-8x a breath, and a shift of level) followed by
    60-120 s of shallow breathing (the real breathing scaled to 20-30 % around its own level).

    Returns the signal and the ``(start_s, end_s)`` of each artefact + shallow stretch; none
    overlaps ``avoid`` (injected apnoeas and slowed stretches) or starts in the warm-up.
    """
    y = x.copy()
    t_end = x.size / FS_HZ
    spans: list[tuple[float, float]] = []
    busy = list(avoid)
    for _ in range(50 * n):
        if len(spans) == n:
            break
        dur_art = float(rng.uniform(5.0, 15.0))
        dur_sh = float(rng.uniform(*shallow_s))
        start = float(rng.uniform(WARMUP_S, t_end - dur_art - dur_sh - 30.0))
        end = start + dur_art + dur_sh
        if any(start < e + 60.0 and end > s - 60.0 for s, e in busy):
            continue
        i, j, k = (round(v * FS_HZ) for v in (start, start + dur_art, end))
        tt = np.arange(j - i) / FS_HZ
        wobble = amp * rng.uniform(3.0, 8.0) * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * tt)
        envelope = np.sin(np.pi * tt / dur_art) ** 2
        y[i:j] += envelope * wobble + amp * rng.uniform(-2.0, 2.0) * np.minimum(tt, 1.0)
        seg = y[j:k]
        level = signal.sosfilt(signal.butter(1, 0.02, fs=FS_HZ, output="sos"), seg - seg[0])
        level += seg[0]
        y[j:k] = level + float(rng.uniform(*shallow_x)) * (seg - level)
        spans.append((start, end))
        busy.append((start, end))
    return y, sorted(spans)
