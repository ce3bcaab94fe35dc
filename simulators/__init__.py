"""Room and wearable physiology, virtual devices and scenarios for testers.

Pure core, shell at the edges.
"""

from simulators.library import LIBRARY, LibraryEntry, Preset
from simulators.physiology import (
    CSV_COLUMNS,
    AccSensor,
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
from simulators.responders import Behaviour, VirtualResponders
from simulators.scenario import Scenario, ScenarioError, parse_scenario, parse_scenario_text
from simulators.scenario_expect import Expectations, Observation, Verdict, check

__all__ = [
    "CSV_COLUMNS",
    "LIBRARY",
    "AccSensor",
    "ApnoeaInterval",
    "Behaviour",
    "Chunk",
    "ChunkTruth",
    "Episode",
    "EpisodeKind",
    "Expectations",
    "Label",
    "LibraryEntry",
    "Location",
    "Observation",
    "PhysiologyStream",
    "Posture",
    "Preset",
    "Recording",
    "RoomChunk",
    "RoomStream",
    "RoomTruth",
    "Scenario",
    "ScenarioError",
    "Signal",
    "SubjectParams",
    "Verdict",
    "VirtualResponders",
    "check",
    "parse_scenario",
    "parse_scenario_text",
    "simulate",
]
