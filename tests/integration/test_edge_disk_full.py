"""A full disk on the edge: the alert still reaches the server, the agent lives on, and recovers.

A real ``odart edge`` process keeps its outbox on a 4 MiB tmpfs that the test fills; real
Mosquitto and the real server ack what arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.db_probe import column
from tests.edge.test_outbox import _fill
from tests.mqtt_probe import MqttProbe, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _config(path: Path, broker: MosquittoBroker, outbox: Path) -> Path:
    path.write_text(f"""
site = "hostel-1"
edge = "pi-1"
outbox = "{outbox}"

[health]
file = "{path.parent / "health.json"}"
period_s = 0.5

[mqtt]
host = "{broker.host}"
port = {broker.port}

[[people]]
participant = "p-0009"
room = "room-9"
devices = ["wearable-9"]

[[devices]]
id = "wearable-9"
role = "wearable"
link = "virtual"
[devices.virtual]
seed = 9
speed = 10
episodes = [{{ kind = "abrupt_apnoea", start_s = 60 }}]
""")
    return path


def _health(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odart.cli", "edge", "health", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _states(probe: MqttProbe) -> list[str]:
    return [json.loads(payload)["body"]["state"] for _, payload, _ in list(probe.messages)]


def test_edge_with_a_full_disk_sends_the_alert_reports_disk_full_and_recovers(
    tmp_path: Path,
    small_tmpfs: Path,
    mosquitto: MosquittoBroker,
    receiver: NotificationReceiver,
) -> None:
    settings = settings_from_mapping(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sites": [{"id": "hostel-1", "name": "Hostel"}],
            "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
        }
    )
    store = Store(None)
    outbox = small_tmpfs / "outbox.db"
    config = _config(tmp_path / "edge.toml", mosquitto, outbox)
    status = str(wire.Topic("hostel-1", "pi-1", wire.TopicKind.STATUS))
    with (
        TestClient(create_app(settings, store=store)),
        MqttProbe(mosquitto.host, mosquitto.port, status) as probe,
    ):
        log_path = tmp_path / "edge.log"
        with log_path.open("wb") as log_file:
            edge = subprocess.Popen(
                [sys.executable, "-m", "odart.cli", "edge", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

        def log() -> str:
            return log_path.read_text()[-4000:]

        try:
            assert wait_until(lambda: "online" in _states(probe), timeout_s=30), log()
            filler = _fill(small_tmpfs)
            # The apnoea comes while nothing can be written: it is sent from memory at once.
            assert wait_until(
                lambda: column(store, "SELECT id FROM alerts WHERE kind = 'apnoea'"), timeout_s=60
            ), f"the alert never reached the server: {log()}"
            assert wait_until(lambda: _states(probe)[-1] == "disk_full", timeout_s=10), log()
            assert edge.poll() is None, f"the edge exited on a full disk: {log()}"
            assert wait_until(lambda: "outbox disk_full" in _health(config).stdout, timeout_s=20), (
                log()
            )

            filler.unlink()
            assert wait_until(lambda: _states(probe)[-1] == "online", timeout_s=20), log()
            assert edge.poll() is None
            assert wait_until(lambda: receiver.pushes, timeout_s=10)
            assert wait_until(lambda: _health(config).returncode == 0, timeout_s=20), log()
        finally:
            edge.send_signal(signal.SIGTERM)
            assert edge.wait(15) == 0  # a clean stop
    # The alert came while the disk was full (it was held in memory, not written first).
    text = log_path.read_text()
    # (A write may still succeed now and then on a full disk, e.g. a delete: the last
    # "succeed again" is the recovery.)
    full, alert = text.index("outbox: cannot"), text.index("apnoea (critical)")
    recovered = text.rindex("writes succeed again")
    assert full < alert < recovered, text[-3000:]
    first, *_ = column(store, "SELECT id FROM alerts WHERE kind = 'apnoea' ORDER BY id")
    assert receiver.pushes[0].alert_id == first
