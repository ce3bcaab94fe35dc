"""A real ``odart edge`` process: its TOML, start, ``odart edge health``, stop (test support).

The generated edge watches one person (``p-0009`` in ``room-9``) through one virtual wearable
(``wearable-9``, seed 9, ten times real time) that can stop breathing on cue, so a test gets a
real alert from a real agent without Bluetooth.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Final

from tests.support.odart_process import run_odart, spawn_odart, stop

__all__ = ["WEARABLE", "edge_health", "edge_toml", "start_edge", "stop"]

WEARABLE: Final = "wearable-9"
"""The generated edge's one device."""

HEALTH_PERIOD_S: Final = 0.5
"""How often the edge rewrites its health file: often, so a test sees a change at once."""


def edge_toml(
    path: Path,
    broker: tuple[str, int],
    outbox: Path,
    *,
    apnoea_at_s: float | None = 30.0,
    wearable: bool = True,
    health: Path | None = None,
    credentials: tuple[str, str] | None = None,
    consent_default: str | None = None,
) -> Path:
    """Write an edge config for site ``hostel-1``, edge ``pi-1`` at ``path``; returns ``path``.

    Args:
        path: the TOML file to write.
        broker: the MQTT broker's host and port.
        outbox: the edge's outbox database.
        apnoea_at_s: when the wearer stops breathing (simulated seconds); ``None``: never.
        wearable: watch ``p-0009`` through :data:`WEARABLE`; without, the edge has no devices
            until the server lists some.
        health: the health file ``odart edge health`` reads, rewritten every 0.5 s.
        credentials: the broker username and password.
        consent_default: ``consent_default`` for devices the server has not ruled on.
    """
    host, port = broker
    lines = ['site = "hostel-1"', 'edge = "pi-1"', f'outbox = "{outbox}"']
    if consent_default is not None:
        lines.append(f'consent_default = "{consent_default}"')
    if health is not None:
        lines.append(f'[health]\nfile = "{health}"\nperiod_s = {HEALTH_PERIOD_S}')
    lines.append(f'[mqtt]\nhost = "{host}"\nport = {port}')
    if credentials is not None:
        lines.append(f'username = "{credentials[0]}"\npassword = "{credentials[1]}"')
    if wearable:
        episodes = (
            "[]"
            if apnoea_at_s is None
            else f'[{{ kind = "abrupt_apnoea", start_s = {apnoea_at_s} }}]'
        )
        lines.append(
            f'[[people]]\nparticipant = "p-0009"\nroom = "room-9"\ndevices = ["{WEARABLE}"]'
        )
        lines.append(
            f'[[devices]]\nid = "{WEARABLE}"\nrole = "wearable"\nlink = "virtual"\n'
            f"[devices.virtual]\nseed = 9\nspeed = 10\nepisodes = {episodes}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def start_edge(config: Path, log: Path, *, verbose: bool = False) -> subprocess.Popen[bytes]:
    """Start ``odart edge --config`` (``-v``: debug logging); its stderr is appended to ``log``."""
    words = ("edge", "--config", str(config))
    return spawn_odart(*(("-v", *words) if verbose else words), log=log)


def edge_health(config: Path) -> subprocess.CompletedProcess[str]:
    """``odart edge health --config``: exit 0 when healthy, 1 with the reasons on stdout."""
    return run_odart("edge", "health", "--config", str(config))
