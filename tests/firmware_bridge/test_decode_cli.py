"""``odart decode KIND HEX``: JSON on stdout and exit 0, or one line on stderr and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from firmware_bridge import KINDS
from odart.cli import main
from odart.commands import decode
from tests.firmware_bridge._vectors import load


def test_decode_kinds_match_the_codec_table() -> None:
    assert decode.KINDS == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_decode_answers_every_kind(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    vector = next(v for v in load(kind) if "error" not in v)
    assert main(["decode", kind, vector["hex"].replace(" ", "")]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["type"]


def test_decode_spec_example_heart_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "heart_rate", "16", "48", "55", "03"]) == 0
    rendered = json.loads(capsys.readouterr().out)
    assert rendered["bpm"] == 72
    assert rendered["contact"] == "detected"
    assert rendered["rr_intervals_1024"] == [853]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["heart_rate", "17"], "truncated"),
        (["mr60bha1", "5359010200010FBE5443"], "bad checksum"),
        (["battery_level", "zz"], "not hex"),
    ],
)
def test_decode_bad_input_exits_2_with_one_line(
    args: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert reason in captured.err


def test_decode_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", "decode", "battery_level", "57"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["percent"] == 87
