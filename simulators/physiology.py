"""Seeded, reproducible physiology of people and the devices that watch them (pure).

This is the public face of the physiology simulator; the work is done in ``_physio_*.py``.

* :class:`SubjectParams` and :class:`Episode` describe a person and what happens to them.
* :class:`PhysiologyStream` is a chest wearable on that person, advanced chunk by chunk;
  any split of the same total duration gives exactly the same samples.

Randomness comes only from the ``numpy.random.Generator`` passed in; nothing reads the clock.
"""

from __future__ import annotations

from simulators._physio_params import (
    Episode,
    EpisodeKind,
    Label,
    Location,
    Posture,
    SubjectParams,
)
from simulators._physio_stream import (
    ApnoeaInterval,
    Chunk,
    ChunkTruth,
    PhysiologyStream,
    Signal,
)

__all__ = [
    "ApnoeaInterval",
    "Chunk",
    "ChunkTruth",
    "Episode",
    "EpisodeKind",
    "Label",
    "Location",
    "PhysiologyStream",
    "Posture",
    "Signal",
    "SubjectParams",
]
