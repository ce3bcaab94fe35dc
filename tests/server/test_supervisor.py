"""The server's supervisor: restart policy, permanent failures, shutdown, what health says."""

from __future__ import annotations

import asyncio
import os
import pwd
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from aiomqtt.exceptions import MqttConnectError
from fastapi.testclient import TestClient

from odart.broker import find_mosquitto, free_port, wait_until_listening
from server.app import create_app
from server.config import settings_from_mapping
from server.errors import PermanentFailure
from server.ingest_link import reconnect_delay_s, refused_for_good
from server.store.db import Store
from server.supervisor import (
    HEALTHY_AFTER_S,
    MAX_RESTART_S,
    LoopState,
    Supervisor,
    failures_after,
    restart_delay_s,
)
from tests.conftest import require
from tests.mqtt_probe import wait_until
from tests.server.conftest import staff_client


def test_supervisor_restart_delay_doubles_is_capped_and_resets_after_a_healthy_run() -> None:
    assert [restart_delay_s(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert restart_delay_s(50) == MAX_RESTART_S
    assert reconnect_delay_s(50) == 15.0
    failures = 0
    for _ in range(8):  # eight quick crashes in a row: the delay climbs to the cap
        failures = failures_after(failures, ran_s=1.0)
    assert restart_delay_s(failures) == MAX_RESTART_S
    # A loop that ran healthy for a while starts over at the first delay.
    assert restart_delay_s(failures_after(failures, ran_s=HEALTHY_AFTER_S)) == 0.5


def test_supervisor_restarts_a_failing_loop_stops_a_permanent_one_and_awaits_tasks() -> None:
    starts: list[str] = []
    finished: list[str] = []

    third_start = asyncio.Event()

    async def flaky() -> None:
        starts.append("flaky")
        if starts.count("flaky") == 3:
            third_start.set()
        if starts.count("flaky") < 3:
            raise RuntimeError("boom")
        await asyncio.Event().wait()

    async def refused() -> None:
        starts.append("refused")
        raise PermanentFailure("ingest", "bad credentials")

    async def slow_command() -> None:
        await asyncio.sleep(0.2)
        finished.append("command")

    async def main() -> Supervisor:
        supervisor = Supervisor()
        supervisor.loop("flaky", flaky)
        supervisor.loop("refused", refused)
        running = asyncio.create_task(supervisor.run())
        await third_start.wait()
        supervisor.spawn(slow_command(), "command")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        return supervisor

    supervisor = asyncio.run(asyncio.wait_for(main(), timeout=20))
    assert starts.count("refused") == 1  # never retried
    assert supervisor.status["refused"].state is LoopState.STOPPED
    assert supervisor.status["refused"].reason == "bad credentials"
    assert supervisor.status["flaky"].restarts == 2
    assert finished == ["command"]  # shutdown waited for the task under way


@pytest.fixture
def locked_broker(tmp_path: Path) -> Iterator[int]:
    """A real Mosquitto that knows one user, not ours."""
    binary = find_mosquitto()
    require("mosquitto", binary is not None, "apt-get install mosquitto")
    assert binary is not None
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "edge", "secret"], check=True)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"persistence false\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
    )
    process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_until_listening("127.0.0.1", port, process=process)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_supervisor_bad_broker_credentials_stop_ingest_and_health_says_why(
    locked_broker: int,
) -> None:
    settings = settings_from_mapping(
        {"mqtt": {"port": locked_broker, "username": "odart-server", "password": "wrong"}}
    )
    with TestClient(create_app(settings, store=Store(None))) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        assert wait_until(
            lambda: services.supervisor.status["ingest"].state is LoopState.STOPPED, timeout_s=20
        )
        answer = client.get("/api/health")
        assert answer.status_code == 503
        assert answer.json()["down"] == ["ingest"]
        staff_client(client)
        details = client.get("/api/health/details").json()
    assert "credentials" in details["components"]["ingest"]["reason"]
    assert details["loops"]["ingest"]["restarts"] == 0


def test_supervisor_periodic_loop_keeps_its_pace_through_failures() -> None:
    runs: list[int] = []
    seen: list[LoopState] = []

    def tick() -> None:
        runs.append(1)
        if len(runs) <= 2:  # the disk is full for the first two runs
            raise sqlite3.OperationalError("database or disk is full")

    async def main() -> Supervisor:
        supervisor = Supervisor()
        supervisor.every("timers", tick, 0.05)
        running = asyncio.create_task(supervisor.run())
        while len(runs) < 5:
            await asyncio.sleep(0.01)
            seen.append(supervisor.status["timers"].state)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        return supervisor

    supervisor = asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert LoopState.FAILING in seen
    assert supervisor.status["timers"].state is LoopState.RUNNING  # works again, no backoff
    assert supervisor.status["timers"].restarts == 0


def test_ingest_only_a_refused_connect_is_permanent() -> None:
    # paho's own "not connected" is also 4: a dropped connection, retried like any other.
    assert (
        refused_for_good(aiomqtt.MqttCodeError(4, "The client is not currently connected.")) is None
    )
    assert refused_for_good(aiomqtt.MqttError("Disconnected during message iteration")) is None
    assert "credentials" in (refused_for_good(MqttConnectError(5)) or "")
