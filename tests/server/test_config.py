"""A bad server config stops start-up with the key and the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.config import load_settings, settings_from_mapping
from server.errors import ConfigError


def test_server_config_accepts_the_example_file() -> None:
    settings = load_settings(Path(__file__).resolve().parents[2] / "examples" / "server.toml")
    assert settings.room_label("hostel-1", "room-2") == "Room 2"
    assert settings.room_label("hostel-1", "room-404") == "room-404"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"mqtt": {"port": 0}}, "mqtt.port"),
        (
            {"responders": [{"id": "Sam Smith", "name": "Sam", "urls": ["json://x"]}]},
            "responders.0.id",
        ),
        ({"responders": [{"id": "sam", "name": "Sam", "urls": []}]}, "responders.0.urls"),
        ({"htp": {}}, "htp"),
    ],
)
def test_server_config_names_the_bad_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(data)
    assert caught.value.key == key


def test_server_command_exits_2_on_a_missing_config(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", "server", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "file not found" in result.stderr
