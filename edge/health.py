"""The edge's local health: a JSON file rewritten every few seconds, its check, sd_notify (shell).

Contract (for systemd and monitoring):

- While the agent's event loop runs, it rewrites ``[health] file`` every ``period_s`` seconds,
  atomically (write, then rename), with each component's state, and, when systemd gave a
  ``NOTIFY_SOCKET``, sends ``READY=1`` once and ``WATCHDOG=1`` with every write (so
  ``WatchdogSec=`` a few times ``period_s`` restarts a hung agent). ``STOPPING=1`` on shutdown.
- ``odart edge health --config edge.toml`` exits 0 when the file is fresh (younger than three
  periods) and ``ok`` is true; 1 otherwise, printing why (stale, missing, a component down,
  the outbox on a full disk, refused credentials, the broker away for over a minute).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from firmware_bridge.wire import format_utc, parse_utc

_LOGGER = logging.getLogger(__name__)

STALE_PERIODS: Final = 3
"""A file older than three periods is stale: one late write is load, three is a hung agent."""

BROKER_GRACE_S: Final = 60.0
"""The broker may be away this long (a restart, a Wi-Fi blip) before the edge counts as down;
alerts wait in the outbox meanwhile."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking a health report."""

    ok: bool
    reasons: tuple[str, ...]


def problems(components: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What is wrong in a report's components (pure)."""
    found: list[str] = []
    for name, state in sorted(components.items()):
        value = state.get("state")
        if value in ("failed", "restarting"):
            found.append(f"{name} {value}: {state.get('error')}")
        elif value in ("disk_full", "write_error"):
            found.append(f"{name} {value}: messages held in memory only")
        elif value == "auth_failed":
            found.append(f"{name}: the broker refused the edge's credentials")
    return found


def build_report(
    now: datetime,
    site_id: str,
    edge_id: str,
    period_s: float,
    components: Mapping[str, Mapping[str, Any]],
    broker_down_since: datetime | None,
) -> dict[str, Any]:
    """The health file's content (pure)."""
    reasons = problems(components)
    if broker_down_since is not None and now - broker_down_since > timedelta(
        seconds=BROKER_GRACE_S
    ):
        reasons.append(f"broker unreachable since {format_utc(broker_down_since)}")
    return {
        "site": site_id,
        "edge": edge_id,
        "written_at": format_utc(now),
        "period_s": period_s,
        "pid": os.getpid(),
        "ok": not reasons,
        "problems": reasons,
        "broker_down_since": None if broker_down_since is None else format_utc(broker_down_since),
        "components": dict(components),
    }


def check(report: Mapping[str, Any], now: datetime) -> Verdict:
    """Judge a report read back from the file: fresh and ok (pure)."""
    try:
        written_at = parse_utc(report["written_at"], "written_at")
        period_s = float(report["period_s"])
        reasons = [str(reason) for reason in report["problems"]]
        ok = bool(report["ok"])
    except (KeyError, TypeError, ValueError) as error:
        return Verdict(False, (f"unreadable health report ({error})",))
    age_s = (now - written_at).total_seconds()
    if age_s > STALE_PERIODS * period_s:
        reasons.insert(0, f"stale: written {age_s:.0f} s ago (every {period_s:g} s expected)")
        ok = False
    return Verdict(ok and not reasons, tuple(reasons))


def read_and_check(path: Path, now: datetime) -> Verdict:
    """Read the health file and judge it."""
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        return Verdict(False, (f"no health file at {path} (is the edge running?)",))
    except (OSError, ValueError) as error:
        return Verdict(False, (f"cannot read {path}: {error}",))
    if not isinstance(report, dict):
        return Verdict(False, (f"{path} is not a JSON object",))
    return check(report, now)


def write_report(path: Path, report: Mapping[str, Any]) -> bool:
    """Replace the health file atomically; False (logged) if it cannot be written."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(report, indent=1, sort_keys=True))
        temporary.replace(path)
    except OSError as error:
        _LOGGER.warning("cannot write the health file %s: %s", path, error)
        return False
    return True


def sd_notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send one sd_notify datagram to ``$NOTIFY_SOCKET`` if systemd set it; True if sent."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as error:
        _LOGGER.warning("sd_notify %s failed: %s", message, error)
        return False
    return True


class HealthWriter:
    """Writes the health file and pings systemd, once per :meth:`beat`.

    Args:
        path: the health file.
        report: builds the current report.
    """

    def __init__(self, path: Path, report: Callable[[], Mapping[str, Any]]) -> None:
        self._path = path
        self._report = report
        self._ready = False

    def beat(self) -> bool:
        """Write the report and tell systemd we are alive; returns whether it was ``ok``."""
        report = self._report()
        write_report(self._path, report)
        if not self._ready:
            self._ready = True
            sd_notify("READY=1")
        sd_notify("WATCHDOG=1")
        return bool(report.get("ok"))

    async def run(self, period_s: float) -> None:
        """Beat every ``period_s`` seconds until cancelled."""
        while True:
            self.beat()
            await asyncio.sleep(period_s)

    def stopping(self) -> None:
        """Tell systemd we are shutting down."""
        sd_notify("STOPPING=1")
