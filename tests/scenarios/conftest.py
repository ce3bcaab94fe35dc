"""Runs the scenario library two at a time in subprocesses (the machine has two cores)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import pytest

from odart.broker import find_mosquitto
from odart.simulate_library import LIBRARY_DIR
from tests.conftest import require

WORKERS: Final = 2
"""One scenario per core: each run is one event loop, so two runs use the machine fully."""

RUN_TIMEOUT_S: Final = 150.0
"""A library scenario takes 10-30 s of wall time at its own speed; this is a hang."""

LIBRARY: Final = sorted(path.stem for path in LIBRARY_DIR.glob("*.toml"))


def simulate(*args: str, timeout_s: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run ``odart simulate ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from odart.cli import main; sys.exit(main())",
            "simulate",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _run(name: str) -> tuple[int, dict[str, Any] | None, str]:
    done = simulate(str(LIBRARY_DIR / f"{name}.toml"), "--json")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        report = None
    return done.returncode, report, done.stderr[-4000:]


@pytest.fixture(scope="session")
def library_runs() -> Iterator[dict[str, Future[tuple[int, dict[str, Any] | None, str]]]]:
    """Every library scenario, started at once on a pool of two; each test waits for its own."""
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    with ThreadPoolExecutor(WORKERS) as pool:
        runs = {name: pool.submit(_run, name) for name in LIBRARY}
        yield runs
        for future in runs.values():
            future.cancel()


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """A folder for scenario files written by a test."""
    return tmp_path
