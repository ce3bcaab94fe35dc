"""What a simulated person is and what happens to them: subject parameters and episodes (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from simulators import _physio_const as c


class Posture(StrEnum):
    """How the trunk lies, which sets the gravity vector a chest sensor reads."""

    SUPINE = "supine"
    """Lying on the back: gravity along the sensor's z axis (out of the chest)."""
    SITTING = "sitting"
    """Sitting, trunk reclined about 20 degrees: gravity mostly along y (head-foot)."""
    SIDE = "side"
    """Lying on one side: gravity along the lateral x axis."""


class EpisodeKind(StrEnum):
    """What happens during an :class:`Episode`."""

    GRADUAL_OVERDOSE = "gradual_overdose"
    """Rate and depth fall over ``duration_s``, then apnoea until naloxone (or for good)."""
    ABRUPT_APNOEA = "abrupt_apnoea"
    """Breathing stops after the breath in progress; lasts ``duration_s`` or until naloxone."""
    NALOXONE = "naloxone"
    """Naloxone given: breathing restarts after ``params["delay_s"]`` with gasps, then recovers."""
    BREATH_HOLD = "breath_hold"
    """A voluntary hold of ``duration_s`` (5-90 s), then a deep recovery breath."""
    TALKING = "talking"
    """Speech breathing: irregular, short inspirations, gestures."""
    SLEEP = "sleep"
    """Non-REM sleep: slow, regular breathing, lower heart rate, few movements."""
    PHONE_STILL = "phone_still"
    """Sitting still on a phone: shallow, normal-rate breathing and almost no movement."""
    SHOWER = "shower"
    """The wearable is put down; the person showers in the room (radar sees water and motion)."""
    SENSOR_REMOVED = "sensor_removed"
    """The wearable is taken off and left on a table."""
    SENSOR_SWAPPED = "sensor_swapped"
    """The wearable moves to another person, described by :attr:`Episode.subject`."""
    MOVEMENT = "movement"
    """Walking about or agitation: frequent motion bursts."""
    LEAVE_ROOM = "leave_room"
    """The person walks out of the radar's room through the door, wearable on, and comes back."""
    HYPOVENTILATION = "hypoventilation"
    """Shallower and/or slower breathing: depth x ``params["depth_x"]`` (default 0.25, a
    hypopnoea, not an apnoea) and rate x ``params["rate_x"]`` (default 1)."""


class Label(StrEnum):
    """Per-sample ground truth of what the wearable's signals show."""

    NORMAL = "normal"
    SLOWED = "slowed"
    """True rate at or below 8/min (detection.md 1.2)."""
    APNOEA = "apnoea"
    """No breathing because of an overdose or an abrupt apnoea, from the end of the last breath."""
    BREATH_HOLD = "breath_hold"
    TALKING = "talking"
    SLEEP = "sleep"
    STILL = "still"
    """Sitting still on a phone."""
    MOTION = "motion"
    """A motion burst is under way."""
    RECOVERY = "recovery"
    """After naloxone, breathing again."""
    OFF_BODY = "off_body"
    """The wearable is not on anyone: no breathing, no HR, no SpO2."""


class Location(StrEnum):
    """Where the person is with respect to the radar's room."""

    IN_ROOM = "in_room"
    SHOWER = "shower"
    AWAY = "away"


