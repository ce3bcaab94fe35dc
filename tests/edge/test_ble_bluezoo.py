"""BLE end to end: unmodified bleak against BlueZoo on a private D-Bus, with emulated wearables.

No Bluetooth hardware or kernel support exists on the CI machine (ble.md §1), so BlueZ itself is
replaced by BlueZoo, which speaks BlueZ's D-Bus API; bleak, bleak-retry-connector and our link
run exactly the code they run on a Raspberry Pi. BlueZoo's reconnect gaps are patched at test
time only (tests/bluez/bluezoo_patched.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from edge.ble import PMD_ACC_FS_HZ, PMD_ACC_START, BleakDeviceLink, BleScanner
from edge.checkin import ANSWER_REPEAT_S
from edge.config import Model, config_from_mapping
from edge.detector import DetectionEvent, EventKind, Severity
from edge.notify_decode import PROFILES
from edge.outbox import Outbox
from edge.supervisor import BackoffPolicy
from edge.transport import Buzzer, DeviceLink, DeviceStatus, LinkEvent
from firmware_bridge import AlertLevel, encode_pmd_control
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import AlertUpdate, DeviceState, UpdateBody
from tests.bluez.harness import BluezStandIn, dbus_daemon_path, drop_link
from tests.bluez.wearable import BATTERY_PCT, BPM, EmulatedPolarH10, EmulatedWearable
from tests.conftest import require

pytestmark = pytest.mark.integration

EDGE = "00:00:00:00:00:01"
WEARABLE = "A0:9E:1A:00:00:01"
STRANGER = "A0:9E:1A:00:00:99"
FAST = BackoffPolicy(base_s=0.2, cap_s=1.0, healthy_after_s=30.0)
# Data must resume this soon after the wearable is back in range: one BlueZoo scan (1 s), at
# most one capped backoff (1 s) and a connection, with room for a loaded 2-core CI machine.
RESUME_BOUND_S = 10.0


@pytest.fixture
def bluez(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BluezStandIn]:
    require("dbus-daemon", dbus_daemon_path() is not None, "apt-get install dbus-daemon")
    require(
        "bluezoo",
        importlib.util.find_spec("bluezoo") is not None,
        "pip install -e '.[test]' (bluezoo is a test extra)",
    )
    with BluezStandIn(tmp_path, [EDGE, WEARABLE, STRANGER]) as stand_in:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", stand_in.address)
        yield stand_in


class _Recorder:
    """Consumes a link's stream in a task and lets the test wait for conditions on it."""

    def __init__(self, link: BleakDeviceLink) -> None:
        self.events: list[tuple[float, LinkEvent]] = []
        self._task = asyncio.create_task(self._run(link))

    async def _run(self, link: BleakDeviceLink) -> None:
        async for event in link.stream():
            self.events.append((time.monotonic(), event))

    def since(self, t0: float) -> list[LinkEvent]:
        return [event for t, event in self.events if t >= t0]

    async def wait(self, what: str, done: Callable[[], bool], timeout_s: float) -> float:
        start = time.monotonic()
        while not done():
            if self._task.done():
                self._task.result()
            if time.monotonic() - start > timeout_s:
                message = (
                    f"timed out after {timeout_s} s waiting for {what}; got {self.events[-5:]}"
                )
                raise AssertionError(message)
            await asyncio.sleep(0.05)
        return time.monotonic() - start

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _blocks(events: list[LinkEvent], channel: Channel) -> list[SampleBlock]:
    return [e for e in events if isinstance(e, SampleBlock) and e.channel is channel]


def _states(events: list[LinkEvent]) -> list[DeviceState]:
    return [e.state for e in events if isinstance(e, DeviceStatus)]


def _streaming(recorder: _Recorder, t0: float) -> Callable[[], bool]:
    def done() -> bool:
        events = recorder.since(t0)
        return len(_blocks(events, Channel.HR)) >= 3 and len(_blocks(events, Channel.ACC_Z)) >= 3

    return done


