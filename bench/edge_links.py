"""Edge memory with 20 links: real-protocol BLE links on BlueZoo beside virtual ones (benchmark).

Run: ``odart bench links`` (``--devices 20 --settle 20``). Needs dbus-daemon, BlueZoo (test
extra) and Mosquitto, like the BLE tests.

Each run starts a real ``odart edge`` process from a generated TOML against a loopback Mosquitto:

* ``virtual``: one simulated wearable per resident (``link = "virtual"``);
* ``ble``: half Polar H10s (``polar_h10``: PMD accelerometer plus heart rate) and half ODART
  wearables (``odart_wearable``), each an emulated GATT peripheral on its own BlueZoo adapter,
  reached through bleak and BlueZ's D-Bus API exactly as on a Pi.

Once every link reports ``connected`` (the edge's own per-link report) and has run ``--settle``
seconds more, the edge's resident set (VmRSS) and peak (VmHWM) are read from ``/proc``. A figure,
not a test: it prints one line per run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from odart.broker import MosquittoBroker
from tests.bluez.harness import BluezStandIn
from tests.bluez.wearable import EmulatedPolarH10, EmulatedWearable

CONNECT_WAIT_S = 180.0
"""BLE connections are made one at a time (a controller refuses concurrent ones); 20 through
BlueZoo on a loaded 2-core machine take up to a couple of minutes."""
_LINK_LINE = re.compile(r"link (\S+) \((\S+)\): (\w+), (\d+) blocks")


def _address(index: int) -> str:
    return f"C0:DE:00:00:{index // 256:02X}:{index % 256:02X}"


def _toml(tmp: Path, broker: MosquittoBroker, devices: list[str]) -> Path:
    lines = [
        'site = "bench"',
        'edge = "pi-1"',
        f'outbox = "{tmp / "outbox.db"}"',
        "[mqtt]",
        f'host = "{broker.host}"',
        f"port = {broker.port}",
        "[ble]",
        'adapter = "hci0"',
    ]
    for index in range(len(devices)):
        lines += [
            "[[people]]",
            f'participant = "p-{index}"',
            f'room = "room-{index}"',
            f'devices = ["d-{index}"]',
        ]
    for index, device in enumerate(devices):
        lines += ["[[devices]]", f'id = "d-{index}"']
        if device == "virtual":
            lines += [
                'role = "wearable"',
                'link = "virtual"',
                "[devices.virtual]",
                f"seed = {index}",
            ]
        else:
            lines += [f'model = "{device}"', f'address = "{_address(index + 1)}"']
    path = tmp / "edge.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _links(log: str) -> dict[str, tuple[str, int]]:
    """The latest reported state and block count of each link."""
    latest: dict[str, tuple[str, int]] = {}
    for match in _LINK_LINE.finditer(log):
        latest[match.group(1)] = (match.group(3), int(match.group(4)))
    return latest


def _measure(config: Path, env: dict[str, str], count: int, settle_s: float) -> dict[str, object]:
    log_path = config.parent / "edge.log"
    with log_path.open("w") as log:
        edge = subprocess.Popen(
            [
                *(sys.executable, "-m", "odart.cli", "edge"),
                *("--config", str(config), "--status-every", "2"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
    try:
        start = time.monotonic()
        while time.monotonic() - start < CONNECT_WAIT_S and edge.poll() is None:
            links = _links(log_path.read_text())
            up = [d for d, (state, blocks) in links.items() if state == "connected" and blocks]
            if len(up) == count:
                break
            time.sleep(1.0)
        connected_s = time.monotonic() - start
        time.sleep(settle_s)
        links = _links(log_path.read_text())
        return {
            "rss_mib": _proc_kib(edge.pid, "VmRSS") / 1024,
            "peak_mib": _proc_kib(edge.pid, "VmHWM") / 1024,
            "connected": sum(1 for state, _ in links.values() if state == "connected"),
            "blocks": sum(blocks for _, blocks in links.values()),
            "all_up_s": connected_s,
        }
    finally:
        edge.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            edge.wait(10)
        if edge.poll() is None:
            edge.kill()
            edge.wait()


@contextlib.contextmanager
def _peripherals(bus: str, models: list[str]) -> Iterator[None]:
    stop, started = threading.Event(), threading.Event()

    async def serve() -> None:
        devices = [
            EmulatedPolarH10(bus, i + 1) if model == "polar_h10" else EmulatedWearable(bus, i + 1)
            for i, model in enumerate(models)
        ]
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


def run(argv: list[str]) -> int:
    """Measure both runs and print one line each."""
    parser = argparse.ArgumentParser(prog="odart bench links", description=__doc__)
    parser.add_argument("--devices", type=int, default=20, help="links per run (default 20)")
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to run once all are up (default 20)"
    )
    args = parser.parse_args(argv)
    count = int(args.devices)
    models = ["polar_h10" if i % 2 == 0 else "odart_wearable" for i in range(count)]
    print(f"edge RSS with {count} links (odart edge process, VmRSS after {args.settle:.0f} s)")
    with tempfile.TemporaryDirectory() as tmp_name, MosquittoBroker() as broker:
        tmp = Path(tmp_name)
        (tmp / "virtual").mkdir()
        virtual = _measure(
            _toml(tmp / "virtual", broker, ["virtual"] * count),
            dict(os.environ),
            count,
            args.settle,
        )
        _report("virtual", virtual, count)
        (tmp / "ble").mkdir()
        adapters = ["00:00:00:00:00:01"] + [_address(i + 1) for i in range(count)]
        with BluezStandIn(tmp / "ble", adapters) as bluez, _peripherals(bluez.address, models):
            env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bluez.address}
            ble = _measure(_toml(tmp / "ble", broker, models), env, count, args.settle)
        _report("ble (BlueZoo)", ble, count)
    return 0


def _report(name: str, figures: dict[str, object], count: int) -> None:
    print(
        f"  {name:<14} RSS {figures['rss_mib']:6.1f} MiB  peak {figures['peak_mib']:6.1f} MiB  "
        f"links connected {figures['connected']}/{count}  blocks {figures['blocks']}  "
        f"all up after {figures['all_up_s']:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
