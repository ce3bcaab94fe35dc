"""Suite-wide settings: Hypothesis profiles tuned for a loaded 2-core CI machine."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Timing health checks measure the machine, not our code: CI shares two cores with a broker,
# a server and a browser, so only behaviour is checked here (speed lives in benchmarks).
settings.register_profile(
    "odart", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "odart"))


# ---------------------------------------------------------------------------------------------
# Real components, started by the tests themselves.

import subprocess  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from odart.broker import MosquittoBroker, find_mosquitto  # noqa: E402
from simulators.receiver import NotificationReceiver  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(component: str, present: bool, install_hint: str) -> None:
    """Fail under CI (a missing component is a broken CI), skip with a reason elsewhere."""
    if present:
        return
    message = f"{component} is required for this test: {install_hint}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def mosquitto() -> Iterator[MosquittoBroker]:
    """A Mosquitto broker with the project's generated config on a free loopback port."""
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    broker = MosquittoBroker()
    with broker:
        yield broker


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    """A local HTTP endpoint standing in for a responder's phone."""
    with NotificationReceiver() as running:
        yield running


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (mounting needs root, as CI is) that a test can fill up."""
    require("root, to mount a tmpfs", os.geteuid() == 0, "run the test as root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)
