"""Wires framed virtual devices to the edge's real decoding links (shell, composition root).

A framed wearable feeds :class:`edge.notify_decode.NotificationLink`, which decodes its bytes
exactly as :mod:`edge.ble` decodes a real wearable's notifications; a framed radar writes into a
pseudo-terminal that :class:`edge.uart.UartRadarLink` opens as its serial port.
"""

from __future__ import annotations

from collections.abc import Callable

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
