"""A bad edge config stops start-up with the key and the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.config import EdgeConfigError, config_from_mapping, load_config

GOOD: dict[str, Any] = {
    "site": "hostel-1",
    "edge": "pi-1",
    "people": [{"participant": "p-1", "room": "room-1", "devices": ["w1"]}],
    "devices": [{"id": "w1", "role": "wearable", "link": "virtual"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_edge_config_accepts_the_example_file() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "edge.toml")
    assert config.site == "hostel-1"
    assert config.detector_settings() is not None


@pytest.mark.parametrize(
    ("data", "key", "reason"),
    [
        (_with(site="Hostel One"), "site", "a-z"),
        (_with(mqtt={"port": 70000}), "mqtt.port", "less than or equal"),
        (_with(mqtt={"reconnect_max_s": 0}), "mqtt.reconnect_max_s", "greater than or equal"),
        (_with(colour="blue"), "colour", "Extra inputs"),
        (_with(detector={"apnoea_wearable_s": -3}), "detector.", ""),
        (_with(detector={"no_such_setting": 1}), "detector.no_such_setting", "unknown setting"),
        (
            _with(people=[{"participant": "p-1", "room": "room-1", "devices": ["w9"]}]),
            "(root)",
            "unknown device 'w9'",
        ),
        (
            _with(devices=[{"id": "w1", "role": "wearable", "link": "ble"}]),
            "devices.0",
            "needs a model",
        ),
        (
            _with(devices=[{"id": "w1", "role": "wristband", "link": "virtual"}]),
            "devices.0.role",
            "",
        ),
    ],
)
def test_edge_config_names_the_bad_key(data: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(EdgeConfigError) as caught:
        config_from_mapping(data)
    assert caught.value.key.startswith(key)
    assert reason in caught.value.reason


def test_edge_config_rejects_broken_toml_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text("site = \n")
    with pytest.raises(EdgeConfigError) as caught:
        load_config(path)
    assert caught.value.key == str(path)
    assert "TOML" in caught.value.reason


def test_edge_command_exits_2_with_the_key_on_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('site = "hostel-1"\nedge = "PI 1"\n')
    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", "edge", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("odart edge: config edge:")


def test_config_health_file_sits_beside_the_outbox_unless_set() -> None:
    base = {"site": "s1", "edge": "e1", "outbox": "/var/lib/odart/outbox.db"}
    assert config_from_mapping(base).health_file == Path("/var/lib/odart/outbox-health.json")
    chosen = config_from_mapping({**base, "health": {"file": "/run/odart/edge-health.json"}})
    assert chosen.health_file == Path("/run/odart/edge-health.json")
    with pytest.raises(EdgeConfigError, match=r"health\.period_s"):
        config_from_mapping({**base, "health": {"period_s": 0}})
