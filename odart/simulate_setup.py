"""What a scenario run is made of: the simulated clock, generated configs and device links (shell).

**One clock for the whole run.** The physiology and the detector run on sample time, which the
virtual devices pace at ``speed`` simulated seconds per wall second. The server's escalation
timers, the edge's check-in windows and every timestamp in the server's database use
:class:`SimClock`, which runs at the same rate, so a 60 s escalation level lasts 60 simulated
seconds at any speed and every latency in the report is in simulated seconds. What the clock
cannot scale is real work: a hop that takes 5 ms of wall time (MQTT, SQLite, an HTTP push)
shows as ``5 ms x speed`` of simulated time, so the report also gives those hops in wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from edge.transport import DeviceLink
from odart.simulate_framed import door_id, door_link, framed_link
from simulators.devices import VirtualRoom, VirtualWearable
from simulators.framed import FramedRadar, FramedWearable
from simulators.library import SWAP_SUBJECT
from simulators.physiology import Episode, EpisodeKind, PhysiologyStream
from simulators.responders import Behaviour
from simulators.scenario import DeviceKind, Scenario

ALL_DAY: Final = {"opens": "00:00:00", "closes": "23:59:59"}
"""Operating hours for simulated sites: technical alerts are sent at once, whatever the hour."""

OFFLINE_GRACE_S: Final = 30.0
"""Simulated seconds an edge must stay offline before staff are told: shorter than production's
60 s so that a two-minute outage in a scenario shows the whole cycle."""


@dataclass
class SimClock:
    """Simulated time: starts at the wall clock's now and runs ``speed`` times faster."""

    speed: float
    origin_mono: float = field(default_factory=time.monotonic)
    origin: datetime = field(default_factory=lambda: datetime.now(UTC))

    def restart(self) -> None:
        """Make now simulated second zero; the simulated date carries on without a jump back."""
        self.origin = self.now()
        self.origin_mono = time.monotonic()

    def sim_s(self) -> float:
        """Simulated seconds since the start."""
        return (time.monotonic() - self.origin_mono) * self.speed

    def now(self) -> datetime:
        """Simulated wall-clock time (UTC)."""
        return self.origin + timedelta(seconds=self.sim_s())

    def at(self, moment: datetime) -> float:
        """Simulated seconds since the start at ``moment``."""
        return (moment - self.origin).total_seconds()

    def wall_s(self, sim_seconds: float) -> float:
        """Wall seconds that ``sim_seconds`` take."""
        return sim_seconds / self.speed


RECONNECT_MAX_S: Final = 15.0
"""The edge's default reconnect cap at real speed (``[mqtt] reconnect_max_s``)."""
MIN_RECONNECT_S: Final = 0.1
"""The smallest cap the edge config accepts."""


def edge_mapping(
    scenario: Scenario, host: str, port: int, outbox: Path, speed: float = 1.0
) -> dict[str, Any]:
    """The edge config for ``scenario``, as it would be written in a TOML file.

    A framed radar brings its room's door contact, enrolled as ``<radar id>-door``. The edge's
    reconnect backoff runs on the wall clock, so its cap is divided by ``speed``: after a
    simulated outage the edge is back within the same simulated time as at real speed.
    """
    doors = {
        d.id: door_id(d.id) for d in scenario.devices if d.framed and d.kind is DeviceKind.RADAR
    }
    people = [
        {
            "participant": person.participant,
            "room": person.room,
            "devices": [
                device_id
                for d in scenario.devices_of(person.key)
                for device_id in (d.id, doors.get(d.id))
                if device_id is not None
            ],
        }
        for person in scenario.people
    ]
    devices = [
        {
            "id": device.id,
            "role": "wearable" if device.kind is DeviceKind.WEARABLE else "radar",
            "link": "virtual",
        }
        for device in scenario.devices
    ]
    devices += [{"id": door, "role": "door", "link": "virtual"} for door in doors.values()]
    return {
        "site": scenario.site,
        "edge": "sim-edge",
        "outbox": str(outbox),
        "checkin_s": scenario.checkin_s,
        "mqtt": {
            "host": host,
            "port": port,
            "reconnect_max_s": max(MIN_RECONNECT_S, RECONNECT_MAX_S / speed),
        },
        "people": people,
        "devices": devices,
    }


