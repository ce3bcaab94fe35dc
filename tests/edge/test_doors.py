"""Door contacts: a reed switch on gpiozero's mock pins, and zigbee2mqtt through real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory

from edge.doors import GpioDoorLink, Zigbee2MqttDoorLink
from edge.supervisor import BackoffPolicy
from edge.transport import DeviceStatus, LinkEvent
from firmware_bridge import ContactReport, DoorState, decode_contact, door_from_gpio
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import DeviceState
from odart.broker import MosquittoBroker

FAST = BackoffPolicy(base_s=0.05, cap_s=0.2)


def _z2m_link(broker: MosquittoBroker, device_id: str, topic: str) -> Zigbee2MqttDoorLink:
    """A zigbee2mqtt door on ``broker`` that repeats its state fast and retries fast."""
    return Zigbee2MqttDoorLink(
        device_id, topic, host=broker.host, port=broker.port, report_period_s=0.2, policy=FAST
    )


def test_doors_contact_true_means_closed() -> None:
    assert decode_contact('{"contact": true, "battery": 97}').door is DoorState.CLOSED
    assert decode_contact(b'{"contact": false, "linkquality": 120}').door is DoorState.OPEN
    assert decode_contact('{"battery": 50, "unknown_key": [1]}') == ContactReport(None, 50)


def test_doors_reed_switch_low_means_closed() -> None:
    assert door_from_gpio(level_high=False) is DoorState.CLOSED
    assert door_from_gpio(level_high=True) is DoorState.OPEN
    assert door_from_gpio(level_high=True, closed_level_high=True) is DoorState.CLOSED


async def _door_values(stream: AsyncIterator[LinkEvent], count: int) -> list[float]:
    values: list[float] = []
    async with asyncio.timeout(10):
        async for event in stream:
            if isinstance(event, SampleBlock):
                assert event.channel is Channel.DOOR
                values.append(event.values[0])
                if len(values) == count:
                    return values
    return values


def test_doors_gpio_reed_reports_changes_and_repeats() -> None:
    factory = MockFactory()
    link = GpioDoorLink("door-1", 17, pin_factory=factory, report_period_s=0.05)

    async def run() -> tuple[list[float], list[float]]:
        stream = link.stream()
        try:
            opened = await _door_values(stream, 2)  # pulled up, no magnet: open, then a repeat
            factory.pin(17).drive_low()  # the door closes: the reed pulls the pin to ground
            closed: list[float] = []
            while closed[-1:] != [0.0]:
                closed += await _door_values(stream, 1)
        finally:
            await stream.aclose()
        return opened, closed

    opened, closed = asyncio.run(run())
    assert opened == [1.0, 1.0]
    assert closed[-1] == 0.0
    assert len(closed) <= 3  # the change is reported promptly, not a period late
    factory.close()


@pytest.mark.integration
def test_doors_zigbee2mqtt_through_mosquitto(mosquitto: MosquittoBroker) -> None:
    link = _z2m_link(mosquitto, "door-2", "zigbee2mqtt/hall_door")

    async def publish(payloads: list[object]) -> None:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            for payload in payloads:
                text = payload if isinstance(payload, str) else json.dumps(payload)
                await client.publish("zigbee2mqtt/hall_door", text, qos=1)

    async def run() -> list[LinkEvent]:
        events: list[LinkEvent] = []
        stream = link.stream()
        try:
            async with asyncio.timeout(15):
                async for event in stream:
                    events.append(event)
                    if isinstance(event, DeviceStatus) and event.battery_pct is None:
                        await publish(
                            [
                                {"contact": True, "battery": 97, "linkquality": 120},
                                "not json",
                                {"contact": False},
                            ]
                        )
                    doors = [e.values[0] for e in events if isinstance(e, SampleBlock)]
                    if len(doors) >= 3:
                        break
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
        return events

    events = asyncio.run(run())
    statuses = [e for e in events if isinstance(e, DeviceStatus)]
    assert statuses[0].state is DeviceState.CONNECTED
    assert any(s.battery_pct == 97 for s in statuses)
    doors = [e.values[0] for e in events if isinstance(e, SampleBlock)]
    assert doors[:2] == [0.0, 1.0]  # closed (contact: true), then open
    assert doors[2] == 1.0  # the last state repeats while nothing new arrives
    assert link.bad_messages == 1


def test_doors_gpio_without_gpio_is_a_disconnected_door_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")  # a machine without GPIO
    link = GpioDoorLink("door-1", 17, policy=FAST)

    async def run() -> list[LinkEvent]:
        stream = link.stream()
        events: list[LinkEvent] = []
        try:
            async with asyncio.timeout(10):
                async for event in stream:
                    events.append(event)
                    if len(events) == 2:
                        break
        finally:
            await stream.aclose()
        return events

    events = asyncio.run(run())
    assert [e.state for e in events if isinstance(e, DeviceStatus)] == [
        DeviceState.DISCONNECTED,
        DeviceState.DISCONNECTED,
    ]  # and retried with backoff


def test_doors_zigbee2mqtt_availability_payloads() -> None:
    link = Zigbee2MqttDoorLink("door-1", "zigbee2mqtt/door-1", host="127.0.0.1")
    assert link.availability_topic == "zigbee2mqtt/door-1/availability"
    assert link._availability(b'{"state": "offline"}') is False
    assert link._availability(b'{"state": "online"}') is True
    assert link._availability(b"offline") is False  # legacy_availability: the bare word
    assert link._availability(b"\xff{garbage") is None
    assert link._availability(b'{"state": 3}') is None
    assert link.bad_messages == 2  # counted, never raised


@pytest.mark.integration
def test_doors_zigbee2mqtt_nested_availability_is_counted_not_a_lost_link(
    mosquitto: MosquittoBroker,
) -> None:
    """A retained availability message nested past the parser's recursion limit is one bad
    message: counted, and the door keeps reporting (it used to end the session, and the retained
    copy ended every reconnect's too)."""
    link = _z2m_link(mosquitto, "door-3", "zigbee2mqtt/back_door")

    async def publish(topic: str, payload: bytes, *, retain: bool = False) -> None:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish(topic, payload, qos=1, retain=retain)

    async def run() -> list[LinkEvent]:
        await publish(link.availability_topic, b"[" * 4000, retain=True)
        events: list[LinkEvent] = []
        stream = link.stream()
        try:
            async with asyncio.timeout(15):
                async for event in stream:
                    events.append(event)
                    if isinstance(event, DeviceStatus) and len(events) == 1:
                        await publish(link.topic, b'{"contact": true}')
                    if any(isinstance(e, SampleBlock) for e in events):
                        break
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
        return events

    events = asyncio.run(run())
    states = [e.state for e in events if isinstance(e, DeviceStatus)]
    assert states == [DeviceState.CONNECTED]  # never lost on the way
    assert [e.values[0] for e in events if isinstance(e, SampleBlock)] == [0.0]  # closed
    assert link.bad_messages == 1
