"""Chest accelerometer recordings made from real breathing (benchmark code).

The simulator's accelerometer conditions breathe the simulator's breaths. Here the breathing is
real: a belt recording (biopeaks' with movement artefacts and shallow breathing injected,
systole's with its own artefacts, scanphyslog2bids' three MRI belts; apnoeas and slowed stretches
injected as for the belts) becomes
the chest's tilt, in units of the person's median breath, times a tilt of 2-40 mg, on a sensor
mounted in a random orientation (gravity in any direction, the breathing tilt across it), with
1 mg of cardiac micro-motion along a random direction, 0.5-3 mg rms of white or coloured noise
per axis and 1 mg steps. The belt's own irregularity, sighs, shallow stretches and artefacts
(a belt artefact turns into a large, fast tilt: movement) carry over; so does its truth.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal

from bench.detector.conditions import ACC_LSB_G, ACC_NOISE_G, Case, noise_group

Arr = npt.NDArray[np.float64]

TILT_G = (0.002, 0.040)
"""Breathing tilt per median breath, drawn log-uniform: the issue's 2-40 mg."""
CARDIAC_G = 0.001
"""Seismocardiographic micro-motion, as in the simulator."""
TILT_GROUPS = ((0.005, "tilt<5mg"), (0.015, "tilt5-15mg"), (np.inf, "tilt>15mg"))


def tilt_group(tilt_g: float) -> str:
    """The sub-row of a recording: its breathing tilt band."""
    return next(name for top, name in TILT_GROUPS if tilt_g < top)


def source_group(name: str) -> str:
    """The sub-row of a recording by the real belt it breathes (``biopeaks``, ``systole``,
    ``scanphyslog``): a new belt must not hide how the others fare."""
    return name.split("#")[0].removeprefix("belt_").removesuffix("_artefacts")


def unit_depth(x: Arr, fs: float) -> Arr:
    """The belt in units of its median breath: slow drift removed (offline, zero-phase: this
    prepares the truth, the detector sees only the accelerometer it makes), divided by the
    median peak-to-peak of 10 s windows."""
    sos = signal.butter(1, 0.02, btype="highpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, x)
    n = round(10.0 * fs)
    swings = [float(np.ptp(y[i : i + n])) for i in range(0, y.size - n, n)]
    out: Arr = y / max(float(np.median(swings)), 1e-12)
    return out


def _orientation(rng: np.random.Generator) -> tuple[Arr, Arr, Arr]:
    """Gravity as the sensor reads it, the breathing tilt's direction across it, and the
    cardiac micro-motion's direction: unit vectors."""
    g = rng.normal(size=3)
    g /= np.linalg.norm(g)
    d = rng.normal(size=3)
    d -= (d @ g) * g
    d /= np.linalg.norm(d)
    c = rng.normal(size=3)
    c /= np.linalg.norm(c)
    return g, d, c


def to_acc(case: Case, rng: np.random.Generator, k: int) -> Case:
    """The chest accelerometer of ``case``'s breathing on a random sensor and mounting."""
    fs = case.fs
    depth = unit_depth(case.columns["resp"], fs)
    tilt = float(np.exp(rng.uniform(*np.log(TILT_G))))
    noise_g = float(rng.uniform(*ACC_NOISE_G))
    taps = int(rng.integers(1, 4))
    g, d, c = _orientation(rng)
    theta = tilt * depth
    t = np.arange(depth.size) / fs
    heart = np.sin(2 * np.pi * rng.uniform(1.0, 1.4) * t + rng.uniform(0.0, 6.3))
    acc = np.outer(g, np.cos(theta)) + np.outer(d, np.sin(theta)) + np.outer(c, CARDIAC_G * heart)
    white = rng.normal(0.0, noise_g, (3, depth.size + taps - 1))
    kernel = np.ones(taps) / np.sqrt(taps)
    acc += np.stack([np.convolve(w, kernel, "valid") for w in white])
    acc = np.round(acc / ACC_LSB_G) * ACC_LSB_G
    return Case(
        f"{case.name}/acc{k}",
        {"acc_x": acc[0], "acc_y": acc[1], "acc_z": acc[2]},
        fs,
        case.apnoeas,
        case.slowed,
        case.not_apnoea,
        kind="acc",
        groups=(tilt_group(tilt), noise_group(noise_g), source_group(case.name)),
        native_slow=case.native_slow,
    )
