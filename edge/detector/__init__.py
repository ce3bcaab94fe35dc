"""Streaming overdose-sign detector: apnoea, slowed breathing, desaturation, stillness, occupancy
and signal loss from a wearable and room sensors (pure numpy/scipy, no I/O, time passed in).

Typical use::

    det = Detector(DetectorSettings())
    events = det.update(block, source=Source.WEARABLE)
"""

from __future__ import annotations

from edge.detector.detector import Detector
from edge.detector.errors import DetectorError, InputError, SettingsError
from edge.detector.events import DetectionEvent, EventKind, Severity, Source
from edge.detector.settings import DetectorSettings

__all__ = [
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
