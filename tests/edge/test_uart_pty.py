"""UART radar links through a real pseudo-terminal pair, with noisy, fragmented input."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator

import pytest

from edge.supervisor import BackoffPolicy
from edge.transport import DeviceStatus, LinkEvent
from edge.uart import RadarKind, UartRadarLink
from firmware_bridge import Mr60Frame, encode_mr60bha1
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import DeviceState

FAST = BackoffPolicy(base_s=0.05, cap_s=0.2, healthy_after_s=10.0)
PRESENCE = encode_mr60bha1(Mr60Frame(0x80, 0x01, b"\x01"))
HEART = encode_mr60bha1(Mr60Frame(0x85, 0x02, bytes([72])))
BREATH = encode_mr60bha1(Mr60Frame(0x81, 0x05, bytes([128, 130, 132, 130, 128])))
LD_REPORT = bytes.fromhex("F4F3F2F10D0002AA025100000000003B005500F8F7F6F5")
LD_EMPTY = bytes.fromhex("F4F3F2F10D0002AA000000000000003B005500F8F7F6F5")


@pytest.fixture
def pty_pair() -> AsyncIterator[tuple[int, str]]:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    yield master, name
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


async def _write_fragmented(master: int, data: bytes, seed: int) -> None:
    """Write ``data`` in random 1-7 byte pieces with small pauses, as a slow UART would."""
    rng = random.Random(seed)
    pos = 0
    while pos < len(data):
        size = rng.randint(1, 7)
        os.write(master, data[pos : pos + size])
        pos += size
        await asyncio.sleep(rng.uniform(0, 0.002))


async def _take(stream: AsyncIterator[LinkEvent], count: int, timeout_s: float) -> list[LinkEvent]:
    events: list[LinkEvent] = []
    async with asyncio.timeout(timeout_s):
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    return events


def test_uart_mr60bha1_survives_noise_and_fragmentation(pty_pair: tuple[int, str]) -> None:
    master, port = pty_pair
    corrupt = HEART[:-3] + bytes([HEART[-3] ^ 0xFF]) + HEART[-2:]
    noisy = (
        b"\x00\xffgarbage\x53"
        + PRESENCE
        + corrupt
        + HEART[:5]  # a partial frame cut off by the next one
        + HEART
        + b"\x54\x43\x53"
        + BREATH
    )
    link = UartRadarLink("radar-1", port, RadarKind.MR60BHA1, no_data_timeout_s=5.0, policy=FAST)

    async def run() -> list[LinkEvent]:
        stream = link.stream()
        writer = asyncio.create_task(_write_fragmented(master, noisy, seed=3))
        try:
            return await _take(stream, 4, timeout_s=10.0)
        finally:
            await writer
            await stream.aclose()

    events = asyncio.run(run())
    assert isinstance(events[0], DeviceStatus)
    assert events[0].state is DeviceState.CONNECTED
    blocks = [e for e in events if isinstance(e, SampleBlock)]
    assert [(b.channel, b.values) for b in blocks] == [
        (Channel.PRESENCE, (1.0,)),
        (Channel.HR, (72.0,)),
        (Channel.RESP, (0.0, 2.0, 4.0, 2.0, 0.0)),
    ]
    assert blocks[2].fs_hz == 5.0
    assert link.frames_dropped == 2  # the bad checksum and the overrun partial frame


def test_uart_silent_radar_reports_no_data_then_recovers(pty_pair: tuple[int, str]) -> None:
    master, port = pty_pair
    link = UartRadarLink("radar-2", port, RadarKind.LD2410, no_data_timeout_s=0.3, policy=FAST)

    async def run() -> list[LinkEvent]:
        stream = link.stream()
        try:
            # connected, silence, reconnected (pyserial flushes stale input when it reopens)
            first = await _take(stream, 3, timeout_s=5.0)
            os.write(master, LD_EMPTY + LD_REPORT)
            rest = await _take(stream, 4, timeout_s=5.0)
        finally:
            await stream.aclose()
        return first + rest

    events = asyncio.run(run())
    states = [e.state for e in events if isinstance(e, DeviceStatus)]
    assert states[:3] == [DeviceState.CONNECTED, DeviceState.NO_DATA, DeviceState.CONNECTED]
    presence = [
        e.values[0] for e in events if isinstance(e, SampleBlock) and e.channel is Channel.PRESENCE
    ]
    assert presence == [0.0, 1.0]


def test_uart_missing_port_reports_disconnected_and_retries(tmp_path: os.PathLike[str]) -> None:
    port = os.path.join(tmp_path, "ttyUSB-gone")
    link = UartRadarLink("radar-3", port, RadarKind.MR60BHA1, policy=FAST)

    async def run() -> list[LinkEvent]:
        stream = link.stream()
        try:
            return await _take(stream, 3, timeout_s=5.0)
        finally:
            await stream.aclose()

    events = asyncio.run(run())
    assert all(isinstance(e, DeviceStatus) and e.state is DeviceState.DISCONNECTED for e in events)
