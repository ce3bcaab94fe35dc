"""``odart edge`` started from a TOML runs a UART radar and a zigbee2mqtt door (real processes).

The radar is a pseudo-terminal the test writes MR60BHA1 frames into; the door is a zigbee2mqtt
sensor whose messages the test publishes on its own Mosquitto. What the edge makes of them is read
where the server would read it: the device statuses it publishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge import Mr60Frame, encode_mr60bha1
from firmware_bridge.wire import DeviceBody, Envelope, decode_message
from odart.broker import MosquittoBroker
from odart.cli import main
from tests.mqtt_probe import MqttProbe

pytestmark = pytest.mark.integration

PRESENCE = encode_mr60bha1(Mr60Frame(0x80, 0x01, b"\x01"))
HEART = encode_mr60bha1(Mr60Frame(0x85, 0x02, bytes([72])))
BREATH = encode_mr60bha1(Mr60Frame(0x81, 0x05, bytes([128, 140, 150, 140, 128])))
FRAME_PERIOD_S = 0.2
"""An MR60BHA1 sends its breathing waveform five samples at a time, once a second or faster."""
# Loaded 2-core CI: starting Python, the agent and a broker connection takes a few seconds.
WAIT_S = 20.0


def _config(path: Path, broker: MosquittoBroker, port: str) -> Path:
    path.write_text(f"""
site = "hostel-1"
edge = "pi-1"
outbox = "{path.parent / "outbox.db"}"

[mqtt]
host = "{broker.host}"
port = {broker.port}

[[people]]
participant = "p-1"
room = "room-1"
devices = ["radar-1", "door-1"]

[[devices]]
id = "radar-1"
model = "mr60bha1"
port = "{port}"

[[devices]]
id = "door-1"
model = "z2m_door"
topic = "zigbee2mqtt/door-1"
silence_timeout_s = 3
""")
    return path


@contextlib.contextmanager
def _edge(config: Path, log: list[str]) -> Iterator[subprocess.Popen[str]]:
    """``odart edge`` from ``config``; its stderr lands in ``log`` once it has stopped."""
    edge = subprocess.Popen(
        [sys.executable, "-m", "odart.cli", "edge", "--config", str(config), "--status-every", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield edge
    finally:
        edge.send_signal(signal.SIGINT)
        try:
            edge.wait(10)
        except subprocess.TimeoutExpired:
            edge.kill()
            edge.wait()
        assert edge.stderr is not None
        log.append(edge.stderr.read())
        edge.stderr.close()


@contextlib.contextmanager
def _radar() -> Iterator[str]:
    """A pseudo-terminal with an MR60BHA1 writing into it; yields the port the edge opens."""
    master, slave = os.openpty()
    stop = threading.Event()

    def write() -> None:
        while not stop.wait(FRAME_PERIOD_S):
            with contextlib.suppress(OSError):  # nobody reading yet: the tty buffer fills
                os.write(master, PRESENCE + HEART + BREATH)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield os.ttyname(slave)
    finally:
        stop.set()
        writer.join()
        for fd in (master, slave):
            os.close(fd)


def _device_states(probe: MqttProbe) -> list[tuple[str, str]]:
    states = []
    for topic, payload, _retained in list(probe.messages):
        envelope: Envelope = decode_message(topic, payload)
        if isinstance(envelope.body, DeviceBody) and envelope.device_id is not None:
            states.append((envelope.device_id, envelope.body.state))
    return states


def _wait_for(probe: MqttProbe, wanted: tuple[str, str], after: int = 0) -> int:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        states = _device_states(probe)
        if wanted in states[after:]:
            return len(states)
        time.sleep(0.1)
    message = f"no {wanted} after #{after}; got {_device_states(probe)}"
    raise AssertionError(message)


@pytest.mark.slow  # 7-13 s on a loaded 2-core machine
def test_edge_runs_a_uart_radar_and_a_zigbee2mqtt_door_from_its_config(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    probe = MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/hostel-1/pi-1/event")
    z2m = MqttProbe(mosquitto.host, mosquitto.port)
    logs: list[str] = []
    try:
        with (
            _radar() as port,
            _edge(_config(tmp_path / "edge.toml", mosquitto, port), logs) as edge,
        ):
            _wait_for(probe, ("radar-1", "connected"))
            seen = _wait_for(probe, ("door-1", "connected"))
            z2m.publish("zigbee2mqtt/door-1", json.dumps({"contact": True}).encode())
            # zigbee2mqtt says the sensor is gone: a device fault, not "closed" forever.
            z2m.publish(
                "zigbee2mqtt/door-1/availability",
                json.dumps({"state": "offline"}).encode(),
                retain=True,
            )
            seen = _wait_for(probe, ("door-1", "disconnected"), seen)
            z2m.publish("zigbee2mqtt/door-1/availability", json.dumps({"state": "online"}).encode())
            seen = _wait_for(probe, ("door-1", "connected"), seen)
            z2m.publish("zigbee2mqtt/door-1", json.dumps({"contact": False}).encode())
            # Then it stops reporting: silent past silence_timeout_s is a fault too.
            _wait_for(probe, ("door-1", "no_data"), seen)
            assert edge.poll() is None, "the edge stopped"
        (log,) = logs
        # The agent's own per-link report: the radar's frames reached the detector.
        radar_lines = [line for line in log.splitlines() if "link radar-1 (mr60bha1): " in line]
        assert radar_lines, log[-2000:]
        assert "connected" in radar_lines[-1]
        assert int(radar_lines[-1].split(", ")[1].split()[0]) > 0
    finally:
        probe.close()
        z2m.close()


def test_edge_scan_without_bluetooth_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/odart-test-bus")
    assert main(["edge", "scan", "--seconds", "1"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("odart edge scan: Bluetooth unavailable")


def test_edge_refuses_a_device_without_its_key_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "edge.toml"
    config.write_text("""
site = "hostel-1"
edge = "pi-1"
[[people]]
participant = "p-1"
room = "room-1"
devices = ["h10-1"]
[[devices]]
id = "h10-1"
model = "polar_h10"
""")
    assert main(["edge", "--config", str(config)]) == 2  # in-process: the same command, faster
    assert capsys.readouterr().err.strip().splitlines() == [
        "odart edge: config devices.0.address: missing: the device's Bluetooth address, "
        "e.g. A0:9E:1A:12:34:56"
    ]