def server_mapping(
    scenario: Scenario,
    work_dir: Path,
    broker: tuple[str, int],
    http_port: int,
    urls: dict[str, str],
) -> dict[str, Any]:
    """The server settings for ``scenario``: its site, rooms, escalation and responders."""
    base = f"http://127.0.0.1:{http_port}"
    return {
        "database": str(work_dir / "server.db"),
        "mqtt": {"host": broker[0], "port": broker[1]},
        "http": {"host": "127.0.0.1", "port": http_port, "public_url": base},
        "edge_offline_grace_s": OFFLINE_GRACE_S,
        "sites": [
            {
                "id": scenario.site,
                "name": scenario.name,
                "rooms": [{"id": room, "label": label} for room, label in scenario.rooms],
                "escalation": dict(scenario.escalation),
                "hours": ALL_DAY,
            }
        ],
        "responders": [
            {"id": r.id, "name": r.name, "urls": [urls[r.id]], "level": r.level}
            for r in scenario.responders
        ],
    }


def behaviours(scenario: Scenario, passwords: dict[str, str]) -> dict[str, Behaviour]:
    """Each virtual responder's behaviour, with their panel password."""
    return {
        r.id: Behaviour(
            level=r.level,
            ack_after_s=r.ack_after_s,
            en_route_after_s=r.en_route_after_s,
            on_scene_after_s=r.on_scene_after_s,
            resolve_after_s=r.resolve_after_s,
            outcome=r.outcome,
            naloxone_doses=r.naloxone_doses,
            password=passwords.get(r.id),
        )
        for r in scenario.responders
    }


def physiology(scenario: Scenario, key: str) -> PhysiologyStream:
    """Person ``key``'s seeded physiology with every episode of the timeline."""
    person = scenario.person(key)
    episodes = [
        Episode(
            EpisodeKind(event.event),
            event.at_s,
            event.duration_s,
            subject=SWAP_SUBJECT if event.event == EpisodeKind.SENSOR_SWAPPED else None,
            params=dict(event.params),
        )
        for event in scenario.episodes_of(key)
    ]
    return PhysiologyStream(person.params, episodes, np.random.default_rng(person.seed))


SimulatedDevice = VirtualWearable | VirtualRoom | FramedWearable | FramedRadar
"""A device the timeline acts on: paused by ``device_offline``, faulted, or pressed."""


@dataclass
class Rig:
    """The edge's links, and the simulated devices behind them that the timeline acts on."""

    links: dict[str, DeviceLink] = field(default_factory=dict)
    devices: dict[str, SimulatedDevice] = field(default_factory=dict)
    """By device id: has ``paused``; framed devices also ``fault()``, wearables ``press()``."""
    radars: list[FramedRadar] = field(default_factory=list)
    """Framed radars whose ``run()`` must be started and ``close()`` called."""


def build_rig(
    scenario: Scenario, speed: float, clock: Callable[[], float], broker: tuple[str, int]
) -> Rig:
    """One virtual device per scenario device, sharing its person's physiology.

    Args:
        scenario: the checked scenario.
        speed: simulated seconds per wall second.
        clock: the edge's sample clock (simulated seconds), for links that stamp arrivals.
        broker: where framed radars' door contacts are published (zigbee2mqtt).
    """
    rig = Rig()
    for person in scenario.people:
        stream = physiology(scenario, person.key)
        for device in scenario.devices_of(person.key):
            if device.framed:
                link, simulated = framed_link(device, person, stream, speed, clock)
                rig.links[device.id], rig.devices[device.id] = link, simulated
                if isinstance(simulated, FramedRadar):
                    rig.radars.append(simulated)
                    rig.links[door_id(device.id)] = door_link(simulated, broker, clock, speed)
                continue
            if device.kind is DeviceKind.WEARABLE:
                virtual: VirtualWearable | VirtualRoom = VirtualWearable(
                    device.id,
                    stream,
                    speed,
                    answers_checkin=person.answers_checkin,
                    answer_delay_s=person.answer_delay_s,
                )
            else:
                virtual = VirtualRoom(device.id, stream.room(), speed)
            rig.links[device.id] = rig.devices[device.id] = virtual
    return rig
