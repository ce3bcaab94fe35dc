"""Whole recordings: simulate once, then write the replay CSV and the ground-truth JSON (pure,
except the two explicit writer methods)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from firmware_bridge.samples import Channel
from simulators import _physio_const as c
from simulators._physio_params import Episode, SubjectParams
from simulators._physio_person import FloatArray
from simulators._physio_signal import Signal
from simulators._physio_stream import ApnoeaInterval, PhysiologyStream

CSV_COLUMNS: Final = (
    "t",
    Channel.RESP.value,
    Channel.ACC_X.value,
    Channel.ACC_Y.value,
    Channel.ACC_Z.value,
    Channel.SPO2.value,
    Channel.HR.value,
    Channel.PRESENCE.value,
    Channel.MOTION.value,
    Channel.DOOR.value,
)
"""Replay CSV header: time in s, the wearable waveform channels, then the 1 Hz channels held."""
TRUTH_FORMAT: Final = "odart-physiology-truth/1"
"""Version tag of the truth JSON; bump it when a key changes meaning."""
_CSV_FORMATS: Final = (
    "%.4f",
    "%.6f",
    "%.6f",
    "%.6f",
    "%.6f",
    "%.1f",
    "%.2f",
    "%.0f",
    "%.2f",
    "%.0f",
)
"""Digits per column: t to 0.1 ms, waveforms to 1e-6, SpO2/HR as oximeters report them."""


def _runs(values: npt.NDArray[np.str_], t0_s: float, fs_hz: float) -> list[dict[str, Any]]:
    """Run-length encode non-empty per-sample labels as ``{start_s, end_s, label}`` rows."""
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(values)]])
    return [
        {"start_s": t0_s + s / fs_hz, "end_s": t0_s + e / fs_hz, "label": str(values[s])}
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def _held(signal: Signal, times: FloatArray) -> FloatArray:
    """Sample-and-hold a 1 Hz signal onto ``times``: the last reading at or before each time."""
    idx = np.floor((times - signal.t0_s) * signal.fs_hz + c.TIME_EPS_S).astype(np.int64)
    idx = np.clip(idx, 0, len(signal.values) - 1)
    return signal.values[idx]


@dataclass(frozen=True, slots=True)
class Recording:
    """A whole simulated recording of one person: wearable, room and ground truth.

    Attributes:
        params: the subject.
        episodes: what happened.
        seed: the seed it was generated from.
        duration_s: its length.
        wearable: resp, acc_x, acc_y, acc_z (waveform rate), hr and spo2 (1 Hz).
        room: radar resp (radar rate), presence, motion and door (1 Hz).
        labels: per-waveform-sample :class:`Label` values of the wearable.
        rate_bpm: per-waveform-sample true breathing rate of the wearer (NaN off-body).
        breath_times_s: end-inspiration times of the wearer's breaths.
        apnoea_intervals: the pauses of at least 10 s of the original wearer.
        location: per-second :class:`Location` values of the person.
    """

    params: SubjectParams
    episodes: tuple[Episode, ...]
    seed: int
    duration_s: float
    wearable: Mapping[Channel, Signal]
    room: Mapping[Channel, Signal]
    labels: npt.NDArray[np.str_]
    rate_bpm: FloatArray
    breath_times_s: FloatArray
    apnoea_intervals: tuple[ApnoeaInterval, ...]
    location: npt.NDArray[np.str_]

    @property
    def fs_hz(self) -> float:
        """The wearable waveform rate (the CSV's row rate)."""
        return self.wearable[Channel.RESP].fs_hz

    def csv_table(self) -> FloatArray:
        """The replay table, one row per waveform sample, columns as :data:`CSV_COLUMNS`."""
        resp = self.wearable[Channel.RESP]
        t = resp.times_s
        columns = [t, resp.values]
        columns += [
            self.wearable[ch].values for ch in (Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z)
        ]
        columns += [_held(self.wearable[ch], t) for ch in (Channel.SPO2, Channel.HR)]
        columns += [
            _held(self.room[ch], t) for ch in (Channel.PRESENCE, Channel.MOTION, Channel.DOOR)
        ]
        return np.column_stack(columns)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the replay CSV: a header line of :data:`CSV_COLUMNS`, then one row per sample.

        The 1 Hz channels are held at the waveform rate; NaN (written ``nan``) marks no reading.
        """
        np.savetxt(
            path,
            self.csv_table(),
            delimiter=",",
            header=",".join(CSV_COLUMNS),
            comments="",
            fmt=list(_CSV_FORMATS),
        )

    def truth(self) -> dict[str, Any]:
        """The ground truth as plain JSON-ready data (see ``docs/physiology.md``)."""
        fs = self.fs_hz
        return {
            "format": TRUTH_FORMAT,
            "seed": self.seed,
            "duration_s": self.duration_s,
            "fs_hz": fs,
            "subject": {
                "rate_bpm": self.params.rate_bpm,
                "depth": self.params.depth,
                "hr_bpm": self.params.hr_bpm,
                "spo2_pct": self.params.spo2_pct,
                "posture": self.params.posture.value,
            },
            "episodes": [
                {
                    "kind": e.kind.value,
                    "start_s": e.start_s,
                    "duration_s": e.duration_s,
                    "posture": None if e.posture is None else e.posture.value,
                    "params": dict(e.params),
                }
                for e in self.episodes
            ],
            "breath_times_s": [round(t, 4) for t in self.breath_times_s.tolist()],
            "apnoea_intervals": [
                {"onset_s": a.onset_s, "end_s": a.end_s, "cause": a.cause.value}
                for a in self.apnoea_intervals
            ],
            "labels": _runs(self.labels, 0.0, fs),
            "location": _runs(self.location, 0.0, c.VITALS_FS_HZ),
            "rate_bpm_1hz": [
                None if math.isnan(r) else round(r, 3)
                for r in self.rate_bpm[:: max(round(fs), 1)].tolist()
            ],
        }

    def write_truth_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`truth` as indented JSON."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.truth(), f, indent=1)
            f.write("\n")


def simulate(
    params: SubjectParams,
    episodes: Sequence[Episode],
    duration_s: float,
    seed: int,
    fs_hz: float = c.WAVEFORM_FS_HZ,
    radar_fs_hz: float = c.RADAR_FS_HZ,
) -> Recording:
    """Simulate ``duration_s`` seconds of one person, wearable and room, from ``seed``.

    Equal, sample for sample, to advancing ``PhysiologyStream(params, episodes,
    numpy.random.default_rng(seed), fs_hz)`` and its :meth:`~PhysiologyStream.room`.

    Raises:
        ValueError: ``duration_s`` is not a positive finite time, or a rate is not positive.
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        message = f"duration_s must be finite and > 0, got {duration_s!r}"
        raise ValueError(message)
    stream = PhysiologyStream(params, episodes, np.random.default_rng(seed), fs_hz)
    room_stream = stream.room(radar_fs_hz)
    chunk = stream.advance(duration_s)
    room = room_stream.advance(duration_s)
    return Recording(
        params=params,
        episodes=stream.episodes,
        seed=seed,
        duration_s=duration_s,
        wearable=chunk.signals(),
        room=room.signals(),
        labels=chunk.truth.labels,
        rate_bpm=chunk.truth.rate_bpm,
        breath_times_s=chunk.truth.breath_times_s,
        apnoea_intervals=stream.apnoea_intervals(),
        location=room.truth.location,
    )
