"""``odart bench chaos``: SIGKILL broker, server and edge at random; count what survives.

A real Mosquitto, a real ``odart server`` (from a TOML) and an edge process running the real
outbox and publisher (:mod:`bench.chaos_edge`) that puts ``--alerts`` alerts at seeded random
moments. Meanwhile one of the three is SIGKILLed every few seconds and started again. When the
edge has made every alert, the kills stop and the run waits for the system to drain: every alert
stored once and pushed to the responder's phone (a local receiver). Prints one table row::

    seed  generated  stored  duplicated  pushed  lost  resent  kills(b/s/e)  drain_s  in_order

``duplicated`` counts alerts the phone would show twice (a resent push carries the same key, so
it is shown once); ``resent`` counts pushes sent again after a kill cut them off.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from odart.broker import MosquittoBroker, free_port
from simulators.netcut import NetworkCut
from simulators.receiver import NotificationReceiver

ROOT: Final = Path(__file__).resolve().parents[1]
LEVEL_S: Final = 600.0
"""Escalation timeout: far past the run, so each alert's one expected push is its first page."""
KILL_GAP_S: Final = (2.0, 6.0)
"""Seconds between kills, drawn uniformly: long enough for a restart to get some work done."""
VICTIMS: Final = ("broker", "server", "edge")
DOWN_S: Final = (0.2, 2.0)
"""Seconds a killed process stays down before it is started again."""


@dataclass
class ChaosResult:
    """What one run counted."""

    seed: int
    generated: int = 0
    stored: int = 0
    duplicated: int = 0
    pushed: int = 0
    lost: int = 0
    resent: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    drain_s: float | None = None
    in_order: bool = True
    """Alerts were stored in the order the edge made them."""

    def row(self) -> str:
        """The table row."""
        kills = f"{self.kills['broker']}/{self.kills['server']}/{self.kills['edge']}"
        drain = "timeout" if self.drain_s is None else f"{self.drain_s:.1f}"
        return (
            f"{self.seed:>4}  {self.generated:>9}  {self.stored:>6}  {self.duplicated:>10}  "
            f"{self.pushed:>6}  {self.lost:>4}  {self.resent:>6}  {kills:>12}  {drain:>7}  "
            f"{'yes' if self.in_order else 'no':>8}"
        )


HEADER: Final = (
    "seed  generated  stored  duplicated  pushed  lost  resent  kills(b/s/e)  drain_s  in_order"
)


def _server_toml(workdir: Path, broker_port: int, receiver: NotificationReceiver) -> Path:
    config = workdir / "server.toml"
    config.write_text(f"""
database = "{workdir / "server.db"}"
[mqtt]
port = {broker_port}
[http]
port = {free_port()}
[[sites]]
id = "hostel-1"
name = "Hostel"
rooms = [{{ id = "room-3", label = "Room 3" }}]
[sites.escalation]
level_timeouts_s = [{LEVEL_S}]
[[responders]]
id = "night-staff"
name = "Night staff"
urls = ["{receiver.url("/night-staff")}"]
""")
    return config


def _wait_subscribed(config: Path, timeout_s: float = 60.0) -> None:
    """Wait until the server is subscribed: before its first subscription the broker has no
    session to queue the edge's alerts for, drops them, and only the edge's resend (after its
    ack deadline) brings them, behind later ones, so the run would not be in order."""
    port = tomllib.loads(config.read_text())["http"]["port"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1.0).json()
            if health.get("mqtt_connected"):
                return
        except (httpx.HTTPError, ValueError):
            pass  # not listening yet
        time.sleep(0.1)


