"""Small, seeded test signals for the detector tests (breathing chest accelerometer, belt)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detector import Source
from firmware_bridge.samples import Channel, SampleBlock

FS_HZ = 25.0
Arr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Recording:
    """Columns in the replay format plus the truth needed to score them."""

    t: Arr
    columns: dict[str, Arr]
    stop_s: float | None = None  # breathing stops here (end of the last breath)


def breathing_phase(
    t: Arr, rate_bpm: float, rng: np.random.Generator, *, jitter: float = 0.05
) -> Arr:
    """Cumulative breathing phase (cycles) with slow rate variability."""
    dt = np.diff(t, prepend=t[0])
    drift = 1.0 + jitter * np.sin(2 * np.pi * t / 47.0 + rng.uniform(0, 6.28))
    return np.cumsum(rate_bpm / 60.0 * drift * dt)


def chest_acc(
    duration_s: float,
    *,
    rate_bpm: float = 15.0,
    tilt_g: float = 0.010,
    stop_s: float | None = None,
    seed: int = 0,
    noise_g: float = 0.001,
    fs: float = FS_HZ,
) -> Recording:
    """A chest accelerometer lying on its back: gravity on z, breathing tilts x by ``tilt_g``.

    If ``stop_s`` is given breathing stops at the first end of a breath cycle after it.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / fs)
    phase = breathing_phase(t, rate_bpm, rng)
    wave = 0.5 - 0.5 * np.cos(2 * np.pi * phase)  # 0 at end of expiration, 1 at full inspiration
    stop = None
    if stop_s is not None:
        cycles = np.ceil(np.interp(stop_s, t, phase))
        idx = int(np.searchsorted(phase, cycles))
        stop = float(t[min(idx, t.size - 1)])
        wave[idx:] = 0.0
    tilt = tilt_g * wave
    cols = {
        "acc_x": np.sin(tilt) + rng.normal(0, noise_g, t.size),
        "acc_y": 0.05 + rng.normal(0, noise_g, t.size),
        "acc_z": np.cos(tilt) + rng.normal(0, noise_g, t.size),
    }
    return Recording(t, cols, stop)


def blocks(
    rec: Recording, seconds: float, source: Source = Source.WEARABLE
) -> list[tuple[SampleBlock, Source]]:
    """Cut a recording into interleaved blocks of ``seconds``, in time order, as devices send."""
    fs = 1.0 / float(np.median(np.diff(rec.t)))
    n = max(1, round(seconds * fs))
    out = []
    for lo in range(0, rec.t.size, n):
        for name, col in rec.columns.items():
            values = tuple(col[lo : lo + n].tolist())
            out.append((SampleBlock("dev", Channel(name), float(rec.t[lo]), fs, values), source))
    return out
