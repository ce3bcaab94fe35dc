"""A level nobody can be reached at escalates at once, and staff hear that nobody was reached."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.receiver import NotificationReceiver
from tests.mqtt_probe import wait_until
from tests.server.conftest import staff_client

LEVEL_S = 60.0
"""Far longer than the test: a level-1 page within seconds can only come from the failures."""


def test_unreachable_level_escalates_now_and_tells_the_staff_channel() -> None:
    with NotificationReceiver(fail_paths=frozenset({"/night-staff", "/night-staff-sms"})) as phones:
        settings = settings_from_mapping(
            {
                "mqtt": {"port": 1},  # no broker needed: the alert is made on the panel
                "sites": [
                    {
                        "id": "hostel-1",
                        "name": "Hostel",
                        "rooms": [{"id": "room-3", "label": "Room 3"}],
                        "staff_urls": [phones.url("/staff-office")],
                        "escalation": {"level_timeouts_s": [LEVEL_S, LEVEL_S]},
                    }
                ],
                "responders": [
                    {
                        "id": "night-staff",
                        "name": "Night staff",
                        "level": 0,
                        "urls": [phones.url("/night-staff"), phones.url("/night-staff-sms")],
                    },
                    {
                        "id": "manager",
                        "name": "Manager",
                        "level": 1,
                        "urls": [phones.url("/manager")],
                    },
                ],
            }
        )
        with TestClient(create_app(settings, store=Store(None))) as client:
            staff_client(client, "night-staff")
            started = time.monotonic()
            made = client.post("/api/sites/hostel-1/test-alert", json={"room": "room-3"})
            assert made.status_code == 201
            assert wait_until(
                lambda: {"/manager", "/staff-office"} <= {p.path for p in phones.pushes},
                timeout_s=20,
            )
            waited = time.monotonic() - started
            alerts = client.get("/api/alerts").json()
    assert waited < LEVEL_S / 2
    paths = [p.path for p in phones.pushes]
    assert paths.count("/manager") == 1
    notice = next(p for p in phones.pushes if p.path == "/staff-office")
    assert "nobody could be reached" in notice.payload["message"]
    kinds = {a["kind"]: a for a in alerts}
    assert kinds["test"]["level"] == 1
    assert kinds["nobody_reachable"]["state"] == "noted"
