"""Every device kind is built from its config entry by model; a bad entry names key and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.agent import EdgeAgent
from edge.ble import BleakDeviceLink
from edge.ble_scan import ODART_SERVICE_UUID, recognise, short_uuid
from edge.config import EdgeConfigError, Model, config_from_mapping, load_config
from edge.detector import DetectionEvent, EventKind, Severity
from edge.device_config import LINK_KEYS, device_from_entry
from edge.doors import GpioDoorLink, Zigbee2MqttDoorLink
from edge.outbox import Outbox
from edge.uart import RadarKind, UartRadarLink
from firmware_bridge.wire import AlertBody, DeviceEntry, DeviceModel
from odart.links import LinkFactory, build_link, build_links

H10 = "A0:9E:1A:12:34:56"
DEVICES: list[dict[str, Any]] = [
    {"id": "h10", "model": "polar_h10", "address": H10},
    {"id": "hr", "model": "ble_hr", "address": "C0:00:00:00:00:01"},
    {"id": "plx", "model": "ble_plx", "address": "C0:00:00:00:00:02"},
    {"id": "odart", "model": "odart_wearable", "address": "C0:00:00:00:00:03"},
    {"id": "radar", "model": "mr60bha1", "port": "/dev/ttyAMA0"},
    {"id": "ld", "model": "ld2410", "port": "/dev/ttyUSB0", "baud": 115200},
    {"id": "reed", "model": "gpio_door", "pin": 17},
    {
        "id": "door",
        "model": "z2m_door",
        "topic": "zigbee2mqtt/door-1",
        "silence_timeout_s": 60,
        "broker": {"host": "10.0.0.2", "port": 1884},
    },
]


def _config(devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "site": "hostel-1",
        "edge": "pi-1",
        "ble": {"adapter": "hci0"},
        "people": [{"participant": "p-1", "room": "room-1", "devices": [d["id"] for d in devices]}],
        "devices": devices,
    }


def test_device_config_builds_every_model_with_its_own_link() -> None:
    config = config_from_mapping(_config(DEVICES))
    links = {link.device_id: link for link in build_links(config)}
    for device_id, model in [("h10", "polar_h10"), ("hr", "ble_hr"), ("plx", "ble_plx")]:
        link = links[device_id]
        assert isinstance(link, BleakDeviceLink)
        assert link.profile.model == model
        assert not link.checkin_possible  # no buzzer, no button: never a check-in
    assert isinstance(links["odart"], BleakDeviceLink)
    assert links["odart"].checkin_possible
    radar, ld = links["radar"], links["ld"]
    assert isinstance(radar, UartRadarLink)
    assert (radar.port, radar.kind, radar.baudrate) == ("/dev/ttyAMA0", RadarKind.MR60BHA1, 115200)
    assert isinstance(ld, UartRadarLink)
    assert (ld.kind, ld.baudrate) == (RadarKind.LD2410, 115200)
    assert isinstance(links["reed"], GpioDoorLink)
    door = links["door"]
    assert isinstance(door, Zigbee2MqttDoorLink)
    assert (door.host, door.port, door.availability_topic) == (
        "10.0.0.2",
        1884,
        "zigbee2mqtt/door-1/availability",
    )
    assert door.silence_timeout_s == 60


@pytest.mark.parametrize(
    ("device", "key", "reason"),
    [
        ({"id": "w", "role": "wearable", "link": "ble", "address": H10}, "model", "needs a model"),
        ({"id": "w", "model": "polar_h10"}, "address", "missing"),
        ({"id": "w", "model": "polar_h10", "address": "nearby"}, "address", "hex pairs"),
        ({"id": "w", "model": "polar_h10", "address": H10, "port": "/dev/x"}, "port", "uart"),
        ({"id": "r", "model": "mr60bha1"}, "port", "serial port"),
        ({"id": "r", "model": "mr60bha1", "link": "ble", "port": "/dev/x"}, "link", "uart"),
        ({"id": "r", "model": "mr60bha1", "role": "door", "port": "/dev/x"}, "role", "radar"),
        ({"id": "d", "model": "z2m_door"}, "topic", "zigbee2mqtt topic"),
        ({"id": "d", "model": "z2m_door", "topic": "zigbee2mqtt/#"}, "topic", "wildcards"),
        ({"id": "d", "model": "gpio_door"}, "pin", "GPIO pin"),
        ({"id": "d", "model": "fridge"}, "model", "polar_h10"),
    ],
)
def test_device_config_names_the_bad_key(device: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(EdgeConfigError) as caught:
        config_from_mapping(_config([device]))
    assert caught.value.key.startswith(f"devices.0.{key}") or caught.value.key == "devices.0"
    assert reason in caught.value.reason


def test_device_config_from_the_servers_device_list() -> None:
    factory = LinkFactory()
    entries = [
        DeviceEntry("h10", DeviceModel.POLAR_H10, "p-1", address=H10),
        DeviceEntry("radar", DeviceModel.MR60BHA1, "p-1", address="/dev/ttyAMA0"),
        DeviceEntry("reed", DeviceModel.GPIO_DOOR, "p-1", address="17"),
        DeviceEntry("door", DeviceModel.Z2M_DOOR, "p-1", address="hall door"),
        DeviceEntry("sim", DeviceModel.VIRTUAL, "p-1"),
    ]
    devices = [device_from_entry(entry) for entry in entries]
    assert devices[0].model is Model.POLAR_H10
    assert devices[2].pin == 17
    assert devices[3].topic == "zigbee2mqtt/hall door"
    assert [d.checkin_possible for d in devices] == [False, False, False, False, True]
    links = [build_link(device, factory) for device in devices]
    assert [type(link).__name__ for link in links] == [
        "BleakDeviceLink",
        "UartRadarLink",
        "GpioDoorLink",
        "Zigbee2MqttDoorLink",
        "FramedWearableLink",  # a simulated wearable's bytes, decoded as a real one's
    ]
    assert factory.scanner is links[0]._scanner  # type: ignore[attr-defined]  # one per adapter


def test_device_config_accepts_the_real_site_example() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "edge-site.toml")
    models = {device.id: device.model for device in config.devices}
    assert set(models.values()) == {
        Model.POLAR_H10,
        Model.BLE_PLX,
        Model.MR60BHA1,
        Model.Z2M_DOOR,
        Model.ODART_WEARABLE,
        Model.GPIO_DOOR,
    }
    assert len(build_links(config)) == len(config.devices)


def test_device_config_scan_recognises_models_by_advertisement() -> None:
    hrs = "0000180d-0000-1000-8000-00805f9b34fb"
    assert recognise("Polar H10 1A2B3C4D", (hrs,)) is Model.POLAR_H10
    assert recognise("Garmin HRM", (hrs,)) is Model.BLE_HR
    assert recognise(None, ("00001822-0000-1000-8000-00805f9b34fb",)) is Model.BLE_PLX
    assert recognise("ODART-W1", (ODART_SERVICE_UUID, hrs)) is Model.ODART_WEARABLE
    assert recognise("Speaker", ()) is None
    assert short_uuid(hrs) == "0x180d"


def test_device_config_a_wearable_that_cannot_ask_pages_at_once() -> None:
    config = config_from_mapping(
        {
            **_config(DEVICES[:4]),
            "checkin_s": 20,
            "people": [
                {"participant": "p-1", "room": "room-1", "devices": ["h10", "hr", "plx"]},
                {"participant": "p-2", "room": "room-2", "devices": ["odart"]},
            ],
        }
    )
    outbox = Outbox(":memory:")
    agent = EdgeAgent(config, build_links(config), outbox)
    warning = DetectionEvent(EventKind.RESPIRATORY_DEPRESSION, Severity.WARNING, 9.0, 1.0)
    from_h10 = agent.handle_event("p-1", "h10", warning).body
    from_odart = agent.handle_event("p-2", "odart", warning).body
    assert isinstance(from_h10, AlertBody)
    assert isinstance(from_odart, AlertBody)
    assert from_h10.checkin_s is None  # nobody to ask: the server pages at once
    assert from_odart.checkin_s == 20
    assert [agent.checkin_possible(d) for d in ("h10", "hr", "plx", "odart")] == [
        False,
        False,
        False,
        True,
    ]
    outbox.close()


def test_device_config_reference_names_every_model_and_key() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "devices.md").read_text()
    for model in Model:
        assert f"| `{model.value}` |" in text, model
    for key in sorted(set().union(*LINK_KEYS.values())):
        assert f"`{key}`" in text, key
