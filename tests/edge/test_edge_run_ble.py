"""``odart edge`` from a TOML with a Polar H10 and a standard HR strap, on BlueZoo (real processes).

BlueZoo stands in for BlueZ on a private D-Bus (see tests/edge/test_ble_bluezoo.py); the devices
are GATT peripherals on their own emulated adapters. The H10's accelerometer carries a simulated
person's breathing until they stop; the edge, a separate ``odart edge`` process, must find both
devices by address, stream them by model, and publish the apnoea on the test's Mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.wire import AlertBody, DeviceBody, Envelope, decode_message
from odart.broker import MosquittoBroker
from odart.cli import main
from simulators.physiology import Episode, PhysiologyStream, SubjectParams
from tests.bluez.harness import BluezStandIn, dbus_daemon_path
from tests.bluez.wearable import BreathingPolarH10, EmulatedHeartRateStrap, EmulatedWearable
from tests.conftest import require
from tests.mqtt_probe import MqttProbe, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EDGE = "00:00:00:00:00:01"
H10 = "A0:9E:1A:00:00:10"
STRAP = "C0:00:00:00:00:20"
STRANGER = "C0:00:00:00:00:99"
"""A passer-by's strap: listed by the installer's scan, never connected or logged by the edge."""
OPERATOR = "00:00:00:00:00:02"
"""The installer's scan runs on an adapter of its own: BlueZoo, unlike BlueZ, never re-reports a
device it already knows to a later discovery session on the same adapter."""
APNOEA_AT_S = 12.0
"""Seconds of breathing before the simulated wearer stops: enough for the detector's baseline."""
DETECTOR = """
bootstrap_s = 5
baseline_breaths = 3
apnoea_wearable_s = 6
pause_s = 3
"""
"""Detector settings that decide within seconds (the test runs in real time; defaults need a
minute of baseline). Offline, this stream (seeds 1-3) has the apnoea called 6-7 s after onset."""
ALERT_WAIT_S = 60.0
"""Connecting two devices through BlueZoo, 18 s of signal and a publish, on a loaded 2-core CI."""


@pytest.fixture
def bluez(tmp_path: Path) -> Iterator[BluezStandIn]:
    require("dbus-daemon", dbus_daemon_path() is not None, "apt-get install dbus-daemon")
    require(
        "bluezoo",
        importlib.util.find_spec("bluezoo") is not None,
        "pip install -e '.[test]' (bluezoo is a test extra)",
    )
    with BluezStandIn(tmp_path, [EDGE, H10, STRAP, OPERATOR, STRANGER]) as stand_in:
        yield stand_in


@contextlib.contextmanager
def _devices(bus: str) -> Iterator[BreathingPolarH10]:
    """The H10 and the strap advertising and serving GATT from a thread of their own."""
    stream = PhysiologyStream(
        SubjectParams(rate_bpm=20, depth=2.0),  # deep enough to be measurable from the start
        [Episode("abrupt_apnoea", APNOEA_AT_S)],  # type: ignore[arg-type]
        np.random.default_rng(1),
    )
    h10 = BreathingPolarH10(bus, 1, stream)
    strap = EmulatedHeartRateStrap(bus, 2)
    stranger = EmulatedHeartRateStrap(bus, 4, name="Someone's HRM")
    started, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    async def serve() -> None:
        devices: list[EmulatedWearable] = [h10, strap, stranger]
        try:
            for device in devices:
                await device.start()
            started.set()
            await asyncio.to_thread(stop.wait)
        finally:
            for device in devices:
                await device.stop()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # reported to the test below
            errors.append(error)
            started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30), "the emulated devices did not start"
    assert not errors, errors
    try:
        yield h10
    finally:
        stop.set()
        thread.join(10)


def _config(path: Path, broker: MosquittoBroker) -> Path:
    path.write_text(f"""
site = "hostel-1"
edge = "pi-1"
outbox = "{path.parent / "outbox.db"}"
checkin_s = 20

[mqtt]
host = "{broker.host}"
port = {broker.port}

[ble]
adapter = "hci0"

[detector]
{DETECTOR}

[[people]]
participant = "p-1"
room = "room-1"
devices = ["h10-1"]

[[people]]
participant = "p-2"
room = "room-2"
devices = ["hr-1"]

[[devices]]
id = "h10-1"
model = "polar_h10"
address = "{H10}"

[[devices]]
id = "hr-1"
model = "ble_hr"
address = "{STRAP}"
""")
    return path