def test_ble_wearable_streams_vanishes_and_resumes(
    bluez: BluezStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="edge")

    async def scenario() -> float:
        wearable = EmulatedWearable(bluez.address, adapter_index=1)
        stranger = EmulatedWearable(bluez.address, adapter_index=2, name="NOT-ENROLLED")
        await wearable.start()
        await stranger.start()
        async with BleScanner([WEARABLE], adapter="hci0") as scanner:
            link = BleakDeviceLink(
                "wearable-1", WEARABLE, scanner, no_data_timeout_s=5.0, policy=FAST
            )
            recorder = _Recorder(link)
            try:
                await recorder.wait("first data", _streaming(recorder, 0.0), 20.0)
                events = recorder.since(0.0)
                first = events[0]
                assert isinstance(first, DeviceStatus)
                assert first.state is DeviceState.CONNECTED
                assert first.battery_pct == BATTERY_PCT
                assert first.rssi_dbm is not None
                assert {b.values[0] for b in _blocks(events, Channel.HR)} == {float(BPM)}
                acc_z = _blocks(events, Channel.ACC_Z)[0]
                assert acc_z.fs_hz == 25.0
                assert acc_z.values == pytest.approx((1.0, 1.001, 1.002))

                # The wearable walks out of range: it stops advertising and the link drops.
                await wearable.stop()
                gone_at = time.monotonic()
                await drop_link(bluez.address, 0, WEARABLE)
                await recorder.wait(
                    "disconnected status",
                    lambda: DeviceState.DISCONNECTED in _states(recorder.since(gone_at)),
                    10.0,
                )
                await asyncio.sleep(2.0)  # several failed reconnects while it is away
                away = recorder.since(gone_at)
                assert not [e for e in away if isinstance(e, SampleBlock)], "no data while gone"
                assert DeviceState.CONNECTED not in _states(away)

                # It comes back: data resumes within a bounded time, subscriptions renewed.
                back_at = time.monotonic()
                await wearable.start()
                resumed_s = await recorder.wait(
                    "data after return", _streaming(recorder, back_at), RESUME_BOUND_S
                )
                assert _states(recorder.since(back_at))[0] is DeviceState.CONNECTED
                assert link.connections >= 2  # a reconnect raced the departure at most once
                await wearable.stop()
                assert not await link.alert(AlertLevel.MILD_ALERT)  # gone: reported, not raised
                return resumed_s
            finally:
                await recorder.close()
                await wearable.stop()
                await stranger.stop()

    resumed_s = asyncio.run(scenario())
    assert resumed_s < RESUME_BOUND_S
    assert f"Connecting device[{STRANGER}]" not in bluez.log(), "only enrolled devices connect"
    assert STRANGER not in caplog.text
    assert STRANGER.lower() not in caplog.text


def test_ble_silent_wearable_reports_no_data_and_resubscribes(bluez: BluezStandIn) -> None:
    async def scenario() -> None:
        wearable = EmulatedWearable(bluez.address, adapter_index=1)
        await wearable.start()
        async with BleScanner([WEARABLE], adapter="hci0") as scanner:
            link = BleakDeviceLink(
                "wearable-1", WEARABLE, scanner, no_data_timeout_s=1.0, policy=FAST
            )
            recorder = _Recorder(link)
            try:
                await recorder.wait("first data", _streaming(recorder, 0.0), 20.0)
                assert await link.alert(AlertLevel.HIGH_ALERT)  # buzz the wearer
                await asyncio.sleep(0.2)
                assert wearable.alerts == [b"\x02"]
                wearable.pause()  # hung firmware: still connected, nothing sent
                hung_at = time.monotonic()
                await recorder.wait(
                    "no-data status",
                    lambda: DeviceState.NO_DATA in _states(recorder.since(hung_at)),
                    5.0,
                )
                wearable.pause(False)
                back_at = time.monotonic()
                await recorder.wait(
                    "data after resubscribe", _streaming(recorder, back_at), RESUME_BOUND_S
                )
                assert link.connections >= 2  # the watchdog forced a reconnect and re-subscribe
                assert link.frames_dropped == 0
            finally:
                await recorder.close()
                await wearable.stop()

    asyncio.run(scenario())


