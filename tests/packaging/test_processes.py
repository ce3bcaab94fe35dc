"""``odart edge`` and ``odart server`` as systemd runs them: light imports, clean SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from firmware_bridge.wire import EdgeState, StatusBody, decode_message
from odart.broker import MosquittoBroker, free_port
from tests.mqtt_probe import MqttProbe, wait_until

pytestmark = pytest.mark.integration

HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "apprise",
    "matplotlib",
    "sqlite_utils",
    "argon2",
    "server",
    "scipy.signal",
    "scipy.optimize",
    "scipy.sparse",
    "scipy.linalg",
    "scipy.special",
    "scipy.interpolate",
    "scipy.integrate",
    "scipy.stats",
    "scipy.fft",
)
"""Packages a Pi's edge agent never needs (issue 15: the agent was 126 MB with them)."""


def edge_toml(broker: MosquittoBroker, outbox: Path, wearables: int = 2) -> str:
    """A site with ``wearables`` virtual wearables on the test's broker."""
    parts = [f'site = "site-1"\nedge = "edge-1"\noutbox = "{outbox}"\n']
    parts.append(f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    for i in range(1, wearables + 1):
        parts.append(
            f'[[people]]\nparticipant = "p-{i}"\nroom = "room-{i}"\ndevices = ["w-{i}"]\n'
            f'[[devices]]\nid = "w-{i}"\nrole = "wearable"\nlink = "virtual"\n'
            f"[devices.virtual]\nseed = {i}\n"
        )
    return "".join(parts)


def imported(importtime_log: str) -> set[str]:
    """Module names from a ``python -X importtime`` log."""
    names = set()
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def states(probe: MqttProbe) -> list[EdgeState]:
    """Every edge state the probe has seen, in order."""
    found = []
    for topic, payload, _ in probe.messages:
        body = decode_message(topic, payload).body
        assert isinstance(body, StatusBody)
        found.append(body.state)
    return found


def test_edge_imports_only_what_the_agent_needs_and_stops_cleanly_on_sigterm(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(edge_toml(mosquitto, tmp_path / "outbox.db"))
    log = tmp_path / "stderr.log"
    with (
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/site-1/edge-1/status") as probe,
        log.open("wb") as err,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify,
    ):
        notify.bind(str(tmp_path / "notify"))  # as systemd does for a Type=notify unit
        command = ["-X", "importtime", "-m", "odart.cli", "edge", "--config", str(config)]
        edge = subprocess.Popen(
            [sys.executable, *command],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={
                **os.environ,
                "PYTHONFAULTHANDLER": "1",
                "NOTIFY_SOCKET": str(tmp_path / "notify"),
            },
        )
        try:
            assert wait_until(lambda: EdgeState.ONLINE in states(probe), timeout_s=60)
            edge.send_signal(signal.SIGTERM)
            try:
                code = edge.wait(timeout=30)
            except subprocess.TimeoutExpired:
                edge.send_signal(signal.SIGABRT)
                edge.wait()
                raise AssertionError(log.read_text()[-5000:]) from None
        finally:
            edge.kill()
        assert wait_until(lambda: states(probe)[-1] is EdgeState.OFFLINE, timeout_s=10)
        notify.setblocking(False)
        told = []
        with contextlib.suppress(BlockingIOError):
            while True:
                told.append(notify.recv(256).decode())
    # What odart-edge.service (Type=notify, WatchdogSec) relies on.
    assert told[0] == "READY=1"
    assert "WATCHDOG=1" in told
    assert told[-1] == "STOPPING=1"
    text = log.read_text(errors="replace")
    assert code == 0, text[-2000:]
    assert "Traceback" not in text
    names = imported(text)
    assert "edge.agent" in names  # the log really is the agent's
    heavy = sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))
    assert heavy == []


@pytest.mark.slow  # the server takes 4-10 s to import and connect on a loaded 2-core machine
def test_server_stops_cleanly_on_sigterm(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "server.db"
    config = tmp_path / "server.toml"
    config.write_text(
        f'database = "{database}"\n[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
        f'[http]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        '[[sites]]\nid = "site-1"\nname = "Site"\n'
    )
    log = tmp_path / "stderr.log"
    with log.open("wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "odart.cli", "server", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

        def ready() -> bool:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).json()
            except (httpx.HTTPError, json.JSONDecodeError):
                return False
            return bool(health["mqtt_connected"])

        try:
            assert wait_until(ready, timeout_s=60), log.read_text()
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
        finally:
            server.kill()
    text = log.read_text(errors="replace")
    # uvicorn finishes its shutdown (lifespan: ingest stopped, database closed), then re-raises
    # the signal, which systemd counts as a clean stop (SuccessExitStatus covers SIGTERM).
    assert code in (0, -signal.SIGTERM), text
    assert "Traceback" not in text
    # The last connection closed cleanly: SQLite checkpointed and removed the WAL file.
    assert not Path(f"{database}-wal").exists()
