"""Synthetic scenario set with known truth, built on ``simulators.physiology`` (benchmark code).

Each scenario is a person (and optionally their room) living through a few episodes. Running it
feeds the wearable's and room's sample blocks to a :class:`Detector` in 1 s blocks, the way the
edge does, and keeps the simulator's truth for scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.detector import DetectionEvent, Detector, DetectorSettings, EventKind, Source
from edge.detector.fusion import TickView
from simulators.physiology import (
    Episode,
    EpisodeKind,
    Label,
    PhysiologyStream,
    Posture,
    SubjectParams,
)

BLOCK_S = 1.0
"""Devices send about one block per second over BLE."""


@dataclass(frozen=True)
class Scenario:
    """A person, what happens to them, and what the detector should (not) say.

    Attributes:
        name: short identifier.
        params: the person's resting physiology.
        episodes: what happens.
        duration_s: how long to simulate.
        room: also simulate the room's radar and door.
        wearable: simulate the wearable (False: radar-only room).
        expect: event kinds that must fire (each at least once).
        forbid: event kinds that must not fire.
    """

    name: str
    params: SubjectParams
    episodes: tuple[Episode, ...]
    duration_s: float
    room: bool = False
    wearable: bool = True
    expect: frozenset[EventKind] = frozenset()
    forbid: frozenset[EventKind] = frozenset()


@dataclass
class Run:
    """The outcome of one scenario run."""

    scenario: Scenario
    events: list[DetectionEvent]
    apnoeas: list[tuple[float, float | None, Label]]
    trace: list[TickView] = field(default_factory=list)
    t: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    signal: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    labels: npt.NDArray[np.str_] = field(default_factory=lambda: np.empty(0, dtype=str))

    @property
    def kinds(self) -> set[EventKind]:
        """Kinds of the events raised."""
        return {e.kind for e in self.events}

    @property
    def passed(self) -> bool:
        """Every expected kind fired and no forbidden one did."""
        return self.scenario.expect <= self.kinds and not (self.scenario.forbid & self.kinds)


ALARMS = frozenset({EventKind.APNOEA, EventKind.RESPIRATORY_DEPRESSION, EventKind.DESATURATION})
_QUIET = ALARMS | {EventKind.NO_SIGNAL}


def scenarios() -> list[Scenario]:
    """The standard scenario set."""
    e, k = Episode, EpisodeKind
    out = [
        Scenario(
            f"normal_{rate:g}bpm_depth{depth:g}",
            SubjectParams(rate_bpm=rate, depth=depth),
            (),
            600.0,
            forbid=_QUIET,
        )
        for rate, depth in ((10.0, 1.3), (12.0, 1.0), (16.0, 0.6), (22.0, 0.8))
    ]
    out += [
        Scenario(
            "sitting_normal", SubjectParams(posture=Posture.SITTING), (), 600.0, forbid=_QUIET
        ),
        Scenario(
            "gradual_overdose",
            SubjectParams(),
            (e(k.GRADUAL_OVERDOSE, 240.0, 180.0),),
            600.0,
            expect=frozenset({EventKind.APNOEA, EventKind.RESPIRATORY_DEPRESSION}),
        ),
        Scenario(
            "abrupt_apnoea",
            SubjectParams(rate_bpm=16.0),
            (e(k.ABRUPT_APNOEA, 300.0, 60.0),),
            480.0,
            expect=frozenset({EventKind.APNOEA, EventKind.RECOVERED}),
        ),
        Scenario(
            "overdose_naloxone",
            SubjectParams(),
            (e(k.ABRUPT_APNOEA, 200.0), e(k.NALOXONE, 260.0, params={"delay_s": 30.0})),
            600.0,
            expect=frozenset({EventKind.APNOEA, EventKind.RECOVERED}),
        ),
        Scenario(
            "breath_holds_and_sighs",
            SubjectParams(),
            (
                e(k.BREATH_HOLD, 200.0, 6.0),
                e(k.BREATH_HOLD, 320.0, 8.0),
                e(k.BREATH_HOLD, 450.0, 7.0),
            ),
            600.0,
            forbid=_QUIET,
        ),
        # A 40 s voluntary hold looks exactly like an apnoea to any breathing sensor; it must
        # alarm (the UW injector fired on 15 s holds) and then recover.
        Scenario(
            "long_breath_hold",
            SubjectParams(),
            (e(k.BREATH_HOLD, 200.0, 40.0),),
            400.0,
            expect=frozenset({EventKind.APNOEA, EventKind.RECOVERED}),
        ),
        Scenario(
            "talking",
            SubjectParams(posture=Posture.SITTING),
            (e(k.TALKING, 120.0, 360.0),),
            600.0,
            forbid=_QUIET,
        ),
        Scenario(
            "sleep",
            SubjectParams(),
            (e(k.SLEEP, 60.0, 900.0, posture=Posture.SIDE),),
            1000.0,
            forbid=_QUIET,
        ),
        Scenario(
            "phone_still",
            SubjectParams(posture=Posture.SITTING),
            (e(k.PHONE_STILL, 60.0, 500.0),),
            600.0,
            forbid=_QUIET,
        ),
        Scenario(
            "motion_bursts", SubjectParams(), (e(k.MOVEMENT, 150.0, 300.0),), 600.0, forbid=_QUIET
        ),
        Scenario(
            "sensor_removed",
            SubjectParams(),
            (e(k.SENSOR_REMOVED, 200.0, 300.0),),
            600.0,
            expect=frozenset({EventKind.NO_SIGNAL}),
            forbid=ALARMS,
        ),
        Scenario(
            "radar_leave_room",
            SubjectParams(),
            (e(k.LEAVE_ROOM, 200.0, 300.0),),
            600.0,
            room=True,
            wearable=False,
            forbid=ALARMS | {EventKind.NO_SIGNAL},
        ),
        Scenario(
            "radar_apnoea",
            SubjectParams(),
            (e(k.ABRUPT_APNOEA, 240.0, 60.0),),
            420.0,
            room=True,
            wearable=False,
            expect=frozenset({EventKind.APNOEA}),
        ),
        Scenario(
            "wearable_and_radar_overdose",
            SubjectParams(),
            (e(k.GRADUAL_OVERDOSE, 200.0, 150.0),),
            500.0,
            room=True,
            expect=frozenset({EventKind.APNOEA}),
        ),
        Scenario(
            "shower", SubjectParams(), (e(k.SHOWER, 200.0, 400.0),), 700.0, room=True, forbid=ALARMS
        ),
    ]
    return out


def run(
    sc: Scenario,
    *,
    seed: int = 0,
    settings: DetectorSettings | None = None,
    trace: bool = False,
) -> Run:
    """Simulate ``sc`` and feed it to a fresh detector in 1 s blocks."""
    stream = PhysiologyStream(sc.params, sc.episodes, np.random.default_rng(seed))
    room = stream.room() if sc.room else None
    det = Detector(settings, trace=trace)
    events: list[DetectionEvent] = []
    t_parts: list[npt.NDArray[np.float64]] = []
    sig: list[npt.NDArray[np.float64]] = []
    labels: list[npt.NDArray[np.str_]] = []
    steps = int(sc.duration_s / BLOCK_S)
    for _ in range(steps):
        chunk = stream.advance(BLOCK_S)
        if sc.wearable:
            for block in chunk.sample_blocks("wearable"):
                events += det.update(block, source=Source.WEARABLE)
        if room is not None:
            rchunk = room.advance(BLOCK_S)
            for block in rchunk.sample_blocks("radar"):
                src = Source.DOOR if block.channel == "door" else Source.RADAR
                events += det.update(block, source=src)
            if not sc.wearable:
                sig.append(np.asarray(rchunk.resp.values))
                t_parts.append(rchunk.resp.times_s)
        if sc.wearable:
            sig.append(np.asarray(chunk.resp.values))
            t_parts.append(chunk.resp.times_s)
        labels.append(chunk.truth.labels)
    events += det.flush()
    return Run(
        scenario=sc,
        events=events,
        apnoeas=[(a.onset_s, a.end_s, a.cause) for a in stream.apnoea_intervals()],
        trace=det.trace,
        t=np.concatenate(t_parts) if t_parts else np.empty(0),
        signal=np.concatenate(sig) if sig else np.empty(0),
        labels=np.concatenate(labels) if labels else np.empty(0, dtype=str),
    )


def run_all(names: Sequence[str] | None = None, seed: int = 0) -> list[Run]:
    """Run every scenario (or those named)."""
    chosen = [s for s in scenarios() if names is None or s.name in names]
    return [run(s, seed=seed) for s in chosen]
