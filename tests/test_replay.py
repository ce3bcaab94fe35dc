"""``odart replay``: JSON lines for a good recording, one-line reason and exit 2 for a bad one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.samples import Channel
from odart.cli import main
from odart.commands import replay
from tests.edge.detector.signals import chest_acc


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def apnoea_csv(tmp_path: Path) -> Path:
    rec = chest_acc(160.0, stop_s=90.0, seed=9)
    names = ["acc_x", "acc_y", "acc_z"]
    rows: list[list[object]] = [
        [f"{rec.t[i]:.3f}", *(f"{rec.columns[n][i]:.6f}" for n in names), "97" if i % 25 else ""]
        for i in range(rec.t.size)
    ]
    return _write(tmp_path / "rec.csv", ["t", *names, "spo2"], rows)


def test_replay_prints_one_json_event_per_line(
    apnoea_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(apnoea_csv)]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    apnoea = [e for e in events if e["kind"] == "apnoea"]
    assert len(apnoea) == 1
    assert {"kind", "severity", "t", "onset", "evidence"} <= set(apnoea[0])
    assert apnoea[0]["severity"] == "critical"
    assert 100.0 <= apnoea[0]["t"] <= 108.0
    assert apnoea[0]["evidence"]["spo2_pct"] == 97.0


def test_replay_takes_settings_as_json(
    apnoea_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(apnoea_csv), "--settings", '{"apnoea_wearable_s": 25}']) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first = next(e for e in events if e["kind"] == "apnoea")
    assert first["evidence"]["seconds_since_breath"] >= 25.0


@pytest.mark.parametrize(
    ("header", "rows", "reason"),
    [
        (["time", "resp"], [[0, 1], [1, 2]], "no 't' column"),
        (["t", "resp", "spO2"], [[0, 1, 2], [1, 2, 3]], "unknown column 'spO2'"),
        (["t", "resp"], [[0, 1], [0, 2]], "does not increase"),
        (["t", "resp"], [[0, 1], [1, "x"]], "not a number"),
        (["t", "resp"], [[0, 1], [1]], "fields"),
        (["t", "resp"], [[0, 1]], "at least two rows"),
        (["t", "resp"], [[0.0, 1], [0.5, 2], [1.0, 3]], "too low"),
    ],
)
def test_replay_rejects_unusable_files_with_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: list[str],
    rows: list[list[object]],
    reason: str,
) -> None:
    path = _write(tmp_path / "bad.csv", header, rows)
    assert main(["replay", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert reason in captured.err
    assert captured.err.count("\n") == 1


def test_replay_reports_missing_and_empty_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "none.csv")]) == 2
    assert "cannot open" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["replay", str(empty)]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["replay", str(empty), "--settings", "[1]"]) == 2
    assert "JSON object" in capsys.readouterr().err


def test_replay_column_list_matches_the_channels() -> None:
    assert tuple(str(c) for c in Channel) == replay.COLUMNS


def test_replay_handles_a_recording_with_no_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = np.arange(0.0, 30.0, 0.04)
    path = _write(tmp_path / "q.csv", ["t", "resp"], [[f"{x:.2f}", f"{np.sin(x):.4f}"] for x in t])
    assert main(["replay", str(path)]) == 0
    assert capsys.readouterr().out == ""