def _envelopes(probe: MqttProbe) -> list[Envelope]:
    return [decode_message(topic, payload) for topic, payload, _ in list(probe.messages)]


STRAP_REPORT = "link hr-1 (ble_hr): connected"


def _strap_blocks(log: str) -> int:
    """Sample blocks in the edge's latest report of the strap's link (0 before any)."""
    lines = [line for line in log.splitlines() if STRAP_REPORT in line]
    return int(lines[-1].split(", ")[1].split()[0]) if lines else 0


def test_edge_streams_an_h10_and_an_hr_strap_and_publishes_the_apnoea(
    tmp_path: Path,
    bluez: BluezStandIn,
    mosquitto: MosquittoBroker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bluez.address)
    probe = MqttProbe(
        mosquitto.host,
        mosquitto.port,
        "odart/v1/hostel-1/pi-1/event",
        "odart/v1/hostel-1/pi-1/alert",
    )
    log_path = tmp_path / "edge.log"
    with _devices(bluez.address) as h10:
        # An operator looks for the devices first: each is listed with the model it looks like.
        assert main(["edge", "scan", "--adapter", "hci3", "--seconds", "2"]) == 0
        table = capsys.readouterr().out
        assert any(H10 in line and "polar_h10" in line for line in table.splitlines()), table
        assert any(STRAP in line and "ble_hr" in line for line in table.splitlines()), table
        assert STRANGER in table  # the scan shows everything nearby, to the operator only

        config = _config(tmp_path / "edge.toml", mosquitto)
        with log_path.open("w") as log:
            edge = subprocess.Popen(
                [
                    *(sys.executable, "-m", "odart.cli", "-v", "edge"),
                    *("--config", str(config), "--status-every", "2"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            deadline = time.monotonic() + ALERT_WAIT_S
            alerts: list[Envelope] = []
            while not alerts and time.monotonic() < deadline and edge.poll() is None:
                time.sleep(0.2)
                alerts = [
                    e
                    for e in _envelopes(probe)
                    if isinstance(e.body, AlertBody) and e.body.alert_kind.value == "apnoea"
                ]
            assert alerts, f"no apnoea published; edge log:\n{log_path.read_text()[:6000]}"
            # The edge reports each link every 2 s: wait for one that counts the strap's blocks.
            assert wait_until(lambda: _strap_blocks(log_path.read_text()) > 0, timeout_s=15)
        finally:
            edge.send_signal(signal.SIGINT)
            try:
                edge.wait(10)
            except subprocess.TimeoutExpired:
                edge.kill()
                edge.wait()
        assert h10.frames > 0
    probe.close()

    (alert,) = alerts
    assert (alert.participant_id, alert.device_id) == ("p-1", "h10-1")
    assert isinstance(alert.body, AlertBody)
    assert alert.body.checkin_s is None  # an H10 cannot ask its wearer: nothing held back
    statuses = {
        e.device_id: e.body
        for e in _envelopes(probe)
        if isinstance(e.body, DeviceBody) and e.body.state == "connected"
    }
    assert set(statuses) == {"h10-1", "hr-1"}
    assert statuses["h10-1"].checkin_possible is False
    assert statuses["hr-1"].checkin_possible is False
    assert statuses["h10-1"].rssi_dbm is not None
    # The strap's heart rate reached p-2's detector too (the edge's own per-link report).
    log = log_path.read_text()
    strap_lines = [line for line in log.splitlines() if STRAP_REPORT in line]
    assert strap_lines, log[-3000:]
    assert _strap_blocks(log) > 0
    assert "check-in not possible" in strap_lines[-1]
    assert STRANGER not in log
    assert STRANGER.lower() not in log
    assert f"Connecting device[{STRANGER}]" not in bluez.log(), "only enrolled devices connect"
