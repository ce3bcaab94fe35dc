"""Enrolment with a model: the board shows check-in per wearable; each edge gets its device list."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.app import create_app
from server.audit import AuditLog
from server.config import settings_from_mapping
from server.device_lists import DeviceLists
from server.privacy.enrol import enrol_consented
from server.privacy.rights import erase
from server.store.db import Store
from server.store.enrolments import EnrolmentError, Enrolments
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.conftest import staff_client

MAC = "A0:9E:1A:12:34:56"
SITE = {"id": "hostel-1", "name": "Hostel", "rooms": [{"id": "room-1", "label": "Room 1"}]}


def _enrol(client: TestClient, device_id: str, participant_id: str, **extra: str) -> Any:
    data = {
        "device_id": device_id,
        "site_id": "hostel-1",
        "room_id": "room-1",
        "participant_id": participant_id,
        "csrf_token": client.headers["x-csrf-token"],
        **extra,
    }
    return client.post("/devices/enrol", data=data, follow_redirects=False)


@pytest.fixture
def staff() -> Iterator[TestClient]:
    settings = settings_from_mapping({"mqtt": {"port": 1}, "sites": [SITE]})
    with TestClient(create_app(settings, store=Store(None))) as client:
        staff_client(client)
        yield client


def test_device_lists_board_shows_per_wearable_whether_check_in_is_possible(
    staff: TestClient,
) -> None:
    own = {"edge_id": "pi-1", "model": "odart_wearable", "address": MAC}
    assert _enrol(staff, "wearable-1", "p-0001", **own).status_code == 303
    h10 = {"edge_id": "pi-1", "model": "polar_h10", "address": "A0:9E:1A:00:00:02"}
    assert _enrol(staff, "wearable-2", "p-0002", **h10).status_code == 303
    assert _enrol(staff, "wearable-3", "p-0003").status_code == 303  # in the edge's TOML
    radar = {"edge_id": "pi-1", "model": "mr60bha1", "address": "/dev/ttyAMA0"}
    assert _enrol(staff, "radar-1", "p-0001", **radar).status_code == 303

    (room,) = staff.get("/api/board").json()["sites"][0]["rooms"]
    checkin = {tile["id"]: tile["checkin"] for tile in room["devices"]}
    assert checkin == {"wearable-1": True, "wearable-2": False, "wearable-3": None, "radar-1": None}
    page = staff.get("/devices").text
    assert "pi-1 · polar_h10" in page


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"model": "polar_h10", "address": MAC}, "needs its edge"),
        ({"edge_id": "Pi 1", "model": "polar_h10", "address": MAC}, "needs its edge"),
        ({"edge_id": "pi-1", "model": "toaster", "address": MAC}, "model must be one of"),
        ({"edge_id": "pi-1", "model": "polar_h10"}, "needs an address"),
        ({"edge_id": "pi-1", "model": "ble_hr", "address": "/dev/ttyUSB0"}, "Bluetooth address"),
    ],
)
def test_device_lists_enrol_form_refuses_what_the_edge_could_not_run(
    staff: TestClient, fields: dict[str, str], reason: str
) -> None:
    answer = _enrol(staff, "wearable-1", "p-0001", **fields)
    assert answer.status_code == 400
    assert reason in answer.text
    assert staff.get("/api/board").json()["sites"][0]["rooms"][0]["devices"] == []


def test_device_lists_name_only_devices_the_panel_put_on_an_edge() -> None:
    store = Store(None)
    enrolments = Enrolments(store.db, lambda: datetime(2026, 12, 4, tzinfo=UTC))
    enrolments.enrol("wearable-9", "hostel-1", None, "p-9", "ada")  # listed in the edge's TOML
    first = enrolments.enrol(
        "wearable-1", "hostel-1", "room-1", "p-1", "ada", edge_id="pi-1", model="virtual"
    )
    enrolments.enrol("wearable-2", "hostel-1", None, "p-2", "ada", edge_id="pi-2", model="virtual")
    assert enrolments.device_list("hostel-1", "pi-1") == (
        wire.DeviceEntry("wearable-1", wire.DeviceModel.VIRTUAL, "p-1", "room-1"),
    )
    enrolments.end(first, "ada")
    assert enrolments.device_list("hostel-1", "pi-1") == ()
    # pi-1 still gets its (now empty) list; an edge the panel never named gets none.
    assert enrolments.listed_edges() == [("hostel-1", "pi-1"), ("hostel-1", "pi-2")]
    with pytest.raises(EnrolmentError, match="no address"):
        enrolments.enrol(
            "wearable-3",
            "hostel-1",
            None,
            "p-3",
            "ada",
            edge_id="pi-1",
            model="virtual",
            address=MAC,
        )


def test_device_lists_enrolment_and_ending_republish_the_retained_list(
    mosquitto: MosquittoBroker,
) -> None:
    settings = settings_from_mapping(
        {"mqtt": {"host": mosquitto.host, "port": mosquitto.port}, "sites": [SITE]}
    )
    topic = str(wire.Topic("hostel-1", "pi-1", wire.TopicKind.CMD))

    def retained_list() -> tuple[wire.DeviceEntry, ...] | None:
        """What an edge subscribing now would be handed."""
        with MqttProbe(mosquitto.host, mosquitto.port, topic) as probe:
            for _, payload, retained in probe.wait_for(2, timeout_s=1.0):
                body = wire.decode_message(topic, payload).body
                if retained and isinstance(body, wire.CommandBody) and body.command == "devices":
                    return body.devices
        return None

    with TestClient(create_app(settings, store=Store(None))) as client:
        staff_client(client)
        assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
        assert retained_list() is None  # nothing enrolled on pi-1 yet: the edge uses its TOML
        fields = {"edge_id": "pi-1", "model": "odart_wearable", "address": MAC}
        assert _enrol(client, "wearable-1", "p-0001", **fields).status_code == 303
        enrolled = (
            wire.DeviceEntry(
                "wearable-1", wire.DeviceModel.ODART_WEARABLE, "p-0001", "room-1", MAC
            ),
        )
        # The list is republished after the answer, not before: wait for it.
        assert wait_until(lambda: retained_list() == enrolled, timeout_s=30)
        (enrolment,) = Enrolments(client.app.state.services.store.db, datetime.now).live()  # type: ignore[attr-defined]
        ended = client.post(
            f"/devices/enrolments/{enrolment['id']}/end",
            data={"csrf_token": client.headers["x-csrf-token"]},
            follow_redirects=False,
        )
        assert ended.status_code == 303
        assert wait_until(lambda: retained_list() == (), timeout_s=30)


def test_device_lists_enrol_form_refuses_a_device_the_edges_list_has_no_room_for(
    staff: TestClient,
) -> None:
    enrolments = Enrolments(staff.app.state.services.store.db, lambda: datetime.now(UTC))  # type: ignore[attr-defined]
    n = 0
    lists = staff.app.state.services.device_lists  # type: ignore[attr-defined]
    while lists.fits("hostel-1", "pi-1", _h10(n)):
        entry = _h10(n)
        enrolments.enrol(
            entry.device_id,
            "hostel-1",
            None,
            entry.participant_id,
            "ada",
            edge_id="pi-1",
            model="polar_h10",
            address=MAC,
        )
        n += 1
    assert 10 < n < wire.MAX_DEVICES  # long ids: the 4096 bytes bind first
    full = _enrol(
        staff,
        _h10(n).device_id,
        _h10(n).participant_id,
        edge_id="pi-1",
        model="polar_h10",
        address=MAC,
    )
    assert full.status_code == 400
    assert "device list is full" in full.text
    other = _enrol(
        staff,
        _h10(n).device_id,
        _h10(n).participant_id,
        edge_id="pi-2",
        model="polar_h10",
        address=MAC,
    )
    assert other.status_code == 303


def _h10(n: int) -> wire.DeviceEntry:
    return wire.DeviceEntry(
        f"chest-strap-{n:02}-" + "x" * 40,
        wire.DeviceModel.POLAR_H10,
        f"p-{n:04}-" + "y" * 50,
        "room-1",
        MAC,
    )


def test_device_lists_erasure_elsewhere_is_republished_without_the_pseudonym() -> None:
    store = Store(None)
    clock = [datetime(2026, 12, 4, 12, 0, tzinfo=UTC)]
    enrolments = Enrolments(store.db, lambda: clock[0])
    lists = DeviceLists(enrolments, lambda: clock[0])
    sent: list[tuple[str, str, wire.CommandBody]] = []

    async def send(site_id: str, edge_id: str, body: wire.CommandBody) -> None:
        sent.append((site_id, edge_id, body))

    async def scenario() -> None:
        lists.set_sender(send)
        enrol_consented(
            store.db,
            lambda: clock[0],
            site_id="hostel-1",
            device_id="w-1",
            room_id=None,
            participant_id="p-0001",
            by="ada",
        )
        store.db.execute("UPDATE enrolments SET edge_id = 'pi-1', model = 'virtual'")
        await lists.publish_all()
        assert [body.devices[0].participant_id for _, _, body in sent] == ["p-0001"]
        # `odart privacy erase` runs in another process: the rows go, the server is not told.
        erase(store.db, AuditLog(store.db, lambda: clock[0]), "p-0001", "ada", lambda: clock[0])
        assert lists.tick() == 1
        await asyncio.sleep(0.01)  # the publish runs as a task
        assert sent[-1] == ("hostel-1", "pi-1", wire.CommandBody(wire.Command.DEVICES))
        clock[0] += timedelta(seconds=60)
        assert lists.tick() == 0  # published: nothing changed since

    asyncio.run(scenario())
