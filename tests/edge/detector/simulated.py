"""Run the physiology simulator through a detector, as the edge would (1 s blocks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge.detector import DetectionEvent, Detector, DetectorSettings, Source
from firmware_bridge.samples import Channel
from simulators.physiology import (
    AccSensor,
    ApnoeaInterval,
    Episode,
    PhysiologyStream,
    SubjectParams,
)

_ACC = frozenset({Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z})


def simulate(
    episodes: Sequence[Episode],
    duration_s: float,
    *,
    params: SubjectParams | None = None,
    seed: int = 0,
    wearable: bool = True,
    room: bool = False,
    settings: DetectorSettings | None = None,
    channels: str = "all",
    sensor: AccSensor | None = None,
) -> tuple[list[DetectionEvent], tuple[ApnoeaInterval, ...]]:
    """Events of a fresh detector over a simulated person, and the true pauses.

    ``channels="acc"`` feeds only the wearable's accelerometer (the product's chest sensor).
    """
    stream = PhysiologyStream(
        params or SubjectParams(), episodes, np.random.default_rng(seed), sensor=sensor
    )
    radar = stream.room() if room else None
    det = Detector(settings)
    events: list[DetectionEvent] = []
    for _ in range(int(duration_s)):
        chunk = stream.advance(1.0)
        if wearable:
            for block in chunk.sample_blocks("wearable"):
                if channels == "acc" and block.channel not in _ACC:
                    continue
                events += det.update(block, source=Source.WEARABLE)
        if radar is not None:
            for block in radar.advance(1.0).sample_blocks("radar"):
                src = Source.DOOR if block.channel is Channel.DOOR else Source.RADAR
                events += det.update(block, source=src)
    return events + det.flush(), stream.apnoea_intervals()
