"""Raw signals never leave the edge: a marker value in a raw stream is found nowhere afterwards.

A unique value is injected into the wearable's raw accelerometer stream. The whole chain then
runs for real (edge agent, Mosquitto, server, apprise, HTTP receiver) until an apnoea alert has
been stored and pushed. Afterwards the marker must not appear in any MQTT message (captured on
``#``), the server database, the edge outbox, any log record, or any file the run wrote.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from edge.agent import EdgeAgent
from edge.config import config_from_mapping
from edge.outbox import Outbox
from firmware_bridge.samples import Channel, SampleBlock
from odart.broker import MosquittoBroker
from server.app import create_app
from server.config import settings_from_mapping
from server.store.db import Store
from simulators.devices import WEARABLE_CHANNELS
from simulators.physiology import Episode, EpisodeKind, PhysiologyStream, SubjectParams
from simulators.receiver import NotificationReceiver
from tests.db_probe import column
from tests.mqtt_probe import MqttProbe, wait_until

pytestmark = pytest.mark.integration

HR_MARKER_BPM = 72.8123456789012
"""A plausible heart rate whose digits occur nowhere by chance."""
ACC_NUDGE_G = 1.23456789e-6
"""Added to one raw accelerometer sample per block: invisible to the detector, unique as a value."""
SPEED = 20.0


class MarkedWearable:
    """A chest wearable whose raw streams carry marker values; it remembers each one it sent."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.markers: set[float] = set()
        self.physiology = PhysiologyStream(
            SubjectParams(), [Episode(EpisodeKind.ABRUPT_APNOEA, 40.0)], np.random.default_rng(7)
        )

    async def stream(self) -> AsyncIterator[SampleBlock]:
        while True:
            for block in self.physiology.advance_blocks(1.0, self.device_id):
                if block.channel not in WEARABLE_CHANNELS:
                    continue
                if block.values and block.channel in (Channel.ACC_X, Channel.HR):
                    values = list(block.values)
                    middle = len(values) // 2
                    if block.channel is Channel.HR:
                        values[middle] = HR_MARKER_BPM
                    else:
                        values[middle] += ACC_NUDGE_G
                    self.markers.add(values[middle])
                    block = replace(block, values=tuple(values))
                yield block
            await asyncio.sleep(1.0 / SPEED)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _run_agent(make: Callable[[], EdgeAgent], stop: threading.Event) -> None:
    async def main() -> None:
        task = asyncio.create_task(make().run())  # made on its own loop, as in production
        await asyncio.to_thread(stop.wait)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_canary_raw_marker_never_leaves_the_edge(
    tmp_path: Path, mosquitto: MosquittoBroker, receiver: NotificationReceiver
) -> None:
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    stop = threading.Event()
    try:
        settings = settings_from_mapping(
            {
                "database": str(tmp_path / "server.db"),
                "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
                "sites": [{"id": "hostel-1", "name": "Hostel"}],
                "responders": [{"id": "staff", "name": "Staff", "urls": [receiver.url("/staff")]}],
            }
        )
        store = Store(settings.database)
        config = config_from_mapping(
            {
                "site": "hostel-1",
                "edge": "pi-1",
                "outbox": str(tmp_path / "outbox.db"),
                "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
                "people": [{"participant": "p-0042", "room": "room-4", "devices": ["wearable-4"]}],
                "devices": [{"id": "wearable-4", "role": "wearable", "link": "virtual"}],
            }
        )
        wearable = MarkedWearable("wearable-4")
        with (
            TestClient(create_app(settings, store=store)) as client,
            MqttProbe(mosquitto.host, mosquitto.port, "#") as wiretap,
        ):
            assert wait_until(lambda: client.get("/api/health").json()["mqtt_connected"])
            runner = threading.Thread(
                target=_run_agent,
                args=(lambda: EdgeAgent(config, [wearable], Outbox(config.outbox)), stop),
                daemon=True,
            )
            runner.start()
            try:
                assert wait_until(
                    lambda: "apnoea" in column(store, "SELECT kind FROM alerts"), timeout_s=60
                ), "the chain never produced the apnoea alert"
                assert receiver.wait_for(1, timeout_s=10)
            finally:
                stop.set()
                runner.join(15)
            traffic = [payload for _, payload, _ in wiretap.messages]
        dump = "\n".join(store.db.conn.iterdump())
        store.close()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)

    assert traffic, "the wiretap saw nothing: the test would prove nothing"
    places: dict[str, bytes] = {
        "mqtt": b"\n".join(traffic),
        "server database": dump.encode(),
        "logs": "\n".join(capture.lines).encode(),
        "pushes": "\n".join(p.text for p in receiver.pushes).encode(),
    }
    for folder in (tmp_path, mosquitto.data_dir):
        for path in folder.rglob("*"):
            if path.is_file():
                places[f"file {path.name}"] = path.read_bytes()
    assert len(wearable.markers) > 30
    needles = {repr(m).encode() for m in wearable.markers} | {
        struct.pack(fmt, m) for m in wearable.markers for fmt in ("<d", ">d")
    }
    needles.add(b"72.81234")  # the heart-rate marker, even if rounded a little
    leaks = sorted({where for where, data in places.items() for n in needles if n in data})
    assert leaks == []
    # The run did move data: the alert and its evidence crossed the network and were stored.
    assert b'"alert_kind":"apnoea"' in places["mqtt"]