def _check_range(name: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if not (math.isfinite(value) and low <= value <= high):
        message = f"{name} must be within [{low}, {high}], got {value!r}"
        raise ValueError(message)


@dataclass(frozen=True, slots=True)
class SubjectParams:
    """The resting physiology of one person.

    Attributes:
        rate_bpm: resting breathing rate, breaths per minute.
        depth: relative tidal volume, 1.0 = a typical resting breath (about 0.5 L).
        hr_bpm: resting heart rate, beats per minute.
        spo2_pct: resting oxygen saturation on room air, percent.
        posture: how the trunk lies when no episode says otherwise.
    """

    rate_bpm: float = 14.0
    depth: float = 1.0
    hr_bpm: float = 72.0
    spo2_pct: float = 97.0
    posture: Posture = Posture.SUPINE

    def __post_init__(self) -> None:
        _check_range("rate_bpm", self.rate_bpm, c.RATE_RANGE_BPM)
        _check_range("depth", self.depth, c.DEPTH_RANGE)
        _check_range("hr_bpm", self.hr_bpm, c.HR_RANGE_BPM)
        _check_range("spo2_pct", self.spo2_pct, c.SPO2_RANGE_PCT)
        if not isinstance(self.posture, Posture):
            message = f"posture must be a Posture, got {self.posture!r}"
            raise TypeError(message)


_PARAM_KEYS: Mapping[EpisodeKind, frozenset[str]] = {
    EpisodeKind.GRADUAL_OVERDOSE: frozenset({"final_rate_bpm", "final_depth_x"}),
    EpisodeKind.NALOXONE: frozenset({"delay_s"}),
    EpisodeKind.MOVEMENT: frozenset({"motion_g"}),
    EpisodeKind.HYPOVENTILATION: frozenset({"depth_x", "rate_x"}),
}
_NEEDS_DURATION = frozenset(
    {EpisodeKind.GRADUAL_OVERDOSE, EpisodeKind.BREATH_HOLD},
)
_NO_DURATION = frozenset({EpisodeKind.SENSOR_SWAPPED})


@dataclass(frozen=True, slots=True)
class Episode:
    """Something that happens to the subject from ``start_s`` on.

    Attributes:
        kind: what happens.
        start_s: when it starts, seconds from the start of the stream.
        duration_s: how long it lasts; ``None`` for open-ended (until the end, or until naloxone
            for an apnoea). A gradual overdose's duration is its slowing ramp; a naloxone
            episode's is its recovery phase (default 120 s).
        posture: posture during the episode; ``None`` keeps the current one.
        subject: the new wearer, for :attr:`EpisodeKind.SENSOR_SWAPPED` only.
        params: per-kind knobs: ``final_rate_bpm`` and ``final_depth_x`` for a gradual overdose,
            ``delay_s`` for naloxone, ``motion_g`` for movement, ``depth_x`` and ``rate_x``
            for hypoventilation.
    """

    kind: EpisodeKind
    start_s: float
    duration_s: float | None = None
    posture: Posture | None = None
    subject: SubjectParams | None = None
    params: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        kind = EpisodeKind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            message = f"start_s must be finite and >= 0, got {self.start_s!r}"
            raise ValueError(message)
        self._check_duration(kind)
        unknown = set(self.params) - _PARAM_KEYS.get(kind, frozenset())
        if unknown:
            message = f"{kind} takes no params {sorted(unknown)}"
            raise ValueError(message)
        for key, value in self.params.items():
            if not (math.isfinite(value) and value > 0):
                message = f"params[{key!r}] must be finite and > 0, got {value!r}"
                raise ValueError(message)
        if (self.subject is not None) != (kind is EpisodeKind.SENSOR_SWAPPED):
            message = "subject is required for sensor_swapped and only for it"
            raise ValueError(message)

    def _check_duration(self, kind: EpisodeKind) -> None:
        if self.duration_s is None:
            if kind in _NEEDS_DURATION:
                message = f"{kind} needs a duration_s"
                raise ValueError(message)
            return
        if kind in _NO_DURATION:
            message = f"{kind} is open-ended and takes no duration_s"
            raise ValueError(message)
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            message = f"duration_s must be finite and > 0, got {self.duration_s!r}"
            raise ValueError(message)
        if kind is EpisodeKind.BREATH_HOLD:
            _check_range(
                "breath-hold duration_s",
                self.duration_s,
                (c.BREATH_HOLD_MIN_S, c.BREATH_HOLD_MAX_S),
            )

    @property
    def end_s(self) -> float:
        """When the episode stops acting (``inf`` if open-ended)."""
        return math.inf if self.duration_s is None else self.start_s + self.duration_s

    def param(self, key: str, default: float) -> float:
        """A per-kind knob, or ``default`` when the episode does not set it."""
        return self.params.get(key, default)


@dataclass(frozen=True, slots=True)
class AccSensor:
    """How the chest accelerometer turns the chest's tilt into readings.

    Attributes:
        tilt_g_per_depth: breathing tilt per unit of depth, in g (radians for small angles):
            about 2-40 mg from a shallow side-lying breather to a deep supine one.
        noise_g: white noise per axis, g rms (MEMS parts: about 0.5-3 mg at 25 Hz).
        lsb_g: quantisation step, g (0: none; a 12-bit +-8 g part steps by about 4 mg, a 16-bit
            +-2 g part by 0.06 mg; 1 mg is typical of wearables).
        noise_taps: the noise is averaged over this many successive samples (rms kept), as a
            sensor whose digital low-pass sits below Nyquist colours it; 1 is white.
    """

    tilt_g_per_depth: float = c.TILT_RAD_PER_DEPTH
    noise_g: float = c.ACC_NOISE_G
    lsb_g: float = 0.0
    noise_taps: int = 1

    def __post_init__(self) -> None:
        _check_range("tilt_g_per_depth", self.tilt_g_per_depth, c.TILT_RANGE_G)
        _check_range("noise_g", self.noise_g, c.ACC_NOISE_RANGE_G)
        _check_range("lsb_g", self.lsb_g, c.ACC_LSB_RANGE_G)
        _check_range("noise_taps", float(self.noise_taps), c.NOISE_TAPS_RANGE)
