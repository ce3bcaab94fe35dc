"""``odart bench load --quick`` runs end to end and prints its table, targets and PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from odart.broker import find_mosquitto
from tests.conftest import require


@pytest.mark.slow
def test_bench_load_quick_prints_the_latency_table_and_writes_a_png(tmp_path: Path) -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    png = tmp_path / "load.png"
    done = subprocess.run(
        [sys.executable, "-m", "odart.cli", "bench", "load", "--quick", "--png", str(png)],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("level"))
    assert header.split()[:2] == ["level", "wearables"]
    assert "p99" in header
    rows = {line.split()[0]: line.split() for line in lines if line.split()}
    assert {"idle", "1k", "5k"} <= rows.keys()
    assert rows["idle"][6] == "0", "no alert went missing while idle"
    assert "ratio" in done.stdout
    assert "level 5k: 4 s..." in done.stderr  # progress
    assert png.stat().st_size > 10_000
