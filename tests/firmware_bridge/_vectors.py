"""Loading the JSON golden-vector tables in tests/vectors/ (test helper)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"


def load(codec: str) -> list[dict[str, Any]]:
    """Return the vectors of one table, each tagged with its codec."""
    table = json.loads((VECTORS_DIR / f"{codec}.json").read_text(encoding="utf-8"))
    assert table["codec"] == codec
    assert table["source"], "every table names its source"
    return [{**vector, "codec": codec} for vector in table["vectors"]]


def hex_bytes(text: str) -> bytes:
    """Bytes from hex with optional spaces."""
    return bytes.fromhex(text.replace(" ", ""))


def assert_subset(expected: object, actual: object, path: str = "$") -> None:
    """Every key in ``expected`` is in ``actual`` with an equal value (lists element-wise)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing from {actual!r}"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(expected) == len(actual), f"{path}: {expected!r} != {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(want, got, f"{path}[{index}]")
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"
