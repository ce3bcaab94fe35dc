"""A real ``odart server`` process for fault tests: TOML, start, health, kill (test helper)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from odart.broker import MosquittoBroker, free_port
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import wait_until


def write_settings(
    directory: Path,
    broker: MosquittoBroker,
    receiver: NotificationReceiver,
    *,
    level_s: float = 30.0,
    database: Path | None = None,
) -> tuple[Path, int]:
    """A server TOML with three levels (night-staff, manager, outreach) and a staff channel."""
    port = free_port()
    responders = "\n".join(
        f'[[responders]]\nid = "{rid}"\nname = "{rid}"\nlevel = {level}\n'
        f'urls = ["{receiver.url("/" + rid)}"]\n'
        for level, rid in enumerate(["night-staff", "manager", "outreach"])
    )
    config = directory / "server.toml"
    config.write_text(f"""
database = "{database or directory / "server.db"}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
[http]
port = {port}
public_url = "http://127.0.0.1:{port}"
[[sites]]
id = "hostel-1"
name = "Hostel"
staff_urls = ["{receiver.url("/staff-office")}"]
rooms = [{{ id = "room-3", label = "Room 3" }}]
[sites.escalation]
level_timeouts_s = [{level_s}, {level_s}, {level_s}]
{responders}
""")
    return config, port


def health(port: int) -> tuple[int, dict[str, Any]]:
    """``/api/health``: the status code and body (0 and {} while it does not answer)."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
        return answer.status_code, answer.json()
    except (httpx.HTTPError, ValueError):
        return 0, {}


def start(config: Path, port: int) -> subprocess.Popen[bytes]:
    """``odart server --config`` until its ingest is connected."""
    process = subprocess.Popen(
        [sys.executable, "-m", "odart.cli", "server", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if not wait_until(lambda: health(port)[1].get("mqtt_connected"), timeout_s=30):
        process.kill()
        process.wait(10)
        raise AssertionError("the server did not come up")
    return process


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` and reap the process."""
    process.send_signal(sig)
    process.wait(15)
