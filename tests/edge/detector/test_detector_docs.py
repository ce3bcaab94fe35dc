"""docs/detector.md stays in step with the code: every setting with its default and range."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from edge.detector import DetectorSettings

DOC = Path(__file__).resolve().parents[3] / "docs" / "detector.md"


def test_detector_docs_list_every_setting_with_its_default() -> None:
    text = DOC.read_text()
    for spec in dataclasses.fields(DetectorSettings):
        row = (
            f"| `{spec.name}` | `{spec.default!r}` | "
            f"{spec.metadata['low']:g} – {spec.metadata['high']:g} |"
        )
        assert row in text, f"docs/detector.md is missing or stale for {spec.name}: {row}"


def test_detector_docs_name_every_event_kind() -> None:
    from edge.detector import EventKind

    text = DOC.read_text()
    for kind in EventKind:
        assert f"`{kind}`" in text