class _Processes:
    """The three victims: start each, SIGKILL one, start it again."""

    def __init__(self, workdir: Path, args: list[str], config: Path, broker: MosquittoBroker):
        self._workdir = workdir
        self._edge_args = args
        self._config = config
        self.broker = broker
        self.server: subprocess.Popen[bytes] | None = None
        self.edge: subprocess.Popen[bytes] | None = None
        self._log = (workdir / "processes.log").open("ab")

    def start(self, name: str) -> None:
        if name == "broker":
            self.broker.start()
        elif name == "server":
            self.server = subprocess.Popen(
                [sys.executable, "-m", "odart.cli", "server", "--config", str(self._config)],
                stdout=self._log,
                stderr=self._log,
                cwd=ROOT,
            )
        else:
            self.edge = subprocess.Popen(
                [sys.executable, "-m", "bench.chaos_edge", *self._edge_args],
                stdout=self._log,
                stderr=self._log,
                cwd=ROOT,
            )

    def kill(self, name: str) -> None:
        if name == "broker":
            self.broker.kill()
            self.broker.stop()  # reaps it and closes its pipe; start() runs it again
            return
        process = self.server if name == "server" else self.edge
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)

    def stop_all(self) -> None:
        for process in (self.edge, self.server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.broker.stop()
        self._log.close()


def _stored(database: Path, ids: list[str]) -> int:
    if not database.exists() or not ids:
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            marks = ", ".join("?" for _ in ids)
            (count,) = db.execute(
                f"SELECT COUNT(*) FROM alerts WHERE id IN ({marks})", ids
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(count)


def _stored_order(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return [row[0] for row in db.execute("SELECT id FROM alerts ORDER BY rowid")]


class _Relay:
    """A :class:`NetworkCut` between the edge and the broker, on its own event-loop thread."""

    def __init__(self, broker_port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.cut = NetworkCut("127.0.0.1", broker_port)
        asyncio.run_coroutine_threadsafe(self.cut.start(), self._loop).result(10)

    def partition(self) -> None:
        self._loop.call_soon_threadsafe(self.cut.cut)

    def heal(self) -> None:
        asyncio.run_coroutine_threadsafe(self.cut.restore(), self._loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.cut.aclose(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def run_chaos(
    alerts: int,
    seed: int,
    workdir: Path,
    *,
    every_s: float = 0.3,
    drain_timeout_s: float = 120.0,
    partition_s: float = 0.0,
) -> ChaosResult:
    """One chaos run (see the module docstring).

    With ``partition_s``, nothing is killed: the edge's network is cut instead, once, for that
    long, a few seconds after it starts making alerts (alerts go on being made meanwhile).
    """
    rng = random.Random(seed)
    result = ChaosResult(seed)
    ledger = workdir / "generated.txt"
    with NotificationReceiver() as phone:
        broker = MosquittoBroker(free_port(), data_dir=workdir / "broker")
        config = _server_toml(workdir, broker.port, phone)
        edge_args = [
            *("--outbox", str(workdir / "outbox.db"), "--ledger", str(ledger)),
            *("--port", str(broker.port), "--alerts", str(alerts), "--seed", str(seed)),
            *("--base-ms", str(int(time.time() * 1000)), "--every-s", str(every_s)),
        ]
        relay = None
        if partition_s > 0:
            broker.start()
            relay = _Relay(broker.port)
            edge_args[edge_args.index("--port") + 1] = str(relay.cut.port)
        processes = _Processes(workdir, edge_args, config, broker)
        try:
            for name in ("server", "edge") if relay else ("broker", "server", "edge"):
                processes.start(name)
                if name == "server":
                    _wait_subscribed(config)

            def made() -> list[str]:
                return ledger.read_text().split() if ledger.exists() else []

            if relay is not None:
                time.sleep(rng.uniform(*KILL_GAP_S))
                relay.partition()
                result.kills["partition"] += 1
                time.sleep(partition_s)
                relay.heal()
            order: list[str] = []
            while relay is None and len(made()) < alerts:
                time.sleep(rng.uniform(*KILL_GAP_S))
                if len(made()) >= alerts:
                    break
                if not order:  # each in turn, in a seeded order: every one is killed
                    order = rng.sample(VICTIMS, len(VICTIMS))
                victim = order.pop()
                processes.kill(victim)
                result.kills[victim] += 1
                time.sleep(rng.uniform(*DOWN_S))
                processes.start(victim)
            generated_at = time.monotonic()
            ids = made()
            deadline = generated_at + drain_timeout_s
            while len(made()) < alerts and time.monotonic() < deadline:
                time.sleep(0.25)
            ids = made()
            while time.monotonic() < deadline:
                pushed = {p.alert_id for p in phone.pushes}
                if _stored(workdir / "server.db", ids) == len(ids) and set(ids) <= pushed:
                    result.drain_s = time.monotonic() - generated_at
                    break
                time.sleep(0.25)
        finally:
            processes.stop_all()
            if relay is not None:
                relay.close()
        result.generated = len(ids)
        result.stored = _stored(workdir / "server.db", ids)
        result.lost = result.generated - result.stored
        pushes = [p for p in phone.pushes if p.alert_id in set(ids)]
        result.pushed = len({p.alert_id for p in pushes})
        shown = Counter(p.alert_id for p in phone.shown() if p.alert_id in set(ids))
        result.duplicated = sum(n - 1 for n in shown.values() if n > 1)
        result.resent = len(pushes) - sum(shown.values())
        stored = [i for i in _stored_order(workdir / "server.db") if i in set(ids)]
        result.in_order = stored == ids[: len(stored)]
    return result


def run(argv: list[str]) -> int:
    """``odart bench chaos --alerts N --seed S [--seed S ...]``: print the table; 1 if any lost."""
    parser = argparse.ArgumentParser(prog="odart bench chaos")
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--seed", type=int, action="append", help="repeat for several runs")
    parser.add_argument("--every-s", type=float, default=0.3, help="mean gap between alerts")
    parser.add_argument(
        "--partition-s", type=float, default=0.0, help="instead of kills, cut the edge off once"
    )
    args = parser.parse_args(argv)
    print(HEADER)
    failed = False
    for seed in args.seed or [1]:
        with tempfile.TemporaryDirectory(prefix="odart-chaos-") as folder:
            os.chmod(folder, 0o700)
            result = run_chaos(
                args.alerts,
                seed,
                Path(folder),
                every_s=args.every_s,
                partition_s=args.partition_s,
                drain_timeout_s=120.0 + args.partition_s,
            )
        print(result.row(), flush=True)
        failed |= result.lost > 0 or result.pushed < result.generated or result.duplicated > 0
    return 1 if failed else 0
