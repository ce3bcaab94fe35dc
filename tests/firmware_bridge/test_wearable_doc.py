"""docs/odart-wearable-protocol.md and the reference implementation agree."""

from __future__ import annotations

import re
from pathlib import Path

from firmware_bridge import crc16_ccitt_false, decode_wearable, frames_dropped
from firmware_bridge._wearable import DATA_CHAR_UUID, PROTOCOL_VERSION, SERVICE_UUID
from tests.firmware_bridge._vectors import hex_bytes, load

DOC = Path(__file__).resolve().parents[2] / "docs" / "odart-wearable-protocol.md"


def _doc_examples() -> list[bytes]:
    blocks = re.findall(r"```\n([0-9A-F ]+)\n```", DOC.read_text(encoding="utf-8"))
    return [hex_bytes(block) for block in blocks]


def test_wearable_doc_examples_are_the_vectors_and_decode() -> None:
    examples = _doc_examples()
    doc_vectors = [
        hex_bytes(v["hex"]) for v in load("odart_wearable") if "doc example" in v["name"]
    ]
    assert examples == doc_vectors
    for frame in examples:
        decode_wearable(frame)


def test_wearable_doc_names_the_uuids_and_crc() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert SERVICE_UUID in text
    assert DATA_CHAR_UUID in text
    assert f"version {PROTOCOL_VERSION}" in text
    assert "0x29B1" in text
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_wearable_frames_dropped_counts_gaps_across_wrap() -> None:
    assert frames_dropped(5, 6) == 0
    assert frames_dropped(5, 9) == 3
    assert frames_dropped(0xFFFF, 0) == 0
    assert frames_dropped(0xFFFE, 1) == 2
