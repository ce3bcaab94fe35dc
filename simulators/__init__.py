"""Room and wearable physiology, virtual devices and scenarios for testers.

Pure core, shell at the edges.
"""

from simulators.physiology import (
    ApnoeaInterval,
    Chunk,
    ChunkTruth,
    Episode,
    EpisodeKind,
    Label,
    Location,
    PhysiologyStream,
    Posture,
    Signal,
    SubjectParams,
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
