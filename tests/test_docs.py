"""Docs that can go stale are checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_bridge import wire
from odart.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "member",
    [
        *wire.TopicKind,
        *wire.MessageKind,
        *wire.AlertKind,
        *wire.Severity,
        *wire.EdgeState,
        *wire.AlertUpdate,
        *wire.Command,
        *wire.DeviceModel,
        *wire.DeviceRole,
    ],
)
def test_docs_wire_reference_names_every_wire_value(member: str) -> None:
    assert f"`{member}`" in (ROOT / "docs" / "wire.md").read_text()


def test_docs_wire_reference_states_the_limits() -> None:
    text = (ROOT / "docs" / "wire.md").read_text()
    assert f"{wire.MAX_PAYLOAD_BYTES} bytes" in text
    assert f"schema {wire.SCHEMA_VERSION}" in text
    assert f"≤ {wire.MAX_EVIDENCE_ITEMS} scalar items" in text
    assert f"At most {wire.MAX_DEVICES} entries" in text


def test_docs_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert f"`odart {name}" in readme, name


def test_docs_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^(\./scripts/\w+)\b", readme, flags=re.MULTILINE)
    assert commands[:2] == ["./scripts/demo", "./scripts/test"]
    assert re.search(r"^\./scripts/test$", ci, flags=re.MULTILINE)


def test_docs_architecture_module_list_is_current() -> None:
    import runpy

    generator = runpy.run_path(str(ROOT / "scripts" / "architecture.py"))
    current = (ROOT / "ARCHITECTURE.md").read_text()
    assert generator["render_file"](current) == current, (
        "ARCHITECTURE.md is stale: run .venv/bin/python scripts/architecture.py"
    )
