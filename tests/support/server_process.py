"""A real ``odart server`` process: its TOML, start until connected, health, stop (test support).

Used by the integration tests that need the server as an operator runs it (restarts, kills, a
full disk, unreadable rows), and usable by benchmarks for the same.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

import httpx

from odart.broker import free_port
from simulators.receiver import NotificationReceiver
from tests.support.odart_process import log_tail, spawn_odart, stop

__all__ = ["RESPONDERS", "ServerConfig", "health", "server_toml", "start_server", "stop"]

RESPONDERS: Final = ("night-staff", "manager", "outreach")
"""The escalation levels the generated config pages, in order, each at ``/<id>`` on the receiver."""

START_TIMEOUT_S: Final = 30.0
"""How long the server may take to answer with its ingest connected: a few seconds on an idle
machine, much more with five helpers and a CI run sharing two cores."""


class ServerConfig(NamedTuple):
    """A written server TOML and the HTTP port it listens on."""

    path: Path
    port: int


def server_toml(
    directory: Path,
    broker: tuple[str, int],
    *,
    receiver: NotificationReceiver | None = None,
    staff: bool = True,
    level_s: float = 30.0,
    rooms: Mapping[str, str] | None = None,
    database: Path | None = None,
    site: tuple[str, str] = ("hostel-1", "Hostel"),
) -> ServerConfig:
    """Write ``directory/server.toml``: one site on ``broker``, the HTTP API on a free port.

    Args:
        directory: where the TOML (and, unless ``database`` says otherwise, the database) go.
        broker: the MQTT broker's host and port.
        receiver: when given, three responders (:data:`RESPONDERS`) page it, ``level_s`` apart.
        staff: with a receiver, also tell the staff office (``/staff-office``) of technical alerts.
        level_s: each escalation level's timeout, seconds.
        rooms: the site's rooms, id to label.
        database: the SQLite file (default ``directory/server.db``).
        site: the site's id and name.
    """
    port = free_port()
    host, mqtt_port = broker
    lines = [
        f'database = "{database or directory / "server.db"}"',
        f'[mqtt]\nhost = "{host}"\nport = {mqtt_port}',
        f'[http]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"',
        f'[[sites]]\nid = "{site[0]}"\nname = "{site[1]}"',
    ]
    if receiver is not None and staff:
        lines.append(f'staff_urls = ["{receiver.url("/staff-office")}"]')
    if rooms:
        listed = ", ".join(
            f'{{ id = "{room}", label = "{label}" }}' for room, label in rooms.items()
        )
        lines.append(f"rooms = [{listed}]")
    if receiver is not None:
        lines.append(f"[sites.escalation]\nlevel_timeouts_s = [{level_s}, {level_s}, {level_s}]")
        lines.extend(
            f'[[responders]]\nid = "{rid}"\nname = "{rid}"\nlevel = {level}\n'
            f'urls = ["{receiver.url("/" + rid)}"]'
            for level, rid in enumerate(RESPONDERS)
        )
    config = directory / "server.toml"
    config.write_text("\n".join(lines) + "\n")
    return ServerConfig(config, port)


def health(port: int) -> tuple[int, dict[str, Any]]:
    """``/api/health``: the status code and body (0 and {} while it does not answer)."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
        return answer.status_code, answer.json()
    except (httpx.HTTPError, ValueError):
        return 0, {}


def start_server(
    config: Path, port: int, *, log: Path | None = None, timeout_s: float = START_TIMEOUT_S
) -> subprocess.Popen[bytes]:
    """``odart server --config`` until its ingest is connected to the broker.

    Its stderr is appended to ``log`` (default ``server.log`` beside the config), so a restart
    adds to the same file. Raises ``AssertionError`` with the log's end if it exits or does not
    connect in ``timeout_s``.
    """
    log = log or config.parent / "server.log"
    process = spawn_odart("server", "--config", str(config), log=log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if health(port)[1].get("mqtt_connected"):
            return process
        time.sleep(0.05)
    code = stop(process, timeout_s=10)
    message = f"the server did not come up (exit {code}): {log_tail(log)}"
    raise AssertionError(message)
