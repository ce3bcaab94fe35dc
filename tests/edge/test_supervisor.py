"""Backoff, failure classification, the watchdog and the restart loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.supervisor import (
    BackoffPolicy,
    LinkLost,
    LinkSilent,
    PermanentLinkError,
    Watchdog,
    backoff_delay_s,
    next_delay_s,
    supervise,
)
from edge.transport import DeviceLink, DeviceStatus, LinkEvent
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import DeviceState

POLICY = BackoffPolicy(base_s=0.5, cap_s=30.0, healthy_after_s=10.0)


@given(attempt=st.integers(0, 200), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_delay_is_capped_exponential_with_jitter(attempt: int, jitter: float) -> None:
    delay = backoff_delay_s(attempt, POLICY, jitter)
    step = min(POLICY.cap_s, POLICY.base_s * 2.0 ** min(attempt, 64))
    assert 0.5 * step <= delay <= step
    assert delay <= POLICY.cap_s


@given(attempt=st.integers(0, 100), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_delay_never_shrinks_with_attempts(attempt: int, jitter: float) -> None:
    assert backoff_delay_s(attempt + 1, POLICY, jitter) >= backoff_delay_s(attempt, POLICY, jitter)


def test_backoff_delay_first_retries_double() -> None:
    assert [backoff_delay_s(n, POLICY, 0.0) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]
    assert backoff_delay_s(30, POLICY, 0.0) == 15.0


def test_backoff_delay_rejects_bad_jitter() -> None:
    with pytest.raises(ValueError, match="jitter"):
        backoff_delay_s(0, POLICY, 1.0)


def test_next_delay_gives_up_only_on_permanent_errors() -> None:
    assert next_delay_s(PermanentLinkError("no HRS"), 0, POLICY, 0.0) is None
    assert next_delay_s(LinkLost("gone"), 0, POLICY, 0.0) == 0.25
    assert next_delay_s(LinkSilent("quiet"), 3, POLICY, 0.0) == 2.0
    assert next_delay_s(RuntimeError("bug in a callback"), 0, POLICY, 0.0) == 0.25


def test_watchdog_fires_after_silence() -> None:
    dog = Watchdog(2.0, now_s=10.0)
    assert dog.remaining_s(11.0) == 1.0
    dog.feed(11.5)
    assert not dog.expired(13.0)
    assert dog.expired(13.5)


class _FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    async def sleep(self, delay_s: float) -> None:
        self.sleeps.append(delay_s)
        self.now_s += delay_s


def _block(t_s: float) -> SampleBlock:
    return SampleBlock("wearable-1", Channel.HR, t_s, 1.0, (72.0,))


def test_supervise_turns_losses_into_statuses_and_backs_off() -> None:
    clock = _FakeClock()
    outcomes: list[BaseException | None] = [LinkLost("drop"), LinkSilent("quiet"), None]

    async def session() -> AsyncIterator[LinkEvent]:
        yield DeviceStatus("wearable-1", DeviceState.CONNECTED, clock())
        yield _block(clock())
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        raise PermanentLinkError("device lost its service")

    events: list[LinkEvent] = []

    async def collect() -> None:
        async for event in supervise(
            "wearable-1",
            session,
            policy=POLICY,
            clock=clock,
            jitter=lambda: 0.0,
            sleep=clock.sleep,
        ):
            events.append(event)

    with pytest.raises(PermanentLinkError):
        asyncio.run(collect())
    states = [e.state for e in events if isinstance(e, DeviceStatus)]
    assert states == [
        DeviceState.CONNECTED,
        DeviceState.DISCONNECTED,
        DeviceState.CONNECTED,
        DeviceState.NO_DATA,
        DeviceState.CONNECTED,
        DeviceState.DISCONNECTED,
    ]
    assert sum(isinstance(e, SampleBlock) for e in events) == 3
    assert clock.sleeps == [0.25, 0.5]  # no sleep before giving up


def test_supervise_resets_backoff_after_a_healthy_session() -> None:
    clock = _FakeClock()
    rounds = iter(range(4))

    async def session() -> AsyncIterator[LinkEvent]:
        if next(rounds) == 2:
            clock.now_s += 60.0  # a long, healthy session
        yield _block(clock())
        raise LinkLost("drop")

    async def run() -> None:
        stream = supervise(
            "wearable-1",
            session,
            policy=POLICY,
            clock=clock,
            jitter=lambda: 0.0,
            sleep=clock.sleep,
        )
        async for _ in stream:
            if len(clock.sleeps) == 4:
                break
        await stream.aclose()

    asyncio.run(run())
    assert clock.sleeps == [0.25, 0.5, 0.25, 0.5]


def test_links_fit_the_device_link_protocol(tmp_path: Path) -> None:
    from gpiozero.pins.mock import MockFactory

    from edge.ble import BleakDeviceLink, BleScanner
    from edge.doors import GpioDoorLink, Zigbee2MqttDoorLink
    from edge.uart import RadarKind, UartRadarLink

    links = [
        BleakDeviceLink("w1", "A0:9E:1A:00:00:01", BleScanner(["A0:9E:1A:00:00:01"])),
        UartRadarLink("r1", str(tmp_path / "tty"), RadarKind.LD2410),
        GpioDoorLink("d1", 17, pin_factory=MockFactory()),
        Zigbee2MqttDoorLink("d2", "hall", host="127.0.0.1"),
    ]
    for link in links:
        assert isinstance(link, DeviceLink)
        assert link.device_id


def test_device_status_checks_itself() -> None:
    assert DeviceStatus("w1", DeviceState.CONNECTED, 0.0, battery_pct=87).has_data
    assert not DeviceStatus("w1", DeviceState.NO_DATA, 0.0).has_data
    with pytest.raises(ValueError, match="device_id"):
        DeviceStatus("", DeviceState.CONNECTED, 0.0)
    with pytest.raises(ValueError, match="battery_pct"):
        DeviceStatus("w1", DeviceState.CONNECTED, 0.0, battery_pct=101)
    with pytest.raises(ValueError, match="frames_dropped"):
        DeviceStatus("w1", DeviceState.CONNECTED, 0.0, frames_dropped=-1)
    with pytest.raises(ValueError, match="base_s"):
        BackoffPolicy(base_s=0.0)
    with pytest.raises(ValueError, match="timeout_s"):
        Watchdog(0.0, now_s=0.0)
