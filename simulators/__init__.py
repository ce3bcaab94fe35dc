"""Room and wearable physiology, virtual devices and scenarios for testers.

Pure core, shell at the edges.
"""

from simulators.library import LIBRARY, LibraryEntry, Preset
from simulators.physiology import (
    CSV_COLUMNS,
    ApnoeaInterval,
    Chunk,
    ChunkTruth,
    Episode,
    EpisodeKind,
    Label,
    Location,
    PhysiologyStream,
    Posture,
    Recording,
    RoomChunk,
    RoomStream,
    RoomTruth,
    Signal,
    SubjectParams,
    simulate,
)

__all__ = [
    "CSV_COLUMNS",
    "LIBRARY",
    "ApnoeaInterval",
    "Chunk",
    "ChunkTruth",
    "Episode",
    "EpisodeKind",
    "Label",
    "LibraryEntry",
    "Location",
    "PhysiologyStream",
    "Posture",
    "Preset",
    "Recording",
    "RoomChunk",
    "RoomStream",
    "RoomTruth",
    "Signal",
    "SubjectParams",
    "simulate",
]
