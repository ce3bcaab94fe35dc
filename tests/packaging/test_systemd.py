"""The shipped systemd units pass ``systemd-analyze verify``, run real commands and are hardened."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import HealthConfig
from edge.health import STALE_PERIODS
from odart.cli import build_parser
from tests.conftest import require

UNITS = Path(__file__).resolve().parents[2] / "packaging" / "systemd"
SERVICES = ("odart-edge.service", "odart-server.service")
"""The long-running services; odart-backup.service is a oneshot started by its timer."""
UNIT_FILES = (*SERVICES, "odart-backup.service", "odart-backup.timer")
DEBIAN_MOSQUITTO = Path("/lib/systemd/system/mosquitto.service")
INSTALLED_ODART = "/opt/odart/venv/bin/odart"
"""Where docs/install.md puts the venv; swapped for this checkout's odart when verifying."""
MAX_EXPOSURE = 3.0
"""``systemd-analyze security`` scale 0-10 (lower is better); ours measured 2.2 and 1.7."""


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def _staged(tmp_path: Path) -> Path:
    """The units as installed, but starting this checkout's ``odart``."""
    odart = Path(sys.executable).with_name("odart")
    for name in UNIT_FILES:
        text = (UNITS / name).read_text().replace(INSTALLED_ODART, str(odart))
        (tmp_path / name).write_text(text)
    shutil.copy(DEBIAN_MOSQUITTO, tmp_path / "mosquitto.service")
    shutil.copytree(UNITS / "mosquitto.service.d", tmp_path / "mosquitto.service.d")
    return tmp_path


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    require("systemd-analyze", found is not None, "apt-get install systemd")
    require("Debian's mosquitto.service", DEBIAN_MOSQUITTO.is_file(), "apt-get install mosquitto")
    assert found is not None
    return found


def test_systemd_units_verify_without_a_single_warning(tmp_path: Path) -> None:
    analyze = _analyze()
    staged = _staged(tmp_path)
    result = subprocess.run(
        [analyze, "verify", *(str(staged / n) for n in (*UNIT_FILES, "mosquitto.service"))],
        capture_output=True,
        text=True,
        check=False,
    )
    # verify exits 0 on an unknown key (a typo like ``Restart=alway``s or ``WatchdogSecs=``) and
    # only prints it, so any output at all fails the test.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert result.stdout.strip() == "", result.stdout


@pytest.mark.parametrize("name", [*SERVICES, "odart-backup.service"])
def test_systemd_units_are_hardened(tmp_path: Path, name: str) -> None:
    analyze = _analyze()
    staged = _staged(tmp_path)
    result = subprocess.run(
        [analyze, "security", "--offline=yes", str(staged / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    exposure = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert exposure is not None, result.stdout + result.stderr
    assert float(exposure.group(1)) <= MAX_EXPOSURE


@pytest.mark.parametrize("name", SERVICES)
def test_systemd_units_run_a_real_odart_command_with_restart_and_journal(name: str) -> None:
    unit = _unit(name)
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == INSTALLED_ODART
    args = build_parser(only=argv[1]).parse_args(argv[1:])  # the command line is accepted
    assert Path(args.config).is_absolute()
    assert service["Restart"] == "always"
    assert service["RestartPreventExitStatus"] == "2"  # a bad config is not retried forever
    assert int(unit["Unit"]["StartLimitBurst"]) > 0
    assert service["StandardOutput"] == service["StandardError"] == "journal"
    assert service["KillSignal"] == "SIGTERM"
    assert service["User"] == "odart"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"


def test_systemd_edge_unit_reaches_its_devices_and_feeds_the_watchdog() -> None:
    service = _unit("odart-edge.service")["Service"]
    assert set(service["SupplementaryGroups"].split()) == {"bluetooth", "dialout", "gpio"}
    assert "PrivateDevices" not in service  # it would hide /dev/ttyAMA0 and /dev/gpiochip*
    assert "AF_BLUETOOTH" in service["RestrictAddressFamilies"]
    assert service["Type"] == "notify"  # edge/health.py sends READY=1 and WATCHDOG=1
    # The watchdog must outlast a few health periods, or a loaded Pi is killed for being slow.
    assert int(service["WatchdogSec"]) >= STALE_PERIODS * HealthConfig().period_s
    assert service["RuntimeDirectory"] == "odart"  # /run/odart/edge-health.json
    example = Path(__file__).resolve().parents[2] / "examples" / "edge-site.toml"
    assert "/run/odart/" in example.read_text()


def test_systemd_backup_unit_runs_odart_backup_nightly() -> None:
    service = _unit("odart-backup.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    args = build_parser(only=argv[1]).parse_args(argv[1:])
    assert argv[1] == "backup"
    assert Path(args.to).parent == Path("/var/lib/odart/backups")
    assert "odart/backups" in service["StateDirectory"].split()  # systemd makes the folder
    timer = _unit("odart-backup.timer")["Timer"]
    assert timer["Persistent"] == "true"
