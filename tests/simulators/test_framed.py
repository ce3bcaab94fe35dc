"""Framed virtual devices: their bytes decode through the edge's real links, faults included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

from edge.config import Model
from edge.notify_decode import PROFILES, NotificationDecoder, NotificationLink, NotificationSource
from edge.supervisor import BackoffPolicy
from edge.transport import ButtonPress, DeviceStatus, LinkEvent
from edge.uart import RadarKind, UartRadarLink
from firmware_bridge import AlertLevel, DoorState, decode_contact
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import DeviceState
from simulators.framed import FramedRadar, FramedWearable
from simulators.framed_encode import BATTERY_UUID, WearableEncoder
from simulators.physiology import PhysiologyStream, SubjectParams
from simulators.scenario import TimelineEvent

FAST = BackoffPolicy(base_s=0.05, cap_s=0.2, healthy_after_s=10.0)
SPEED = 50.0


def _stream(seed: int = 1) -> PhysiologyStream:
    return PhysiologyStream(SubjectParams(), [], np.random.default_rng(seed))


def _event(name: str, duration_s: float | None = None, **params: float) -> TimelineEvent:
    return TimelineEvent(0.0, name, None, "w", duration_s, params)


def test_framed_wearable_fits_the_notification_source_seam() -> None:
    source: NotificationSource = FramedWearable("w", _stream())
    assert callable(source.notifications)
    assert callable(source.write)


def test_framed_encode_round_trips_through_the_ble_decoder() -> None:
    truth = _stream()
    chunk = _stream().advance(1.0)
    decoder = NotificationDecoder("w")
    chars = PROFILES[Model.ODART_WEARABLE].decoders
    blocks = [
        item
        for uuid, data in WearableEncoder().chunk(truth.advance(1.0))
        for item in decoder.data(chars[uuid].decode, data, 1.0)
    ]
    assert decoder.frames_dropped == 0
    by_channel = {b.channel: b for b in blocks if isinstance(b, SampleBlock)}
    assert {Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z, Channel.HR, Channel.SPO2} <= set(
        by_channel
    )
    acc_z = np.array(by_channel[Channel.ACC_Z].values)
    assert np.max(np.abs(acc_z - chunk.acc_z.values)) <= 0.0005 + 1e-9  # 1 mg quantisation
    assert by_channel[Channel.SPO2].values[0] == pytest.approx(
        np.nanmean(chunk.spo2.values), abs=0.05
    )


async def _collect(
    link: NotificationLink | UartRadarLink, wall_s: float, *during: Callable[[], None]
) -> list[LinkEvent]:
    events: list[LinkEvent] = []

    async def pump() -> None:
        async for event in link.stream():
            events.append(event)

    task = asyncio.create_task(pump())
    for step in during:
        await asyncio.sleep(wall_s / (len(during) + 1))
        step()
    await asyncio.sleep(wall_s / (len(during) + 1))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return events


def test_framed_wearable_through_the_link_samples_battery_and_buzz_answered() -> None:
    async def scenario() -> tuple[list[LinkEvent], FramedWearable]:
        wearable = FramedWearable("w", _stream(), SPEED, answer_delay_s=2.0)
        link = NotificationLink("w", wearable, policy=FAST)

        def buzz() -> None:
            asyncio.get_running_loop().create_task(link.alert(AlertLevel.HIGH_ALERT))

        return await _collect(link, 0.4, buzz), wearable

    events, wearable = asyncio.run(scenario())
    blocks = [e for e in events if isinstance(e, SampleBlock)]
    assert sum(b.channel is Channel.ACC_Z for b in blocks) >= 5
    statuses = [e for e in events if isinstance(e, DeviceStatus)]
    assert statuses[0].state is DeviceState.CONNECTED
    assert any(s.battery_pct == 90 for s in statuses)
    assert wearable.alerts == [AlertLevel.HIGH_ALERT]
    assert any(isinstance(e, ButtonPress) for e in events)


def test_framed_wearable_faults_garbage_drops_battery_and_dropout() -> None:
    async def scenario() -> tuple[list[LinkEvent], NotificationLink]:
        wearable = FramedWearable("w", _stream(), SPEED, seed=3)
        wearable.fault(_event("garbage", 3.0))
        link = NotificationLink("w", wearable, policy=FAST)

        def flat() -> None:
            wearable.fault(_event("battery_flat", pct=7.0))

        def drop_out() -> None:
            wearable.paused = True

        return await _collect(link, 0.6, flat, drop_out), link

    events, link = asyncio.run(scenario())
    assert link.frames_dropped >= 3  # garbage fails its CRC, never becomes samples
    statuses = [e for e in events if isinstance(e, DeviceStatus)]
    assert any(s.battery_pct == 7 for s in statuses), statuses
    assert any(s.state is DeviceState.DISCONNECTED for s in statuses)


def test_framed_wearable_dropped_frames_show_as_sequence_gaps() -> None:
    async def scenario() -> NotificationLink:
        wearable = FramedWearable("w", _stream(), SPEED, seed=4)
        wearable.fault(_event("drop_frames", 20.0, fraction=0.5))
        link = NotificationLink("w", wearable, policy=FAST)
        await _collect(link, 0.4)
        return link

    assert asyncio.run(scenario()).frames_dropped >= 2


def test_framed_faults_refuse_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="no such device fault"):
        FramedWearable("w", _stream()).fault(_event("meltdown"))


def test_framed_battery_notification_is_the_gatt_level() -> None:
    uuid, data = WearableEncoder.battery(42)
    decoder = NotificationDecoder("w")
    assert uuid == BATTERY_UUID
    assert decoder.battery(data) is True
    assert decoder.battery_pct == 42
    assert decoder.battery(data) is False


@pytest.mark.parametrize(
    ("model", "channels"),
    [
        ("mr60bha1", {Channel.PRESENCE, Channel.MOTION, Channel.RESP}),
        ("ld2410", {Channel.PRESENCE, Channel.MOTION}),
    ],
)
def test_framed_radar_through_a_pty_and_the_uart_link(model: str, channels: set[Channel]) -> None:
    async def scenario() -> tuple[list[LinkEvent], int]:
        radar = FramedRadar("r", _stream().room(), model, SPEED, seed=5)
        link = UartRadarLink("r", radar.port, RadarKind(model), policy=FAST)
        writer = asyncio.create_task(radar.run())
        try:
            events = await _collect(link, 0.4)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            radar.close()
        return events, link.frames_dropped

    events, dropped = asyncio.run(scenario())
    seen = {e.channel for e in events if isinstance(e, SampleBlock)}
    assert channels <= seen
    assert dropped == 0


def test_framed_radar_reports_its_door_as_zigbee2mqtt_json() -> None:
    async def scenario() -> list[str]:
        radar = FramedRadar("r", _stream().room(), "ld2410", SPEED)
        writer = asyncio.create_task(radar.run())
        await asyncio.sleep(0.1)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        radar.close()
        return [radar.door_reports.get_nowait() for _ in range(radar.door_reports.qsize())]

    reports = asyncio.run(scenario())
    assert len(reports) == 1  # a closed door is reported once, then only changes
    assert decode_contact(reports[0]).door is DoorState.CLOSED
