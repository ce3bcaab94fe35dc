"""Ready-made physiology for scenarios: who the person is and what happens to them (pure).

Each preset is a function returning a :class:`Preset` ``(params, episodes)``; :data:`LIBRARY`
lists them by name with a suggested duration and a one-line summary (the function's first
docstring line). Feed a preset to :class:`~simulators.physiology.PhysiologyStream` or
:func:`~simulators.physiology.simulate`::

    params, episodes = LIBRARY["gradual_overdose"].build()
    recording = simulate(params, episodes, LIBRARY["gradual_overdose"].duration_s, seed=1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple

from simulators._physio_const import NALOXONE_DELAY_S, RECOVERY_S
from simulators.physiology import Episode, EpisodeKind, Posture, SubjectParams

LEAD_IN_S: Final = 120.0
"""Two minutes of ordinary breathing before anything happens: a detector needs a baseline
(detection.md 2.7 uses 60 s windows; Second Chance used the minute before injection)."""
OVERDOSE_RAMP_S: Final = 240.0
"""Gradual overdose: four minutes from the first slowing to apnoea; fentanyl overdoses progress
over seconds to minutes (detection.md 1.3)."""
NALOXONE_AFTER_APNOEA_S: Final = 90.0
"""A responder reaches the person and gives naloxone 90 s into the apnoea (modelling choice, well
inside the 4-6 min before brain injury in detection.md 1.3)."""
BREATH_HOLDS_S: Final = (15.0, 25.0, 30.0)
"""Breath-holds of the lengths the brief names (10-30 s); 15 s is the UW injector's trigger."""
BREATH_HOLD_GAP_S: Final = 120.0
"""Two minutes of normal breathing between holds, so each recovers fully."""
SHOWER_S: Final = 600.0
"""A ten-minute shower."""
AWAY_S: Final = 120.0
"""Two minutes out of the room."""
SLEEP_BEFORE_ROLL_S: Final = 2 * LEAD_IN_S + 300.0
"""Nine minutes on one side before rolling onto the back."""
AFTERMATH_S: Final = 180.0
"""Three minutes after the event: enough for an apnoea alarm, desaturation and escalation."""
QUIET_S: Final = 600.0
"""Ten minutes of a condition with no event: long enough to count false alarms."""
SWAP_SUBJECT: Final = SubjectParams(
    rate_bpm=18.0, depth=0.8, hr_bpm=88.0, spo2_pct=98.0, posture=Posture.SITTING
)
"""The second person a swapped sensor ends up on: visibly different rate, depth and heart rate."""


class Preset(NamedTuple):
    """A person and what happens to them."""

    params: SubjectParams
    episodes: tuple[Episode, ...]


def normal_rest() -> Preset:
    """Lying at rest, breathing normally: the false-alarm baseline."""
    return Preset(SubjectParams(), ())


def gradual_overdose() -> Preset:
    """Sitting on a phone, then breathing slows and stops over four minutes; nobody comes."""
    params = SubjectParams(posture=Posture.SITTING)
    return Preset(
        params,
        (
            Episode(EpisodeKind.PHONE_STILL, 0.0, LEAD_IN_S),
            Episode(EpisodeKind.GRADUAL_OVERDOSE, LEAD_IN_S, OVERDOSE_RAMP_S),
        ),
    )


def abrupt_apnoea() -> Preset:
    """Lying down, breathing stops after the breath in progress and never restarts."""
    return Preset(SubjectParams(), (Episode(EpisodeKind.ABRUPT_APNOEA, LEAD_IN_S),))


def naloxone_recovery() -> Preset:
    """Abrupt apnoea, naloxone 90 s in, breathing restarts a minute later with gasps."""
    return Preset(
        SubjectParams(),
        (
            Episode(EpisodeKind.ABRUPT_APNOEA, LEAD_IN_S),
            Episode(EpisodeKind.NALOXONE, LEAD_IN_S + NALOXONE_AFTER_APNOEA_S),
        ),
    )


def breath_hold() -> Preset:
    """Three voluntary breath-holds (15, 25, 30 s), each followed by a deep breath."""
    return Preset(
        SubjectParams(posture=Posture.SITTING),
        tuple(
            Episode(EpisodeKind.BREATH_HOLD, LEAD_IN_S + i * BREATH_HOLD_GAP_S, hold_s)
            for i, hold_s in enumerate(BREATH_HOLDS_S)
        ),
    )


