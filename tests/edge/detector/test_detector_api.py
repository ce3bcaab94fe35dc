"""The public surface the edge agent wires: exports, event values, enums that match the wire."""

from __future__ import annotations

import json
import math

import pytest

import edge.detector
from edge.detector import DetectionEvent, EventKind, Severity, Source
from firmware_bridge import wire


def test_detector_public_names_are_pinned() -> None:
    assert edge.detector.__all__ == [
        "DetectionEvent",
        "Detector",
        "DetectorError",
        "DetectorSettings",
        "EventKind",
        "InputError",
        "SettingsError",
        "Severity",
        "Source",
    ]


def test_detector_event_kinds_and_severities_exist_on_the_wire() -> None:
    for kind in EventKind:
        assert wire.AlertKind(str(kind)) == str(kind)
    for severity in Severity:
        assert wire.Severity(str(severity)) == str(severity)
    assert [str(s) for s in Source] == ["wearable", "radar", "door"]


def test_detection_event_serialises_to_json() -> None:
    event = DetectionEvent(
        EventKind.APNOEA, Severity.CRITICAL, 120.0, 104.5, {"seconds_since_breath": 15.5}
    )
    line = json.dumps(event.to_json_dict(), allow_nan=False)
    assert json.loads(line) == {
        "kind": "apnoea",
        "severity": "critical",
        "t": 120.0,
        "onset": 104.5,
        "evidence": {"seconds_since_breath": 15.5},
    }


def test_detection_event_is_immutable_and_checked() -> None:
    event = DetectionEvent(EventKind.STILLNESS, Severity.WARNING, 1.0, 0.0, {"q": "good"})
    with pytest.raises(TypeError):
        event.evidence["q"] = "bad"  # type: ignore[index]
    with pytest.raises(ValueError, match="after"):
        DetectionEvent(EventKind.APNOEA, Severity.CRITICAL, 1.0, 2.0)
    with pytest.raises(ValueError, match="finite"):
        DetectionEvent(EventKind.APNOEA, Severity.CRITICAL, 1.0, 0.0, {"x": math.nan})
    with pytest.raises(TypeError, match="float, str or None"):
        DetectionEvent(EventKind.APNOEA, Severity.CRITICAL, 1.0, 0.0, {"x": [1]})  # type: ignore[dict-item]
