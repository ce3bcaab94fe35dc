"""Turns a subject and its episodes into the breathing drive in force at any time (pure).

The schedule is stateless: :meth:`Schedule.activity` answers "how does this person breathe
and move at time t" from the episodes alone, so every consumer gets the same answer whatever
order it asks in. One-shot events (breath-holds) are left to the breath generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from simulators import _physio_const as c
from simulators._physio_params import Episode, EpisodeKind, Label, Location, Posture, SubjectParams


@dataclass(frozen=True, slots=True)
class Activity:
    """How the person breathes, moves and beats at one instant."""

    label: Label
    rate_bpm: float
    depth: float
    period_cv: float = c.BREATH_PERIOD_CV
    depth_cv: float = c.BREATH_DEPTH_CV
    insp_fraction: float = c.INSP_FRACTION
    exp_fraction: float = c.EXP_FRACTION
    pause_prob: float = 0.0
    pause_max_s: float = 0.0
    sighs_per_min: float = c.SIGHS_PER_MIN
    motion_per_min: float = c.MOTION_PER_MIN_REST
    motion_g: float = c.MOTION_G_REST
    hr_offset_bpm: float = 0.0
    apnoea_until_s: float = -math.inf
    """Breathing is stopped until this time (``inf``: for good)."""


@dataclass(frozen=True, slots=True)
class _Overdose:
    start_s: float
    ramp_end_s: float
    stop_s: float
    final_rate_bpm: float
    final_depth_x: float


@dataclass(frozen=True, slots=True)
class _Rescue:
    restart_s: float
    end_s: float


_ACTIVITY_KINDS = frozenset(
    {
        EpisodeKind.TALKING,
        EpisodeKind.SLEEP,
        EpisodeKind.PHONE_STILL,
        EpisodeKind.SHOWER,
        EpisodeKind.MOVEMENT,
        EpisodeKind.LEAVE_ROOM,
        EpisodeKind.HYPOVENTILATION,
    }
)


class Schedule:
    """The episodes of one person, indexed for fast "what is happening at t" questions."""

    def __init__(self, subject: SubjectParams, episodes: tuple[Episode, ...]) -> None:
        """Index ``episodes`` (any order) for ``subject``."""
        self.subject = subject
        self.episodes = tuple(sorted(episodes, key=lambda e: e.start_s))
        self._activities = tuple(e for e in self.episodes if e.kind in _ACTIVITY_KINDS)
        self._rescues = tuple(
            _Rescue(
                restart_s=e.start_s + e.param("delay_s", c.NALOXONE_DELAY_S),
                end_s=e.start_s
                + e.param("delay_s", c.NALOXONE_DELAY_S)
                + (c.RECOVERY_S if e.duration_s is None else e.duration_s),
            )
            for e in self.episodes
            if e.kind is EpisodeKind.NALOXONE
        )
        self._overdoses = tuple(self._overdose(e) for e in self.episodes if e.kind in _OD_KINDS)
        self.breath_holds = tuple(e for e in self.episodes if e.kind is EpisodeKind.BREATH_HOLD)
        self._postures = tuple(e for e in self.episodes if e.posture is not None)

    def _overdose(self, episode: Episode) -> _Overdose:
        naloxone = [
            e.start_s + e.param("delay_s", c.NALOXONE_DELAY_S)
            for e in self.episodes
            if e.kind is EpisodeKind.NALOXONE and e.start_s >= episode.start_s
        ]
        stop = min([*naloxone, math.inf])
        if episode.kind is EpisodeKind.GRADUAL_OVERDOSE:
            return _Overdose(
                start_s=episode.start_s,
                ramp_end_s=episode.end_s,
                stop_s=stop,
                final_rate_bpm=episode.param("final_rate_bpm", c.OVERDOSE_FINAL_RATE_BPM),
                final_depth_x=episode.param("final_depth_x", c.OVERDOSE_FINAL_DEPTH_X),
            )
        return _Overdose(
            start_s=episode.start_s,
            ramp_end_s=episode.start_s,
            stop_s=min(stop, episode.end_s),
            final_rate_bpm=self.subject.rate_bpm,
            final_depth_x=1.0,
        )

    def activity(self, t_s: float) -> Activity:
        """The breathing, movement and heart drive in force at ``t_s``."""
        subject = self.subject
        act = Activity(label=Label.NORMAL, rate_bpm=subject.rate_bpm, depth=subject.depth)
        for episode in self._activities:
            if episode.start_s <= t_s < episode.end_s:
                act = _ACTIVITY_OF[episode.kind](act, subject, episode)
        for rescue in self._rescues:
            if rescue.restart_s <= t_s < rescue.end_s:
                left = 1.0 - (t_s - rescue.restart_s) / (rescue.end_s - rescue.restart_s)
                act = replace(
                    act,
                    label=Label.RECOVERY,
                    rate_bpm=act.rate_bpm * (1.0 + (c.RECOVERY_RATE_X - 1.0) * left),
                    motion_per_min=c.MOTION_PER_MIN_ACTIVE * left + act.motion_per_min,
                    motion_g=max(act.motion_g, c.MOTION_G_ACTIVE * left),
                    hr_offset_bpm=act.hr_offset_bpm + c.RECOVERY_HR_BPM * left,
                )
        for od in self._overdoses:
            if od.start_s <= t_s < od.stop_s:
                act = _apply_overdose(act, od, t_s)
        return act

    def posture_at(self, t_s: float) -> Posture:
        """The posture in force at ``t_s``: the latest-started episode that sets one, else the
        subject's.
        """
        posture = self.subject.posture
        for episode in self._postures:
            if episode.start_s <= t_s < episode.end_s and episode.posture is not None:
                posture = episode.posture
        return posture

    def posture_changes(self) -> tuple[tuple[float, Posture], ...]:
        """Every time the posture changes, with the new posture, from time 0 on."""
        times = sorted(
            {0.0}
            | {e.start_s for e in self._postures}
            | {e.end_s for e in self._postures if math.isfinite(e.end_s)}
        )
        changes: list[tuple[float, Posture]] = []
        for t in times:
            posture = self.posture_at(t)
            if not changes or changes[-1][1] is not posture:
                changes.append((t, posture))
        return tuple(changes)

    def location_at(self, t_s: float) -> Location:
        """Where the person is with respect to the radar's room at ``t_s``."""
        location = Location.IN_ROOM
        for episode in self.episodes:
            if episode.start_s <= t_s < episode.end_s:
                if episode.kind is EpisodeKind.LEAVE_ROOM:
                    location = Location.AWAY
                elif episode.kind is EpisodeKind.SHOWER:
                    location = Location.SHOWER
        return location

    def door_openings(self) -> tuple[float, ...]:
        """Times the room door opens: on leaving the room and on coming back."""
        times: list[float] = []
        for episode in self.episodes:
            if episode.kind is EpisodeKind.LEAVE_ROOM:
                times.append(episode.start_s)
                if math.isfinite(episode.end_s):
                    times.append(episode.end_s)
        return tuple(sorted(times))


