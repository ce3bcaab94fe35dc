"""Per-tick fusion: gate each respiration channel by quality and context, run its breath tracker,
and summarise the person's and room's state for the rules (pure).

The asymmetry that keeps false alarms down [detection.md 2.5, 2.6]: a channel may only claim
"no breathing" while its signal is positively good (data present, not clipped, not stuck, no
gross motion, radar subject present); a breath on any good channel vetoes an apnoea call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.detector import const
from edge.detector.breath import BreathTracker
from edge.detector.breath_second import BreathSecond
from edge.detector.events import Source
from edge.detector.settings import DetectorSettings
from edge.detector.spectral import SpectralRate, Spectrum
from edge.detector.streams import Second

StreamKey = tuple[Source, str]
"""A stream: its source and channel group (``acc``, ``resp``, ``spo2``, ``hr``, ...)."""

RESP_GROUPS = frozenset({"acc", "resp"})


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One respiration channel at one tick.

    Attributes:
        key: the stream.
        quality: ``good``, or why not: ``no_data``, ``motion``, ``clipped``, ``static``,
            ``no_contact``, ``absent`` (radar subject gone), ``noisy`` (breaths barely above
            the noise floor), ``warming_up``.
        breath: the breath tracker's output for the tick.
        threshold_s: seconds without a breath that make an apnoea on this channel.
        spectrum: the spectral cross-check over the last minute, when available.
    """

    key: StreamKey
    quality: str
    breath: BreathSecond
    threshold_s: float
    spectrum: Spectrum | None = None

    @property
    def good(self) -> bool:
        """The channel's signal is usable this tick."""
        return self.quality == "good" and self.breath.good

    def quiet_s(self, t_end: float) -> float:
        """Seconds of good signal without a breath (0 when not good)."""
        q = self.breath.quiet_since_s
        return t_end - q if self.good and q is not None else 0.0

    def breathing(self, t_end: float, window_s: float) -> bool:
        """A good channel saw respiratory movement within ``window_s``."""
        q = self.breath.quiet_since_s
        return self.good and q is not None and t_end - q < window_s


@dataclass(frozen=True, slots=True)
class TickView:
    """Everything the rules need about one second ``[tick, tick + 1)``.

    Attributes:
        tick: the second.
        t_end: its end, the time at which it is decided.
        channels: respiration channels seen so far.
        motion_g: wearable per-second std of |a|, or None.
        spo2_pct: valid SpO2 reading, or None.
        presence: radar presence (1 present, 0 absent), or None.
        radar_motion: radar motion value, or None.
        door_open: door reading this tick, or None.
    """

    tick: int
    t_end: float
    channels: tuple[ChannelView, ...]
    motion_g: float | None
    spo2_pct: float | None
    presence: float | None
    radar_motion: float | None
    door_open: float | None


class Fusion:
    """Holds one breath tracker per respiration stream and builds a :class:`TickView` per tick."""

    def __init__(self, settings: DetectorSettings) -> None:
        self._s = settings
        self._trackers: dict[StreamKey, BreathTracker] = {}
        self._spectra: dict[StreamKey, SpectralRate] = {}

    def view(self, tick: int, seconds: Mapping[StreamKey, Second | None]) -> TickView:
        """Fuse the streams' seconds for ``tick`` (None where a stream had no data)."""
        s = self._s
        t_end = float(tick + 1)
        acc = seconds.get((Source.WEARABLE, "acc"))
        motion = acc.motion_g if acc is not None else None
        spo2 = _value(seconds.get((Source.WEARABLE, "spo2")))
        if spo2 is not None and not s.spo2_min_valid_pct <= spo2 <= 100.0:
            spo2 = None
        hr_second = seconds.get((Source.WEARABLE, "hr"))
        no_contact = hr_second is not None and hr_second.value is None
        presence = _value(seconds.get((Source.RADAR, "presence")))
        radar_motion = _value(seconds.get((Source.RADAR, "motion")))
        door = _value(seconds.get((Source.DOOR, "door")))
        channels = []
        for key, second in seconds.items():
            if key[1] not in RESP_GROUPS:
                continue
            tracker = self._trackers.get(key)
            if tracker is None:
                if key[1] == "acc":
                    # The accelerometer measures its noise in the breathing band (across the
                    # breathing axis); a belt's or radar's floor is read as white noise, blind
                    # to cardiac ripple, which the ripple guard covers.
                    tracker = BreathTracker(
                        s,
                        min_amplitude=s.min_acc_breath_g,
                        min_snr=const.ACC_MIN_SNR,
                        clear_breaths=True,
                        ripple_guard=False,
                    )
                else:
                    tracker = BreathTracker(s)
                self._trackers[key] = tracker
                self._spectra[key] = SpectralRate(s)
            spectral = self._spectra[key]
            spectrum = None
            radar = key[0] is Source.RADAR
            moving = _movement(acc)
            quality = self._quality(second, radar, moving, no_contact, presence, radar_motion)
            if second is not None and second.restarted:
                tracker.reset()  # new posture: new breathing axis, phase and spectrum
                spectral.reset()
            if quality == "good" and second is not None:
                breath = tracker.good_second(second.y, second.t, t_end, second.noise, second.osc)
                if breath.noisy:
                    quality = "noisy"
                elif not breath.good:
                    quality = "warming_up"
                if second.t.size > 1:
                    spectrum = spectral.add(second.y, 1.0 / float(second.t[1] - second.t[0]))
            else:
                breath = tracker.bad_second(t_end)
                spectral.reset()
            threshold = s.apnoea_radar_s if radar else s.apnoea_wearable_s
            channels.append(ChannelView(key, quality, breath, threshold, spectrum))
        return TickView(
            tick=tick,
            t_end=t_end,
            channels=tuple(channels),
            motion_g=motion,
            spo2_pct=spo2,
            presence=presence,
            radar_motion=radar_motion,
            door_open=door,
        )

    def _quality(
        self,
        second: Second | None,
        radar: bool,
        motion: float | None,
        no_contact: bool,
        presence: float | None,
        radar_motion: float | None,
    ) -> str:
        s = self._s
        if second is None or second.coverage < s.min_coverage:
            return "no_data"
        if second.clipped:
            return "clipped"
        if second.static:
            return "static"
        if radar:
            if presence is None or presence < const.FLAG_ON:
                return "absent"
            if radar_motion is not None and radar_motion > s.radar_motion_threshold:
                return "motion"
            return "good"
        if max(_movement(second) or 0.0, motion or 0.0) >= s.gross_motion_g:
            return "motion"
        if no_contact:
            return "no_contact"
        return "good"


def _movement(second: Second | None) -> float | None:
    """Gross movement of an accelerometer second: the larger of the std of |a| and the std of
    the vector about its linear trend (movement across gravity hardly changes |a|)."""
    if second is None or second.motion_g is None:
        return None
    return max(second.motion_g, second.movement_g or 0.0)


def _value(second: Second | None) -> float | None:
    return second.value if second is not None else None
