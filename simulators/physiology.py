"""Seeded, reproducible physiology of people and the devices that watch them (pure).

This is the public face of the physiology simulator; the work is done in ``_physio_*.py``.

* :class:`SubjectParams` and :class:`Episode` describe a person and what happens to them.
* :class:`PhysiologyStream` is a chest wearable on that person, advanced chunk by chunk;
  any split of the same total duration gives exactly the same samples.
* :class:`RoomStream` is the radar and door of the person's room, advanced the same way.
* :func:`simulate` makes a whole :class:`Recording`, which writes the replay CSV and the
  ground-truth JSON (the only I/O here).

Randomness comes only from the ``numpy.random.Generator`` (or seed) passed in; nothing reads
the clock.
"""

from __future__ import annotations

from simulators._physio_params import (
    AccSensor,
    Episode,
    EpisodeKind,
    Label,
    Location,
    Posture,
    SubjectParams,
)
from simulators._physio_record import CSV_COLUMNS, Recording, simulate
from simulators._physio_room import RoomChunk, RoomStream, RoomTruth
from simulators._physio_signal import Signal
from simulators._physio_stream import (
    ApnoeaInterval,
    Chunk,
    ChunkTruth,
    PhysiologyStream,
)

__all__ = [
    "CSV_COLUMNS",
    "AccSensor",
    "ApnoeaInterval",
    "Chunk",
    "ChunkTruth",
    "Episode",
    "EpisodeKind",
    "Label",
    "Location",
    "PhysiologyStream",
    "Posture",
    "Recording",
    "RoomChunk",
    "RoomStream",
    "RoomTruth",
    "Signal",
    "SubjectParams",
    "simulate",
]
