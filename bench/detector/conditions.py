"""The widened development set: recordings grouped by condition, each with known truth, and the
split between what may be tuned on and what may not (benchmark code).

**Split.** Every condition draws its recordings from one of two disjoint pools:

* ``tune``: the first 40 minutes of the biopeaks belt; simulator seeds 0-999. Thresholds may be
  adjusted while looking at these (``odart bench detector --split tune``).
* ``dev`` (the default, and the only figures quoted in docs and notes): the last 45 minutes of the
  biopeaks belt; simulator seeds 100000 and up; the pyphysio, systole and scanphyslog2bids
  recordings (dev only, never tuned on). Nothing in ``edge/detector`` was tuned on this pool.

**Conditions.**

* ``belt_biopeaks``: the real belt with 20-60 s apnoeas and breathing slowed about three-fold
  (6-7/min) injected [detection.md 3].
* ``belt_biopeaks_artefacts``: the same, plus movement artefacts followed by 60-120 s of shallow
  breathing (20-30 % of before), which is not apnoea.
* ``belt_pyphysio``: a second real respiration recording (another person and device; slow,
  irregular breathing) with one 20-60 s apnoea injected per trial.
* ``belt_systole``: a third real belt (another person, 25 min at 1 kHz with real movement
  artefacts, clipping and stretches of very shallow breathing; dev only), clean and with 20-60 s
  apnoeas and slowed breathing injected like the biopeaks belt's.
* ``belt_scanphyslog``: three MRI physiology logs' pneumatic belts (scanphyslog2bids; 5-11 min
  each, 14-23/min, a 9 s dropout and a clipped deep breath; dev only), clean and with one apnoea
  and one slowed stretch injected per trial where the log's length leaves room.
* ``acc_tilt_*``: the simulator's chest accelerometer only (three axes at 25 Hz, 1 mg
  quantisation, 0.5-3 mg rms noise, white or coloured), breathing tilt in the named band, a
  random posture and a posture change, a movement artefact followed by shallow breathing, an
  abrupt 20-60 s apnoea, and a slowed (x0.33) stretch.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bench.detector import belt, recordings
from firmware_bridge.samples import Channel
from simulators.physiology import (
    AccSensor,
    Episode,
    EpisodeKind,
    PhysiologyStream,
    Posture,
    SubjectParams,
)

Arr = npt.NDArray[np.float64]

TUNE_BELT_S = (0.0, 2400.0)
"""Tuning pool of the biopeaks belt: its first 40 minutes."""
DEV_BELT_S = (2400.0, 1e9)
"""Development pool of the biopeaks belt: the rest (about 45 minutes)."""
TUNE_SEEDS = range(0, 1000)
DEV_SEEDS = range(100_000, 101_000)
SPLITS = ("dev", "tune")

APNOEA_S = (20.0, 60.0)
"""Apnoea lengths scored (the issue's 20-60 s)."""
SLOWED_BPM = (6.0, 7.0)
"""Breathing slowed about three-fold: 6-7/min, breaths 9-10 s apart."""
ACC_S = 900.0
"""Length of one simulated accelerometer recording."""
TILT_BANDS_G = {
    "acc_tilt_2-5mg": (0.002, 0.005),
    "acc_tilt_5-15mg": (0.005, 0.015),
    "acc_tilt_15-40mg": (0.015, 0.040),
}
ACC_NOISE_G = (0.0005, 0.003)
ACC_LSB_G = 0.001
ACC_NOISE_SPLIT_G = 0.0015
"""Accelerometer rows are also broken down by sensor noise at 1.5 mg rms: the real hold-out
sensor has about 1 mg of noise (and 1 mg steps), so the quiet half is where it sits."""


@dataclass
class Case:
    """One recording of a condition and its truth.

    Attributes:
        name: identifier (condition, seed or trial).
        columns: detector input columns (``resp`` or ``acc_x/y/z``) at ``fs``.
        fs: sampling rate.
        apnoeas: ``(onset_s, end_s)`` of each true apnoea.
        slowed: ``(start_s, end_s, rate_bpm)`` of each slowed stretch.
        not_apnoea: stretches where breathing is shallow or disturbed but present.
        kind: ``belt`` or ``acc``.
        groups: the sub-rows it also counts in (the accelerometer's noise band, a real
            breathing recording's tilt band).
        native_slow: stretches where the recording's own breathing is at or under the warning
            rate (pyphysio's subject breathes 6-8/min): a slowed-breathing alert there is
            neither false nor scored.
    """

    name: str
    columns: dict[str, Arr]
    fs: float
    apnoeas: list[tuple[float, float]] = field(default_factory=list)
    slowed: list[tuple[float, float, float]] = field(default_factory=list)
    not_apnoea: list[tuple[float, float]] = field(default_factory=list)
    kind: str = "belt"
    groups: tuple[str, ...] = ()
    native_slow: list[tuple[float, float]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length of the recording."""
        return next(iter(self.columns.values())).size / self.fs

    def baseline_signal(self) -> Arr:
        """One respiration trace for NeuroKit2: the belt, or (offline, zero-phase, seeing the
        whole recording) the accelerometer in the breathing band projected on its principal
        axis, re-estimated every 30 s (so a posture change does not steer it)."""
        if "resp" in self.columns:
            return self.columns["resp"]
        from scipy import signal

        acc = np.stack([self.columns[k] for k in ("acc_x", "acc_y", "acc_z")])
        sos = signal.butter(2, [0.05, 1.0], btype="bandpass", fs=self.fs, output="sos")
        band = signal.sosfiltfilt(sos, acc, axis=1)
        out: Arr = np.zeros(band.shape[1])
        step = round(30.0 * self.fs)
        axis = np.array([1.0, 0.0, 0.0])
        for lo in range(0, band.shape[1], step):
            piece = band[:, lo : lo + step]
            # Robust to movement: clip each axis at 5 MADs before estimating the axis.
            mad = np.median(np.abs(piece), axis=1, keepdims=True) + 1e-12
            clipped = np.clip(piece, -5 * mad, 5 * mad)
            new = np.linalg.eigh(clipped @ clipped.T)[1][:, -1]
            axis = new if new @ axis >= 0 else -new
            out[lo : lo + step] = axis @ piece
        return out


def _belt_pool(split: str, full: belt.Belt) -> belt.Belt:
    lo, hi = TUNE_BELT_S if split == "tune" else DEV_BELT_S
    return belt.window(full, lo, hi)


def belt_cases(
    split: str, full: belt.Belt, trials: int, seed: int, *, artefacts: bool
) -> Iterator[Case]:
    """Injected trials on the split's part of the biopeaks belt."""
    pool = _belt_pool(split, full)
    rng = np.random.default_rng([seed, int(artefacts), SPLITS.index(split)])
    name = "belt_biopeaks_artefacts" if artefacts else "belt_biopeaks"
    for k in range(trials):
        trial = belt.inject(
            pool, rng, n_apnoea=6, n_slowed=3, apnoea_s=APNOEA_S, slow_rate_bpm=SLOWED_BPM
        )
        x, spans = trial.x, []
        if artefacts:
            avoid = [*trial.apnoeas, *[(s, e) for s, e, _ in trial.slowed]]
            x, spans = belt.inject_artefacts(x, pool.amplitude, rng, n=4, avoid=avoid)
        yield Case(f"{name}#{k}", {"resp": x}, belt.FS_HZ, trial.apnoeas, trial.slowed, spans)


@functools.lru_cache(maxsize=1)
def systole_belt() -> belt.Belt:
    """The systole belt and its reference breaths, read and found once per process (both
    ``belt_systole`` and ``acc_real_breathing`` use it)."""
    return belt.from_raw(recordings.load_systole_raw(), recordings.SYSTOLE_FS_HZ)


def systole_cases(trials: int, seed: int) -> Iterator[Case]:
    """The systole belt clean, then with apnoeas and slowed stretches injected (dev only)."""
    full = systole_belt()
    yield Case("belt_systole#clean", {"resp": full.x}, belt.FS_HZ)
    rng = np.random.default_rng([seed, 11])
    for k in range(trials):
        trial = belt.inject(
            full, rng, n_apnoea=4, n_slowed=2, apnoea_s=APNOEA_S, slow_rate_bpm=SLOWED_BPM
        )
        yield Case(f"belt_systole#{k}", {"resp": trial.x}, belt.FS_HZ, trial.apnoeas, trial.slowed)


SHORT_WARMUP_S = 90.0
"""Warm-up before an injected event in the short recordings (pyphysio's 4 min, the 5-11 min
scanphyslog2bids logs), where the biopeaks belt's five minutes would leave no room."""


@functools.lru_cache(maxsize=1)
def scanphyslog_belts() -> tuple[tuple[str, belt.Belt], ...]:
    """The three scanphyslog2bids belts and their reference breaths, read once per process."""
    from scipy import signal

    out = []
    for name, raw in recordings.load_scanphyslog_raw():
        # 496 Hz to 500 Hz, a multiple of the belt rate, for the reference breaths.
        x = signal.resample_poly(raw, 125, 124)
        out.append((name, belt.from_raw(x, 500)))
    return tuple(out)


def scanphyslog_cases(trials: int, seed: int) -> Iterator[Case]:
    """Each scanphyslog2bids belt clean, then with one apnoea and one slowed stretch injected
    per trial where its length allows (dev only)."""
    belts = scanphyslog_belts()
    for name, b in belts:
        slow = native_slow_spans(b.x, belt.FS_HZ)
        yield Case(f"belt_scanphyslog#{name}", {"resp": b.x}, belt.FS_HZ, native_slow=slow)
    rng = np.random.default_rng([seed, 17])
    for k in range(trials):
        for name, b in belts:
            trial = belt.inject(
                b,
                rng,
                n_apnoea=1,
                n_slowed=1,
                apnoea_s=APNOEA_S,
                slow_rate_bpm=SLOWED_BPM,
                warmup_s=SHORT_WARMUP_S,
            )
            yield Case(
                f"belt_scanphyslog#{name}{k}",
                {"resp": trial.x},
                belt.FS_HZ,
                trial.apnoeas,
                trial.slowed,
            )


def pyphysio_cases(trials: int, seed: int) -> Iterator[Case]:
    """The pyphysio recording clean, then with one injected apnoea per trial (dev only)."""
    x = recordings.load_pyphysio()
    fs = recordings.FS_HZ
    slow = native_slow_spans(x, fs)
    yield Case("belt_pyphysio#clean", {"resp": x}, fs, native_slow=slow)
    rng = np.random.default_rng([seed, 7])
    for k in range(trials):
        # End of expiration = a local minimum of the smoothed signal after the 90 s warm-up.
        lo = round(90.0 * fs)
        i = lo + int(rng.integers(0, x.size - lo - round(30.0 * fs)))
        i = i - round(3.0 * fs) + int(np.argmin(x[i - round(3.0 * fs) : i + round(3.0 * fs)]))
        d = float(rng.uniform(*APNOEA_S))
        amp = float(np.percentile(x, 95) - np.percentile(x, 5))
        d2 = x[2:] - 2 * x[1:-1] + x[:-2]
        noise = float(np.median(np.abs(d2)) / 0.6745 / np.sqrt(6.0))
        t = np.arange(round(d * fs)) / fs
        flat = (
            x[i]
            + 0.03 * amp * np.sin(2 * np.pi * rng.uniform(1.0, 1.5) * t)
            + 0.05 * amp * np.sin(np.pi * t / d)
            + rng.normal(0.0, noise, t.size)
        )
        y = np.concatenate([x[:i], flat, x[i:]])
        cut = i / fs
        shifted = [(a + d * (a >= cut), b + d * (b >= cut)) for a, b in slow]
        yield Case(f"belt_pyphysio#{k}", {"resp": y}, fs, [(cut, cut + d)], native_slow=shifted)


SLOW_REF_BPM = 8.0
"""A 60 s window with this many reference breaths or fewer breathes slowly of itself."""


def native_slow_spans(x: Arr, fs: float) -> list[tuple[float, float]]:
    """Stretches of a real recording whose own breathing is at or under ``SLOW_REF_BPM``: 60 s
    windows counted from offline, zero-phase reference breaths (peaks of the 0.05-1 Hz band
    at least a quarter of the signal's 5-95 % range prominent and 1.5 s apart)."""
    from scipy import signal

    sos = signal.butter(2, [0.05, 1.0], btype="bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, x)
    span = float(np.percentile(y, 95) - np.percentile(y, 5))
    peaks, _ = signal.find_peaks(y, prominence=0.25 * span, distance=round(1.5 * fs))
    times = peaks / fs
    spans: list[tuple[float, float]] = []
    for end in np.arange(60.0, x.size / fs + 1e-9, 1.0):
        if np.count_nonzero((times > end - 60.0) & (times <= end)) > SLOW_REF_BPM:
            continue
        if spans and spans[-1][1] >= end - 60.0:
            spans[-1] = (spans[-1][0], float(end))
        else:
            spans.append((float(end - 60.0), float(end)))
    return spans


def acc_cases(split: str, band: str, n: int) -> Iterator[Case]:
    """Simulated chest accelerometers whose breathing tilt lies in ``band``."""
    seeds = TUNE_SEEDS if split == "tune" else DEV_SEEDS
    offset = list(TILT_BANDS_G).index(band) * 100
    for seed in seeds[offset : offset + n]:
        yield acc_case(band, seed)


def acc_case(band: str, seed: int) -> Case:
    """One simulated chest accelerometer recording of ``band`` (the seed picks the split)."""
    lo, hi = TILT_BANDS_G[band]
    rng = np.random.default_rng(seed)
    postures = list(Posture)
    first, second = rng.choice(len(postures), size=2, replace=False)
    sensor = AccSensor(
        tilt_g_per_depth=float(np.exp(rng.uniform(np.log(lo), np.log(hi)))),
        noise_g=float(rng.uniform(*ACC_NOISE_G)),
        lsb_g=ACC_LSB_G,
        noise_taps=int(rng.integers(1, 4)),
    )
    rate = float(rng.uniform(12.0, 20.0))
    params = SubjectParams(rate_bpm=rate, posture=postures[int(first)])
    apnoea_s = float(rng.uniform(*APNOEA_S))
    shallow_x = float(rng.uniform(0.2, 0.3))
    slowed_x = float(rng.uniform(*SLOWED_BPM)) / rate
    same = {"depth_x": 1.0}  # a posture change alone: breathing as before
    episodes = [
        Episode(EpisodeKind.HYPOVENTILATION, 120.0, ACC_S, postures[int(second)], params=same),
        Episode(EpisodeKind.MOVEMENT, 200.0, 10.0),
        Episode(EpisodeKind.HYPOVENTILATION, 210.0, 90.0, params={"depth_x": shallow_x}),
        Episode(EpisodeKind.ABRUPT_APNOEA, 420.0, apnoea_s),
        # Slowed three-fold at the same depth, like the belt's time-stretched breathing
        # (a hypoventilation episode is otherwise also shallow: depth_x defaults to 0.25).
        Episode(
            EpisodeKind.HYPOVENTILATION,
            560.0,
            240.0,
            params={"rate_x": slowed_x, "depth_x": 1.0},
        ),
    ]
    stream = PhysiologyStream(params, episodes, np.random.default_rng(seed), sensor=sensor)
    chunk = stream.advance(ACC_S)
    columns = {
        str(Channel.ACC_X): chunk.acc_x.values,
        str(Channel.ACC_Y): chunk.acc_y.values,
        str(Channel.ACC_Z): chunk.acc_z.values,
    }
    apnoeas = [
        (a.onset_s, a.end_s if a.end_s is not None else ACC_S)
        for a in stream.apnoea_intervals()
        if a.cause == "apnoea"
    ]
    t = chunk.acc_x.times_s
    inside = (t >= 620.0) & (t < 800.0)
    slowed_bpm = float(np.nanmedian(chunk.truth.rate_bpm[inside]))
    return Case(
        f"{band}#{seed}",
        columns,
        stream.fs_hz,
        apnoeas,
        [(560.0, 800.0, slowed_bpm)],
        [(200.0, 300.0)],
        kind="acc",
        groups=(noise_group(sensor.noise_g),),
    )


def noise_group(noise_g: float) -> str:
    """The noise sub-row of an accelerometer recording."""
    split_mg = ACC_NOISE_SPLIT_G * 1e3
    return f"noise<={split_mg:g}mg" if noise_g <= ACC_NOISE_SPLIT_G else f"noise>{split_mg:g}mg"
