"""``odart simulate``: --list, bad files, --json and --plot, and a false expectation that FAILS."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from odart.broker import find_mosquitto
from odart.cli import main
from odart.simulate_library import LIBRARY_DIR, library
from tests.conftest import require
from tests.scenarios.conftest import RUN_TIMEOUT_S, simulate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_simulate_list_shows_the_library_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(library()) >= 10
    assert any(line.startswith("abrupt-apnoea ") for line in lines)


def test_simulate_bad_file_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text((LIBRARY_DIR / "abrupt-apnoea.toml").read_text().replace("at = 120", "at = -5"))
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: timeline.0.at: must be within" in err


def test_simulate_without_a_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 2
    assert "give a SCENARIO" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.timeout(RUN_TIMEOUT_S * 2)
def test_simulate_json_reports_every_hop_with_latencies(
    library_runs: dict[str, Future[tuple[int, dict[str, Any] | None, str]]],
) -> None:
    code, report, stderr = library_runs["abrupt-apnoea"].result(timeout=RUN_TIMEOUT_S * 2)
    assert code == 0, stderr
    assert report is not None
    apnoea = next(a for a in report["alerts"] if a["kind"] == "apnoea")
    hops = [h["hop"] for h in apnoea["hops"]]
    for hop in ("onset", "detected", "outbox", "broker", "stored", "notified", "acknowledged"):
        assert hop in hops
    assert hops[-1] == "resolved"
    assert all(h["latency_s"] >= 0 for h in apnoea["hops"][1:])
    assert all(h["wall_ms"] is not None for h in apnoea["hops"] if h["hop"] == "stored")
    assert [s["status"] for s in report["responder_steps"]].count(200) >= 4
    assert report["passed"] is True


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_simulate_fails_when_an_expectation_is_false(tmp_path: Path) -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    text = (LIBRARY_DIR / "abrupt-apnoea.toml").read_text()
    # An apnoea cannot be detected within 5 s of breathing stopping: the rule needs 15 s.
    false = text.replace("after = 120\nby = 150", "after = 120\nby = 125").replace(
        "duration_s = 360", "duration_s = 250"
    )
    assert false != text
    path = tmp_path / "false.toml"
    path.write_text(false)
    plot = tmp_path / "run.png"
    done = simulate(str(path), "--plot", str(plot))
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("  FAIL  alert apnoea (critical) for A") for line in lines)
    assert lines[-1].startswith("FAIL: ")
    assert plot.read_bytes()[:8] == PNG_MAGIC
