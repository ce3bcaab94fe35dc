#!/usr/bin/env python3
"""Run a real-device edge config under ``odart edge`` with stand-ins for the hardware.

Usage: .venv/bin/python scripts/rehearse_site.py [examples/edge-site.toml] [--seconds 30]

Only what the machine lacks is replaced, and nothing inside ``odart edge`` is: BlueZ is BlueZoo
on a private D-Bus with an emulated peripheral at each BLE device's address (by model); each
UART radar's port is a pseudo-terminal fed MR60BHA1 frames; zigbee2mqtt door sensors report on a
loopback Mosquitto (the config's broker is pointed at it); GPIO pins come from gpiozero's mock
pin factory. The config's devices, models and keys are used as written. Prints the edge's own
per-link report at the end. Needs dbus-daemon, BlueZoo (test extra) and Mosquitto.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firmware_bridge import Mr60Frame, encode_mr60bha1  # noqa: E402
from odart.broker import MosquittoBroker  # noqa: E402
from tests.bluez.harness import BluezStandIn  # noqa: E402
from tests.bluez.wearable import (  # noqa: E402
    EmulatedHeartRateStrap,
    EmulatedOximeter,
    EmulatedPolarH10,
    EmulatedWearable,
)
from tests.mqtt_probe import MqttProbe  # noqa: E402

EDGE_ADAPTER = "00:00:00:00:00:01"
PERIPHERALS = {
    "polar_h10": EmulatedPolarH10,
    "ble_hr": EmulatedHeartRateStrap,
    "ble_plx": EmulatedOximeter,
    "odart_wearable": EmulatedWearable,
}
RADAR_FRAMES = b"".join(
    encode_mr60bha1(frame)
    for frame in (
        Mr60Frame(0x80, 0x01, b"\x01"),
        Mr60Frame(0x85, 0x02, bytes([64])),
        Mr60Frame(0x81, 0x05, bytes([128, 140, 150, 140, 128])),
    )
)


def _toml_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str | int | float | bool) else repr(value)


def _write_toml(data: dict[str, Any], path: Path) -> None:
    """Enough TOML for an edge config: top-level keys, tables and arrays of tables."""
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    lines += [f"{key} = {_toml_value(value)}" for key, value in scalars.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list):
            for item in value:
                lines.append(f"[[{key}]]")
                for k, v in item.items():
                    if isinstance(v, dict):
                        continue
                    text = json.dumps(v) if isinstance(v, list) else _toml_value(v)
                    lines.append(f"{k} = {text}")
                for k, v in item.items():
                    if isinstance(v, dict):
                        lines.append(f"[{key}.{k}]")
                        lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    path.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def _peripherals(bus: str, models: list[str]) -> Iterator[None]:
    stop, started = threading.Event(), threading.Event()

    async def serve() -> None:
        devices = [PERIPHERALS[model](bus, i + 1) for i, model in enumerate(models)]
        try:
            for device in devices:
                await device.start()
            started.set()
            await asyncio.to_thread(stop.wait)
        finally:
            for device in devices:
                await device.stop()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    if not started.wait(60):
        message = "emulated peripherals did not start"
        raise RuntimeError(message)
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


@contextlib.contextmanager
def _radars(count: int) -> Iterator[list[str]]:
    pairs = [os.openpty() for _ in range(count)]
    stop = threading.Event()

    def write() -> None:
        while not stop.wait(0.2):
            for master, _ in pairs:
                with contextlib.suppress(OSError):
                    os.write(master, RADAR_FRAMES)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield [os.ttyname(slave) for _, slave in pairs]
    finally:
        stop.set()
        thread.join()
        for pair in pairs:
            for fd in pair:
                os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", type=Path, default=ROOT / "examples/edge-site.toml")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run (30)")
    args = parser.parse_args()
    data = tomllib.loads(args.config.read_text())
    devices = data.get("devices", [])
    ble = [d for d in devices if d.get("model") in PERIPHERALS]
    radars = [d for d in devices if d.get("model") in ("mr60bha1", "ld2410")]
    doors = [d for d in devices if d.get("model") == "z2m_door"]
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        MosquittoBroker() as broker,
        _radars(len(radars)) as ports,
    ):
        tmp = Path(tmp_name)
        data["outbox"] = str(tmp / "outbox.db")
        data["health"] = {**data.get("health", {}), "file": str(tmp / "edge-health.json")}
        data["mqtt"] = {**data.get("mqtt", {}), "host": broker.host, "port": broker.port}
        for radar, port in zip(radars, ports, strict=True):
            radar["port"] = port
        for door in doors:
            door.pop("broker", None)
        config = tmp / "edge.toml"
        _write_toml(data, config)
        adapters = [EDGE_ADAPTER] + [d["address"] for d in ble]
        with (
            BluezStandIn(tmp, adapters) as bluez,
            _peripherals(bluez.address, [d["model"] for d in ble]),
        ):
            z2m = MqttProbe(broker.host, broker.port)
            for door in doors:
                z2m.publish(door["topic"], b'{"contact": true, "battery": 91}', retain=True)
            env = {
                **os.environ,
                "DBUS_SYSTEM_BUS_ADDRESS": bluez.address,
                "GPIOZERO_PIN_FACTORY": "mock",
                "PYTHONUNBUFFERED": "1",
            }
            command = [sys.executable, "-m", "odart.cli", "edge", "--config", str(config)]
            command += ["--status-every", "5"]
            print(f"$ odart edge --config {args.config.name}   (stand-ins: see the docstring)")
            edge = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
            time.sleep(args.seconds)
            edge.terminate()
            _, log = edge.communicate(timeout=15)
            z2m.close()
    lines = [line for line in log.splitlines() if "odart edge: link " in line]
    print("\n".join(lines[-len(devices) :]) or log[-3000:])  # the last report
    return 0


if __name__ == "__main__":
    sys.exit(main())
