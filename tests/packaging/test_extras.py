"""The extras split: the base install runs the edge agent; other commands name their extra."""

from __future__ import annotations

import signal
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from firmware_bridge.wire import EdgeState
from odart.broker import MosquittoBroker
from odart.extras import EXTRA_OF_MODULE
from tests.mqtt_probe import MqttProbe, wait_until
from tests.packaging.test_processes import edge_toml, states

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_extras_every_optional_package_names_its_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    modules_of = metadata.packages_distributions()
    for extra in ("server", "demo", "bench", "demo-fallback"):
        for line in extras[extra]:
            name = Requirement(line).name
            if name == "odart":
                continue
            modules = [
                m for m, dists in modules_of.items() if name.lower() in map(str.lower, dists)
            ]
            # Not installed here (bench, demo-fallback): its module is named like the package.
            modules = modules or [name.replace("-", "_")]
            assert any(EXTRA_OF_MODULE.get(m) == extra for m in modules), (extra, name, modules)
    assert set(EXTRA_OF_MODULE.values()) <= set(extras)


def test_extras_httpx2_only_for_tests_and_the_licence_is_an_spdx_expression() -> None:
    """httpx2 is what starlette's TestClient runs on (it warns without it); nothing installed
    on a Pi or a server needs it."""
    shipped = [*PROJECT["dependencies"]]
    for extra, lines in PROJECT["optional-dependencies"].items():
        if extra != "test":
            shipped += lines
    assert not [d for d in shipped if Requirement(d).name == "httpx2"]
    assert PROJECT["license"] == "AGPL-3.0-or-later"


def _base_closure() -> list[metadata.Distribution]:
    """The installed distributions the base install (no extras) pulls in, odart's included."""
    seen: dict[str, metadata.Distribution] = {}
    todo = ["odart"]
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


@pytest.fixture(scope="module")
def base_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only odart's base dependencies (the installed files, linked, not copied)."""
    root = tmp_path_factory.mktemp("base-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    linked = root / "linked"
    linked.mkdir()
    for dist in _base_closure():
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            source = Path(str(dist.locate_file(top)))
            if top.startswith("__editable__") or top.endswith(".pth") or not source.exists():
                continue
            if not (linked / top).exists():
                (linked / top).symlink_to(source)
    site = next((root / "lib").glob("python3*/site-packages"))
    (site / "odart-base.pth").write_text(f"{linked}\n{ROOT}\n")
    return root / "bin" / "python"


def test_extras_base_install_runs_the_edge_and_stops_on_sigterm(
    base_python: Path, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    absent = subprocess.run(
        [str(base_python), "-c", "import fastapi"], capture_output=True, check=False
    )
    assert absent.returncode == 1  # the environment really lacks the server's packages
    config = tmp_path / "edge.toml"
    config.write_text(edge_toml(mosquitto, tmp_path / "outbox.db"))
    with MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/site-1/edge-1/status") as probe:
        edge = subprocess.Popen(
            [str(base_python), "-m", "odart.cli", "edge", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert wait_until(lambda: EdgeState.ONLINE in states(probe), timeout_s=60)
            edge.send_signal(signal.SIGTERM)
            _, err = edge.communicate(timeout=30)
        finally:
            edge.kill()
    assert edge.returncode == 0, err.decode()


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["server", "--config", "examples/server.toml"], "server"),
        (["admin", "create", "--config", "examples/server.toml", "--username", "u"], "server"),
    ],
)
def test_extras_base_install_names_the_missing_extra(
    base_python: Path, tmp_path: Path, argv: list[str], extra: str
) -> None:
    result = subprocess.run(
        [str(base_python), "-m", "odart.cli", *[a.format(tmp=tmp_path) for a in argv]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f'pip install "odart[{extra}]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_extras_base_install_decodes_and_prints_its_version(base_python: Path) -> None:
    version = subprocess.run(
        [str(base_python), "-m", "odart.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"odart {metadata.version('odart')}"
    decoded = subprocess.run(
        [str(base_python), "-m", "odart.cli", "decode", "battery_level", "64"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert decoded.returncode == 0, decoded.stderr
    assert "100" in decoded.stdout  # 0x64