def test_ble_polar_h10_streams_pmd_accelerometer_after_start(bluez: BluezStandIn) -> None:
    async def scenario() -> None:
        h10 = EmulatedPolarH10(bluez.address, adapter_index=1)
        await h10.start()
        # No `async with` here: a streaming link starts (and finally stops) the shared scanner.
        scanner = BleScanner([WEARABLE], adapter="hci0")
        link = BleakDeviceLink(
            "h10",
            WEARABLE,
            scanner,
            profile=PROFILES[Model.POLAR_H10],
            no_data_timeout_s=5.0,
            policy=FAST,
        )
        recorder = _Recorder(link)
        try:
            await recorder.wait("PMD ACC data", _streaming(recorder, 0.0), 20.0)
            assert h10.commands == [encode_pmd_control(PMD_ACC_START)]
            acc_y = _blocks(recorder.since(0.0), Channel.ACC_Y)[0]
            assert acc_y.fs_hz == PMD_ACC_FS_HZ
            assert acc_y.values == pytest.approx((0.020, 0.021, 0.022))
            # After a drop the sensor forgets its stream; the link must start it again.
            await drop_link(bluez.address, 0, WEARABLE)
            h10.streaming = False
            back_at = time.monotonic()
            await recorder.wait("PMD data again", _streaming(recorder, back_at), RESUME_BOUND_S)
            assert len(h10.commands) == 2
        finally:
            await recorder.close()
            await h10.stop()
        assert "Stopping discovery on adapter[0]" in bluez.log()

    asyncio.run(scenario())


def test_ble_wearable_button_answers_the_agents_checkin(bluez: BluezStandIn) -> None:
    """The check-in over emulated BLE: Alert Level written, button frame back, buzz stopped."""

    async def scenario() -> None:
        wearable = EmulatedWearable(bluez.address, adapter_index=1, answer_after_s=0.3)
        await wearable.start()
        scanner = BleScanner([WEARABLE], adapter="hci0")
        link = BleakDeviceLink("wearable-1", WEARABLE, scanner, no_data_timeout_s=5.0, policy=FAST)
        assert isinstance(link, DeviceLink)
        assert isinstance(link, Buzzer)
        config = config_from_mapping(
            {
                "site": "hostel-1",
                "edge": "pi-1",
                "mqtt": {"port": 9},  # discard port: no broker, so the outbox keeps everything
                "checkin_s": 5.0,
                "people": [{"participant": "p-1", "room": "room-1", "devices": ["wearable-1"]}],
                "devices": [{"id": "wearable-1", "model": "odart_wearable", "address": WEARABLE}],
            }
        )
        outbox = Outbox(":memory:")
        agent = EdgeAgent(config, [link], outbox)
        task = asyncio.create_task(agent.run())
        person = agent.people["p-1"]

        async def until(what: str, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
            start = time.monotonic()
            while not done():
                assert not task.done(), task
                assert time.monotonic() - start < timeout_s, f"timed out waiting for {what}"
                await asyncio.sleep(0.05)

        try:
            await until("data through the agent", lambda: person.blocks > 3, 20.0)
            event = DetectionEvent(EventKind.RESPIRATORY_DEPRESSION, Severity.WARNING, 9.0, 1.0)
            alert = agent.handle_event("p-1", "wearable-1", event)
            await until("the wearer's answer", lambda: wearable.presses == 1)
            await until("buzz off", lambda: wearable.alerts == [b"\x02", b"\x00"])
            (update,) = [
                e.envelope for e in outbox.due(float("inf")) if e.envelope.kind.value == "update"
            ]
            assert isinstance(update.body, UpdateBody)
            assert (update.body.of, update.body.update) == (
                alert.msg_id,
                AlertUpdate.CANCELLED_BY_WEARER,
            )
            # Pressed again later, with no question asked: a call for help.
            await asyncio.sleep(ANSWER_REPEAT_S + 0.2)
            wearable.press()
            await until("help alert", lambda: agent.counts["alert_button"] == 1)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            outbox.close()
            await wearable.stop()

    asyncio.run(scenario())
