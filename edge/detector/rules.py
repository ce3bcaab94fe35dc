"""Event rules: turn each fused tick into apnoea, slowed-breathing, desaturation, stillness,
occupancy, no-signal and recovery events (pure).

Each condition is a small latch: it reports once when it starts, again if its severity rises,
and a ``recovered`` event when it clears. Thresholds and their reasons are in :mod:`.const`;
slowed breathing is judged in :mod:`.rules_breathing_rate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.detector import const
from edge.detector.events import DetectionEvent, EventKind, EvidenceValue, Severity, Source
from edge.detector.fusion import ChannelView, TickView
from edge.detector.rules_breathing_rate import NOISY_DETAIL, ClearSlowed, assess_slowed
from edge.detector.settings import DetectorSettings


@dataclass(slots=True)
class _Latch:
    """An active condition: when it started and how severe it has been."""

    onset_s: float
    severity: Severity
    recovering_s: float | None = None
    strong_breaths: int = 0
    last_strong_s: float = -math.inf
    raised_s: float = -math.inf
    moving_ticks: int = 0


class Rules:
    """All event latches of one monitored person and room."""

    def __init__(self, settings: DetectorSettings) -> None:
        self._s = settings
        self._active: dict[EventKind | str, _Latch] = {}
        self._spo2_low_since: float | None = None
        self._spo2_crit_since: float | None = None
        self._spo2_ok_since: float | None = None
        self._spo2_base: list[float] = []
        self._first_t: float | None = None
        self._still_since: float | None = None
        self._occupied_since: float | None = None
        self._vacant_since: float | None = None
        self._last_door_s: float | None = None
        self._door_prev: float | None = None
        self._unusable_since: dict[Source, float] = {}

    def apply(self, v: TickView) -> list[DetectionEvent]:
        """Update every latch with one tick and return the events it raised."""
        if self._first_t is None:
            self._first_t = v.t_end - 1.0
        events: list[DetectionEvent] = []
        events += self._apnoea(v)
        events += self._slowed(v)
        events += self._desaturation(v)
        events += self._stillness(v)
        events += self._occupancy(v)
        events += self._no_signal(v)
        return events

    # --- helpers ---------------------------------------------------------------------------------
    def _evidence(self, v: TickView, **extra: EvidenceValue) -> dict[str, EvidenceValue]:
        rates = [c.breath.rate_bpm for c in v.channels if c.good and c.breath.rate_bpm]
        ev: dict[str, EvidenceValue] = {
            "rate_bpm": round(max(rates), 2) if rates else None,
            "spo2_pct": v.spo2_pct,
            "motion_g": round(v.motion_g, 4) if v.motion_g is not None else None,
            "quality": ",".join(f"{c.key[0]}.{c.key[1]}={c.quality}" for c in v.channels) or None,
        }
        ev.update(extra)
        return ev

    def _raise(
        self,
        kind: EventKind,
        severity: Severity,
        onset: float,
        v: TickView,
        key: EventKind | str | None = None,
        **extra: EvidenceValue,
    ) -> list[DetectionEvent]:
        """Start or escalate a latch; report only on start or a rise in severity."""
        key = kind if key is None else key
        latch = self._active.get(key)
        onset = float(min(onset, v.t_end))
        if latch is None:
            self._active[key] = _Latch(onset, severity, raised_s=v.t_end)
        elif latch.severity is Severity.WARNING and severity is Severity.CRITICAL:
            latch.severity = severity
            onset = latch.onset_s
        else:
            latch.recovering_s = None
            return []
        return [DetectionEvent(kind, severity, v.t_end, onset, self._evidence(v, **extra))]

    def _clear(
        self,
        kind: EventKind,
        v: TickView,
        key: EventKind | str | None = None,
        **extra: EvidenceValue,
    ) -> list[DetectionEvent]:
        key = kind if key is None else key
        latch = self._active.pop(key, None)
        if latch is None:
            return []
        onset = latch.recovering_s if latch.recovering_s is not None else v.t_end
        ev = self._evidence(v, cleared=str(kind), since_s=latch.onset_s, **extra)
        return [DetectionEvent(EventKind.RECOVERED, latch.severity, v.t_end, onset, ev)]

    # --- apnoea ----------------------------------------------------------------------------------
    def _apnoea(self, v: TickView) -> list[DetectionEvent]:
        s = self._s
        latch = self._active.get(EventKind.APNOEA)
        if latch is not None:
            return self._apnoea_recovery(v, latch)
        if any(c.breathing(v.t_end, s.apnoea_wearable_s) for c in v.channels):
            return []
        quiet = [c for c in v.channels if c.quiet_s(v.t_end) >= c.threshold_s]
        if not quiet:
            return []
        agreeing = [c for c in v.channels if c.quiet_s(v.t_end) >= s.pause_s]
        onset = max(_onset(c, v.t_end) for c in quiet)
        sources = sorted({str(c.key[0]) for c in agreeing})
        return self._raise(
            EventKind.APNOEA,
            Severity.CRITICAL,
            onset,
            v,
            seconds_since_breath=round(v.t_end - onset, 2),
            channels="+".join(sources),
            agreement=float(len(sources)),
        )

    def _apnoea_recovery(self, v: TickView, latch: _Latch) -> list[DetectionEvent]:
        # A channel too close to its noise floor to count breaths one by one cannot show three
        # strong breaths: clear chest movement with breathing (the oscillation check) held for
        # RECOVERY_MOVING_S seconds recovers instead, or the latch would swallow every later
        # apnoea of a shallow breather.
        moving = any(
            c.quality in ("good", "noisy")
            and c.breath.osc_ratio is not None
            and c.breath.osc_ratio >= const.OSC_SEEN_X
            for c in v.channels
        )
        latch.moving_ticks = latch.moving_ticks + 1 if moving else 0
        if latch.moving_ticks >= const.RECOVERY_MOVING_S:
            latch.recovering_s = v.t_end - const.OSC_WINDOW_S - latch.moving_ticks
            return self._clear(EventKind.APNOEA, v, by="movement")
        strong = sum(c.breath.strong_breaths for c in v.channels if c.good)
        if latch.recovering_s is not None and v.t_end - latch.last_strong_s > self._s.pause_s:
            # Isolated swings far apart are not breathing resuming (noise, a gasp).
            latch.recovering_s = None
            latch.strong_breaths = 0
        if not strong:
            return []
        latch.last_strong_s = v.t_end
        if latch.recovering_s is None:
            latch.recovering_s = max(
                (c.breath.last_breath_s or v.t_end) for c in v.channels if c.good
            )
        latch.strong_breaths += strong
        if latch.strong_breaths >= self._s.recovery_breaths:
            return self._clear(EventKind.APNOEA, v)
        return []

    # --- slowed breathing (judged in rules_breathing_rate) ---------------------------------------
    def _slowed(self, v: TickView) -> list[DetectionEvent]:
        latch = self._active.get(EventKind.RESPIRATORY_DEPRESSION)
        call = assess_slowed(
            self._s,
            v,
            latch.raised_s if latch is not None else None,
            self._spo2_baseline,
            self._still_for(v),
        )
        if call is None:
            return []
        # ``key=None`` is spelled out so that no evidence name can be taken for the latch key.
        if isinstance(call, ClearSlowed):
            return self._clear(EventKind.RESPIRATORY_DEPRESSION, v, key=None, **call.evidence)
        return self._raise(
            EventKind.RESPIRATORY_DEPRESSION,
            call.severity,
            call.onset_s,
            v,
            key=None,
            **call.evidence,
        )

    # --- desaturation ----------------------------------------------------------------------------
    def _desaturation(self, v: TickView) -> list[DetectionEvent]:
        s = self._s
        spo2 = v.spo2_pct
        if spo2 is None:
            return []  # NaN or implausible: neither starts nor breaks a run
        if self._first_t is not None and v.t_end - self._first_t <= s.baseline_period_s:
            self._spo2_base.append(spo2)
        if spo2 < s.spo2_warning_pct:
            self._spo2_ok_since = None
            self._spo2_low_since = self._spo2_low_since or v.tick
            if spo2 <= s.spo2_critical_pct:
                self._spo2_crit_since = self._spo2_crit_since or v.tick
            else:
                self._spo2_crit_since = None
        else:
            self._spo2_low_since = self._spo2_crit_since = None
            self._spo2_ok_since = self._spo2_ok_since or v.tick
        if self._spo2_low_since is None:
            if self._spo2_ok_since is not None and v.t_end - self._spo2_ok_since >= s.spo2_hold_s:
                return self._clear(EventKind.DESATURATION, v)
            return []
        if v.t_end - self._spo2_low_since < s.spo2_hold_s:
            return []
        crit = (
            self._spo2_crit_since is not None and v.t_end - self._spo2_crit_since >= s.spo2_hold_s
        )
        corroborated = (
            EventKind.APNOEA in self._active or EventKind.RESPIRATORY_DEPRESSION in self._active
        )
        base = self._spo2_baseline()
        return self._raise(
            EventKind.DESATURATION,
            Severity.CRITICAL if crit or corroborated else Severity.WARNING,
            float(self._spo2_low_since),
            v,
            spo2_baseline_pct=base,
        )

    def _spo2_baseline(self) -> float | None:
        """Median SpO2 over the first ``baseline_period_s`` (the personal baseline)."""
        if not self._spo2_base:
            return None
        return sorted(self._spo2_base)[len(self._spo2_base) // 2]

    # --- stillness (an amplifier) ----------------------------------------------------------------
    def _stillness(self, v: TickView) -> list[DetectionEvent]:
        s = self._s
        still = self._is_still(v)
        if still is None:
            return []
        if not still:
            self._still_since = None
            return self._clear(EventKind.STILLNESS, v)
        self._still_since = self._still_since if self._still_since is not None else v.tick
        if v.t_end - self._still_since < s.stillness_s:
            return []
        concern = any(
            k in self._active
            for k in (EventKind.APNOEA, EventKind.RESPIRATORY_DEPRESSION, EventKind.DESATURATION)
        )
        door = self._last_door_s is not None and v.t_end - self._last_door_s <= (
            s.stillness_context_s
        )
        if not (concern or door):
            return []
        return self._raise(
            EventKind.STILLNESS,
            Severity.WARNING,
            self._still_since,
            v,
            still_s=v.t_end - self._still_since,
            context="respiratory" if concern else "door",
        )

    def _still_for(self, v: TickView) -> bool:
        """Still (no gross movement) for at least ``stillness_s``."""
        return self._still_since is not None and v.t_end - self._still_since >= (
            self._s.stillness_s
        )

    def _is_still(self, v: TickView) -> bool | None:
        s = self._s
        if v.motion_g is not None:
            return v.motion_g < s.stillness_g
        if v.presence is not None and v.presence >= const.FLAG_ON and v.radar_motion is not None:
            return v.radar_motion <= s.radar_motion_threshold
        return None

    # --- occupancy -------------------------------------------------------------------------------
    def _occupancy(self, v: TickView) -> list[DetectionEvent]:
        s = self._s
        opened = v.door_open is not None and v.door_open >= const.FLAG_ON
        if opened and not (self._door_prev is not None and self._door_prev >= const.FLAG_ON):
            self._last_door_s = float(v.tick)
            if self._occupied_since is not None:
                self._occupied_since = float(v.tick)  # someone may have come or gone
        if v.door_open is not None:
            self._door_prev = v.door_open
        if v.presence is None:
            return []
        if v.presence >= const.FLAG_ON:
            self._vacant_since = None
            if self._occupied_since is None:
                self._occupied_since = float(v.tick)
        else:
            self._vacant_since = self._vacant_since if self._vacant_since is not None else v.tick
            if v.t_end - self._vacant_since >= s.vacancy_s:
                self._occupied_since = None
                return self._clear(EventKind.PROLONGED_OCCUPANCY, v)
        if self._occupied_since is None or v.t_end - self._occupied_since < s.occupancy_s:
            return []
        return self._raise(
            EventKind.PROLONGED_OCCUPANCY,
            Severity.CRITICAL if self._still_for(v) else Severity.WARNING,
            self._occupied_since,
            v,
            occupied_s=v.t_end - self._occupied_since,
        )

    # --- no signal -------------------------------------------------------------------------------
    def _no_signal(self, v: TickView) -> list[DetectionEvent]:
        events: list[DetectionEvent] = []
        for source in (Source.WEARABLE, Source.RADAR):
            chans = [c for c in v.channels if c.key[0] is source]
            if not chans:
                continue
            key = f"no_signal:{source}"
            usable = {"good", "absent", "warming_up"}
            if key not in self._active:
                usable.add("motion")  # moving is alive; but it does not end a standing warning
            if any(c.quality in usable for c in chans):
                self._unusable_since.pop(source, None)
                latch = self._active.get(key)
                if latch is None:
                    continue
                # A standing warning clears once the signal has stayed usable for a while: a
                # channel at the edge of its noise floor tells staff once, not on every flicker.
                if latch.recovering_s is None:
                    latch.recovering_s = float(v.tick)
                if v.t_end - latch.recovering_s >= const.NO_SIGNAL_CLEAR_S:
                    events += self._clear(EventKind.NO_SIGNAL, v, key, source=str(source))
                continue
            if any(c.quality == "motion" for c in chans):
                continue
            if (standing := self._active.get(key)) is not None:
                standing.recovering_s = None  # unusable again: the minute starts over
            since = self._unusable_since.setdefault(source, float(v.tick))
            qualities = {c.quality for c in chans}
            wait = const.NOISY_WARN_S if qualities == {"noisy"} else self._s.no_signal_s
            if v.t_end - since >= min(wait, self._s.no_signal_s):
                snrs = [c.breath.snr for c in chans if c.breath.snr is not None]
                events += self._raise(
                    EventKind.NO_SIGNAL,
                    Severity.WARNING,
                    since,
                    v,
                    key,
                    source=str(source),
                    reason=",".join(sorted(qualities)),
                    detail=NOISY_DETAIL if "noisy" in qualities else None,
                    snr=round(max(snrs), 2) if snrs else None,
                )
        return events


def _onset(c: ChannelView, t_end: float) -> float:
    """Estimated apnoea onset on a channel: its last breathing movement or good signal's start."""
    return c.breath.quiet_since_s if c.breath.quiet_since_s is not None else t_end
