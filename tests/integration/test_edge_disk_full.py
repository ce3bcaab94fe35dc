"""A full disk on the edge: the alert still reaches the server, staff are told, the agent lives on
and recovers.

A real ``odart edge`` process keeps its outbox on a 4 MiB tmpfs that the test fills; real
Mosquitto and the real server ack what arrives.
"""

from __future__ import annotations

import json
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
from tests.support.edge_process import edge_health, edge_toml, start_edge, stop
from tests.support.odart_process import log_tail

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _paths(receiver: NotificationReceiver) -> list[str]:
    return [push.path for push in receiver.pushes]


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
            "sites": [
                {"id": "hostel-1", "name": "Hostel", "staff_urls": [receiver.url("/office")]}
            ],
            "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
        }
    )
    store = Store(None)
    outbox = small_tmpfs / "outbox.db"
    config = edge_toml(
        tmp_path / "edge.toml",
        (mosquitto.host, mosquitto.port),
        outbox,
        apnoea_at_s=60,
        health=tmp_path / "health.json",
    )
    status = str(wire.Topic("hostel-1", "pi-1", wire.TopicKind.STATUS))
    with (
        TestClient(create_app(settings, store=store)),
        MqttProbe(mosquitto.host, mosquitto.port, status) as probe,
    ):
        log_path = tmp_path / "edge.log"
        edge = start_edge(config, log_path)

        def log() -> str:
            return log_tail(log_path)

        try:
            assert wait_until(lambda: "online" in _states(probe), timeout_s=30), log()
            filler = _fill(small_tmpfs)
            # The apnoea comes while nothing can be written: it is sent from memory at once.
            assert wait_until(
                lambda: column(store, "SELECT id FROM alerts WHERE kind = 'apnoea'"), timeout_s=60
            ), f"the alert never reached the server: {log()}"
            assert wait_until(lambda: _states(probe)[-1] == "disk_full", timeout_s=10), log()
            assert edge.poll() is None, f"the edge exited on a full disk: {log()}"
            assert wait_until(
                lambda: "outbox disk_full" in edge_health(config).stdout, timeout_s=20
            ), log()

            filler.unlink()
            assert wait_until(lambda: _states(probe)[-1] == "online", timeout_s=20), log()
            assert edge.poll() is None
            assert wait_until(lambda: _paths(receiver).count("/staff") >= 1, timeout_s=10)
            # Staff heard of the full disk once, and the technical alert closed on recovery.
            assert wait_until(
                lambda: (
                    column(store, "SELECT state FROM alerts WHERE kind = 'edge_disk_full'")
                    == ["resolved"]
                ),
                timeout_s=10,
            )
            assert wait_until(lambda: edge_health(config).returncode == 0, timeout_s=20), log()
        finally:
            assert stop(edge) == 0  # a clean stop
    # The alert came while the disk was full (it was held in memory, not written first).
    text = log_path.read_text()
    # (A write may still succeed now and then on a full disk, e.g. a delete: the last
    # "succeed again" is the recovery.)
    full, alert = text.index("outbox: cannot"), text.index("apnoea (critical)")
    recovered = text.rindex("writes succeed again")
    assert full < alert < recovered, text[-3000:]
    first, *_ = column(store, "SELECT id FROM alerts WHERE kind = 'apnoea' ORDER BY id")
    pages = [push for push in receiver.pushes if push.path == "/staff"]
    assert pages[0].alert_id == first
    assert _paths(receiver).count("/office") == 1
