"""``odart bench detector --quick``: prints its figures and writes a PNG (smoke test only; the
full benchmark is run by hand, see docs/detector.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odart.cli import main


@pytest.mark.slow
def test_bench_detector_quick_prints_figures_and_writes_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "detector", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "scenarios passed: 2/2" in out
    for band in ("acc_tilt_2-5mg", "acc_tilt_5-15mg", "acc_tilt_15-40mg"):
        assert f"-- {band}: 1 recordings" in out
        png = tmp_path / f"detector_{band}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "false apnoea pages per hour" in out
    assert "chest accelerometer (3 axes, 25 Hz)" in out
    summary = json.loads((tmp_path / "detector.json").read_text())
    assert summary["cpu"]["wearable_acc_x_realtime"] > 0
    assert summary["conditions"]["acc_tilt_15-40mg"]["detector"]["apnoeas"] == 1
    # Each accelerometer recording also counts in exactly one sensor-noise sub-row.
    assert "-- by sub-row" in out
    for band in ("acc_tilt_2-5mg", "acc_tilt_5-15mg", "acc_tilt_15-40mg"):
        rows = [v for k, v in summary["conditions"].items() if k.startswith(f"{band} | noise")]
        assert [r["detector"]["recordings"] for r in rows] == [1]


def test_bench_accelerometer_noise_rows_split_at_1_5_mg() -> None:
    from bench.detector.conditions import noise_group

    assert noise_group(0.0010) == noise_group(0.0015) == "noise<=1.5mg"
    assert noise_group(0.0016) == noise_group(0.003) == "noise>1.5mg"


def test_bench_rejects_unknown_targets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "nothing"])
    assert stopped.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_slowed_alert_where_the_recording_breathes_slowly_itself_is_not_false() -> None:
    from bench.detector.evaluate import ConditionScore

    score = ConditionScore()
    # One alert inside a stretch the recording breathes at <= 8/min of itself, one outside.
    score.add("r", 3600.0, [], [], [], [300.0, 3000.0], native_slow=[(100.0, 400.0)])
    row = score.row()
    assert row["false_slowed_per_h"] == 1.0
    assert row["native_slowed_per_h"] == 1.0


def test_time_not_measurable_counts_each_warning_up_to_the_recordings_end() -> None:
    from bench.detector.evaluate import ConditionScore

    score = ConditionScore()
    # A 10-minute warning that cleared, then one still standing when the hour ended.
    score.add("r", 3600.0, [], [], [], [], warnings=[(600.0, 1200.0), (2700.0, float("inf"))])
    row = score.row()
    assert row["warnings_per_h"] == 2.0
    assert row["not_measurable_pct"] == pytest.approx(100.0 * (600.0 + 900.0) / 3600.0)
    assert row["warned_recordings"] == 1.0


def test_false_pages_are_also_counted_by_where_they_fall() -> None:
    from bench.detector.evaluate import ConditionScore

    score = ConditionScore()
    # Three false pages: one in a shallow stretch (decided 10 s after it ended), one while a
    # not-measurable warning stands, one in plain breathing.
    score.add(
        "r",
        3600.0,
        [],
        [],
        [700.0, 1500.0, 3000.0],
        [],
        warnings=[(1400.0, 1600.0)],
        not_apnoea=[(600.0, 690.0)],
    )
    row = score.row()
    assert row["false_apnoea_per_h"] == 3.0
    assert row["false_in_shallow_per_h"] == 1.0
    assert row["false_warned_per_h"] == 1.0


def test_native_slow_spans_follow_the_recordings_own_rate() -> None:
    import numpy as np

    from bench.detector.conditions import native_slow_spans

    fs = 25.0
    t = np.arange(0.0, 300.0, 1.0 / fs)
    # 15/min for the first 150 s, then 6/min.
    x = np.where(t < 150.0, np.sin(2 * np.pi * 0.25 * t), np.sin(2 * np.pi * 0.1 * t))
    spans = native_slow_spans(x, fs)
    assert len(spans) == 1
    start, end = spans[0]
    assert 100.0 <= start <= 160.0
    assert end == 300.0


def test_bench_separability_prints_each_group_and_draws_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The accelerometer study behind issue 12's note: ratios in shallow breathing after
    # movement against true apnoeas, with an AUC per group and a picture.
    args = ["bench", "detector", "--separability", "--quick", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("   simulated,")]
    assert rows
    recordings = sum(int(row[2]) for row in rows)
    assert recordings == 3  # one simulated recording per tilt band
    aucs = [float(row[-1]) for row in rows if row[-1] != "-"]
    assert aucs
    assert all(0.0 <= a <= 1.0 for a in aucs)
    png = tmp_path / "detector_separability.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
