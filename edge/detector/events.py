"""What the detector reports: event kinds, severities, sources and the event value (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

EvidenceValue = float | str | None


class Source(StrEnum):
    """Where a sample block comes from: the person's wearable or their room's sensors."""

    WEARABLE = "wearable"
    RADAR = "radar"
    DOOR = "door"


class EventKind(StrEnum):
    """What the detector saw."""

    APNOEA = "apnoea"
    RESPIRATORY_DEPRESSION = "respiratory_depression"
    DESATURATION = "desaturation"
    STILLNESS = "stillness"
    PROLONGED_OCCUPANCY = "prolonged_occupancy"
    NO_SIGNAL = "no_signal"
    RECOVERED = "recovered"


class Severity(StrEnum):
    """How urgently a person should act on an event."""

    WARNING = "warning"
    CRITICAL = "critical"


def _check_evidence(evidence: Mapping[str, EvidenceValue]) -> None:
    for key, value in evidence.items():
        if not isinstance(key, str):
            message = f"evidence keys must be str, got {key!r}"
            raise TypeError(message)
        if isinstance(value, float) and not math.isfinite(value):
            message = f"evidence {key!r} must be finite or None, got {value!r}"
            raise ValueError(message)
        if value is not None and not isinstance(value, float | int | str):
            message = f"evidence {key!r} must be float, str or None, got {type(value).__name__}"
            raise TypeError(message)


@dataclass(frozen=True, slots=True)
class DetectionEvent:
    """One thing the detector reports.

    Attributes:
        kind: what was seen.
        severity: warning or critical.
        t_s: detection time, seconds on the sample clock (the end of the data that decided it).
        onset_s: estimated start of the condition (e.g. the last breath for an apnoea).
        evidence: JSON-serialisable facts behind the call, e.g. ``seconds_since_breath``,
            ``rate_bpm``, ``spo2_pct``, ``quality``, ``channels``.
    """

    kind: EventKind
    severity: Severity
    t_s: float
    onset_s: float
    evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_s) and math.isfinite(self.onset_s)):
            message = f"t_s and onset_s must be finite, got {self.t_s!r}, {self.onset_s!r}"
            raise ValueError(message)
        if self.onset_s > self.t_s:
            message = f"onset_s {self.onset_s!r} is after t_s {self.t_s!r}"
            raise ValueError(message)
        _check_evidence(self.evidence)
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))

    def to_json_dict(self) -> dict[str, EvidenceValue | dict[str, EvidenceValue]]:
        """Return a plain dict for ``json.dumps``: kind, severity, t, onset and evidence."""
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "t": round(self.t_s, 3),
            "onset": round(self.onset_s, 3),
            "evidence": dict(self.evidence),
        }
