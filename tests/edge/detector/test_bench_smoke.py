"""``odart bench detector --quick``: prints its figures and writes a PNG (smoke test only; the
full benchmark is run by hand, see docs/detector.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odart.cli import main


def test_bench_detector_quick_prints_figures_and_writes_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "detector", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "scenarios passed: 2/2" in out
    assert "CPU, chest-acc wearable (x real time)" in out
    pngs = list(tmp_path.glob("detector_*.png"))
    assert len(pngs) == 1
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "detector.json").read_text())
    assert summary["cpu"]["wearable_acc_x_realtime"] > 0


def test_bench_rejects_unknown_targets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "nothing"])
    assert stopped.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