def talking() -> Preset:
    """Sitting and talking: irregular breathing with short pauses and gestures."""
    return Preset(
        SubjectParams(posture=Posture.SITTING),
        (Episode(EpisodeKind.TALKING, LEAD_IN_S),),
    )


def sleep() -> Preset:
    """Asleep on one side, slow regular breathing, then rolls onto the back."""
    return Preset(
        SubjectParams(rate_bpm=12.0, hr_bpm=62.0, posture=Posture.SIDE),
        (
            Episode(EpisodeKind.SLEEP, 0.0, SLEEP_BEFORE_ROLL_S, posture=Posture.SIDE),
            Episode(EpisodeKind.SLEEP, SLEEP_BEFORE_ROLL_S, posture=Posture.SUPINE),
        ),
    )


def phone_still() -> Preset:
    """Sitting very still on a phone for ten minutes: stillness without any breathing problem."""
    return Preset(
        SubjectParams(posture=Posture.SITTING),
        (Episode(EpisodeKind.PHONE_STILL, 0.0),),
    )


def shower() -> Preset:
    """Takes the wearable off for a ten-minute shower; the radar sees water and motion."""
    return Preset(SubjectParams(), (Episode(EpisodeKind.SHOWER, LEAD_IN_S, SHOWER_S),))


def sensor_removed() -> Preset:
    """Takes the wearable off and leaves it on a table: static, no breathing, no HR/SpO2."""
    return Preset(SubjectParams(), (Episode(EpisodeKind.SENSOR_REMOVED, LEAD_IN_S),))


def sensor_swapped() -> Preset:
    """The wearable moves to someone else, who breathes faster and has a higher heart rate."""
    return Preset(
        SubjectParams(),
        (Episode(EpisodeKind.SENSOR_SWAPPED, LEAD_IN_S, subject=SWAP_SUBJECT),),
    )


def leave_room() -> Preset:
    """Walks out of the room for two minutes and comes back (door, presence, motion)."""
    return Preset(SubjectParams(), (Episode(EpisodeKind.LEAVE_ROOM, LEAD_IN_S, AWAY_S),))


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One named preset.

    Attributes:
        name: the preset's name (the function's name).
        build: the function that returns the :class:`Preset`.
        duration_s: how long to simulate to see the whole story.
    """

    name: str
    build: Callable[[], Preset]
    duration_s: float

    @property
    def summary(self) -> str:
        """One line on what happens (the first line of the function's docstring)."""
        return (self.build.__doc__ or "").strip().splitlines()[0]


_ENTRIES: Final = (
    LibraryEntry("abrupt_apnoea", abrupt_apnoea, LEAD_IN_S + AFTERMATH_S),
    LibraryEntry("breath_hold", breath_hold, LEAD_IN_S + len(BREATH_HOLDS_S) * BREATH_HOLD_GAP_S),
    LibraryEntry("gradual_overdose", gradual_overdose, LEAD_IN_S + OVERDOSE_RAMP_S + AFTERMATH_S),
    LibraryEntry("leave_room", leave_room, LEAD_IN_S + AWAY_S + LEAD_IN_S),
    LibraryEntry(
        "naloxone_recovery",
        naloxone_recovery,
        LEAD_IN_S + NALOXONE_AFTER_APNOEA_S + NALOXONE_DELAY_S + RECOVERY_S + AFTERMATH_S,
    ),
    LibraryEntry("normal_rest", normal_rest, QUIET_S),
    LibraryEntry("phone_still", phone_still, QUIET_S),
    LibraryEntry("sensor_removed", sensor_removed, LEAD_IN_S + AFTERMATH_S),
    LibraryEntry("sensor_swapped", sensor_swapped, LEAD_IN_S + AFTERMATH_S),
    LibraryEntry("shower", shower, LEAD_IN_S + SHOWER_S + LEAD_IN_S),
    LibraryEntry("sleep", sleep, SLEEP_BEFORE_ROLL_S + QUIET_S / 2),
    LibraryEntry("talking", talking, LEAD_IN_S + QUIET_S / 2),
)
LIBRARY: Final[Mapping[str, LibraryEntry]] = MappingProxyType({e.name: e for e in _ENTRIES})
"""Every preset by name, in alphabetical order."""
