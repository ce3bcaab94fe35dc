"""Wires framed virtual devices to the edge's real decoding links (shell, composition root).

A framed wearable feeds :class:`edge.notify_decode.NotificationLink`, which decodes its bytes
exactly as :mod:`edge.ble` decodes a real wearable's notifications; a framed radar writes into a
pseudo-terminal that :class:`edge.uart.UartRadarLink` opens as its serial port; the radar's room
door is published as zigbee2mqtt JSON to the broker, where :class:`edge.doors.Zigbee2MqttDoorLink`
subscribes to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import aiomqtt

from edge.doors import Z2M_BASE_TOPIC, Zigbee2MqttDoorLink
from edge.notify_decode import NotificationLink
from edge.transport import DeviceLink
from edge.uart import RadarKind, UartRadarLink
from simulators.framed import FramedRadar, FramedWearable
from simulators.physiology import PhysiologyStream
from simulators.scenario import DeviceKind, DeviceSpec, PersonSpec


def framed_link(
    device: DeviceSpec,
    person: PersonSpec,
    stream: PhysiologyStream,
    speed: float,
    clock: Callable[[], float],
) -> tuple[DeviceLink, FramedWearable | FramedRadar]:
    """The edge link and the simulated device behind it (to start, fault and stop)."""
    if device.kind is DeviceKind.WEARABLE:
        wearable = FramedWearable(
            device.id,
            stream,
            speed,
            seed=person.seed,
            answers_checkin=person.answers_checkin,
            answer_delay_s=person.answer_delay_s,
        )
        return NotificationLink(device.id, wearable, clock=clock), wearable
    radar = FramedRadar(device.id, stream.room(), device.model, speed, seed=person.seed)
    return UartRadarLink(device.id, radar.port, RadarKind(device.model), clock=clock), radar


DOOR_SUFFIX: Final = "-door"
"""A framed radar's door contact is enrolled as ``<radar id>-door``."""

MQTT_TIMEOUT_S: Final = 10.0
"""A loopback broker answers in milliseconds; this bounds a stuck one."""


def door_id(radar_id: str) -> str:
    """The device id of a framed radar's door contact."""
    return f"{radar_id}{DOOR_SUFFIX}"


def door_link(
    radar: FramedRadar, broker: tuple[str, int], clock: Callable[[], float], speed: float
) -> Zigbee2MqttDoorLink:
    """The edge's zigbee2mqtt link for a framed radar's door, repeating once a simulated second."""
    return Zigbee2MqttDoorLink(
        door_id(radar.device_id),
        f"{Z2M_BASE_TOPIC}/{door_id(radar.device_id)}",
        host=broker[0],
        port=broker[1],
        report_period_s=1.0 / speed,
        clock=clock,
    )


async def publish_doors(radar: FramedRadar, broker: tuple[str, int]) -> None:
    """Publish the radar's door reports as zigbee2mqtt would (retained, QoS 1) until cancelled."""
    topic = f"{Z2M_BASE_TOPIC}/{door_id(radar.device_id)}"
    async with aiomqtt.Client(broker[0], broker[1], timeout=MQTT_TIMEOUT_S) as client:
        while True:
            payload = await radar.door_reports.get()
            await client.publish(topic, payload, qos=1, retain=True, timeout=MQTT_TIMEOUT_S)