_OD_KINDS = frozenset({EpisodeKind.GRADUAL_OVERDOSE, EpisodeKind.ABRUPT_APNOEA})


def _apply_overdose(act: Activity, od: _Overdose, t_s: float) -> Activity:
    if t_s >= od.ramp_end_s:
        return replace(
            act, label=Label.APNOEA, apnoea_until_s=od.stop_s, motion_per_min=0.0, sighs_per_min=0.0
        )
    progress = (t_s - od.start_s) / (od.ramp_end_s - od.start_s)
    ratio = od.final_rate_bpm / act.rate_bpm
    return replace(
        act,
        rate_bpm=act.rate_bpm * ratio**progress,
        depth=act.depth * (1.0 - (1.0 - od.final_depth_x) * progress),
        period_cv=act.period_cv + (c.OVERDOSE_FINAL_CV - act.period_cv) * progress,
        motion_per_min=act.motion_per_min * (1.0 - progress),
        sighs_per_min=act.sighs_per_min * (1.0 - progress),
    )


def _talking(act: Activity, subject: SubjectParams, episode: Episode) -> Activity:
    del subject, episode
    return replace(
        act,
        label=Label.TALKING,
        period_cv=c.TALK_PERIOD_CV,
        depth_cv=c.TALK_PERIOD_CV,
        insp_fraction=c.TALK_INSP_FRACTION,
        exp_fraction=1.0 - c.TALK_INSP_FRACTION,
        pause_prob=c.TALK_PAUSE_PROB,
        pause_max_s=c.TALK_PAUSE_MAX_S,
        motion_per_min=c.MOTION_PER_MIN_TALK,
    )


def _sleep(act: Activity, subject: SubjectParams, episode: Episode) -> Activity:
    del episode
    return replace(
        act,
        label=Label.SLEEP,
        rate_bpm=subject.rate_bpm * c.SLEEP_RATE_X,
        depth=subject.depth * c.SLEEP_DEPTH_X,
        period_cv=c.SLEEP_PERIOD_CV,
        sighs_per_min=c.SLEEP_SIGHS_PER_MIN,
        pause_prob=c.SLEEP_PAUSE_PROB,
        pause_max_s=c.SHORT_PAUSE_MAX_S,
        motion_per_min=c.MOTION_PER_MIN_SLEEP,
        hr_offset_bpm=c.SLEEP_HR_BPM,
    )


def _phone_still(act: Activity, subject: SubjectParams, episode: Episode) -> Activity:
    del episode
    return replace(
        act,
        label=Label.STILL,
        depth=subject.depth * c.STILL_DEPTH_X,
        motion_per_min=c.MOTION_PER_MIN_STILL,
    )


def _shower(act: Activity, subject: SubjectParams, episode: Episode) -> Activity:
    del episode
    return replace(
        act,
        rate_bpm=subject.rate_bpm * c.SHOWER_RATE_X,
        motion_per_min=c.MOTION_PER_MIN_ACTIVE,
        motion_g=c.MOTION_G_ACTIVE,
    )


def _movement(act: Activity, subject: SubjectParams, episode: Episode) -> Activity:
    del subject
    return replace(
        act,
        label=Label.MOTION,
        motion_per_min=c.MOTION_PER_MIN_ACTIVE,
        motion_g=episode.param("motion_g", c.MOTION_G_ACTIVE),
    )


def _hypoventilation(act: Activity, subject: SubjectParams, episode: Episode) -> Activity:
    del subject
    return replace(
        act,
        depth=act.depth * episode.param("depth_x", c.SHALLOW_DEPTH_X),
        rate_bpm=act.rate_bpm * episode.param("rate_x", 1.0),
    )


_ACTIVITY_OF = {
    EpisodeKind.TALKING: _talking,
    EpisodeKind.SLEEP: _sleep,
    EpisodeKind.PHONE_STILL: _phone_still,
    EpisodeKind.SHOWER: _shower,
    EpisodeKind.MOVEMENT: _movement,
    EpisodeKind.LEAVE_ROOM: _movement,
    EpisodeKind.HYPOVENTILATION: _hypoventilation,
}
