"""``odart simulate``: run a scenario through the real stack and check it (shell, orchestration).

Starts a broker (Mosquitto when installed), a relay that can cut the edge's network, the server
on the scenario's simulated clock, virtual responders, and an edge agent whose devices play the
scenario's people; then plays the timeline's system events (network loss, device faults, button
presses), and at the end reads every alert's hops back from the server and the responders and
checks the expectations. See :mod:`odart.simulate_setup` for how time is kept under ``speed``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from fastapi import FastAPI

from edge.agent import EdgeAgent
from edge.config import config_from_mapping
from edge.outbox import Outbox
from firmware_bridge.samples import SampleBlock
from firmware_bridge.wire import Envelope
from odart.broker import free_port, start_demo_broker
from odart.simulate_framed import publish_doors
from odart.simulate_observe import observe
from odart.simulate_report import Report
from odart.simulate_setup import (
    SimClock,
    SimulatedDevice,
    behaviours,
    build_rig,
    edge_mapping,
    server_mapping,
)
from odart.stack import cancel, serve, shut_down
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.privacy.enrol import enrol_consented
from server.web.deps import app_context, app_services
from simulators.devices import VirtualWearable
from simulators.framed import FramedRadar, FramedWearable
from simulators.netcut import NetworkCut
from simulators.responders import VirtualResponders
from simulators.scenario import DeviceKind, Scenario, SystemEvent, TimelineEvent
from simulators.scenario_expect import check

_LOGGER = logging.getLogger(__name__)

TICK_WALL_S: Final = 0.05
"""The runner fires due escalation timers this often (wall seconds). The server's own loop
ticks once a wall second, which at speed 40 would be 40 simulated seconds of slack."""

PROGRESS_EVERY_S: Final = 30.0
"""Simulated seconds between progress lines on stderr."""

SETTLE_WALL_S: Final = 0.5
"""Wall seconds to wait after the end for sends and acks already under way."""

FIRST_BLOCK_WALL_S: Final = 30.0
"""Wall seconds the devices may take to send their first block before the run is abandoned."""

SIGNAL_EVERY_S: Final = 0.1
"""Signals kept for the plot are thinned to one sample per 0.1 s: enough to see breaths."""


@dataclass
class Tap:
    """Keeps a thinned copy of every sample block the edge got, and how far devices lagged."""

    clock: SimClock
    signals: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    max_lag_s: float = 0.0
    first: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at the first block: simulated second zero is when the devices started."""

    def record(self, block: SampleBlock) -> None:
        """Keep ``block``'s samples, one per :data:`SIGNAL_EVERY_S`."""
        if not self.first.is_set():
            self.clock.restart()
            self.first.set()
        step = max(1, round(block.fs_hz * SIGNAL_EVERY_S))
        series = self.signals.setdefault(f"{block.device_id}/{block.channel.value}", [])
        series.extend(
            (block.t0_s + i / block.fs_hz, block.values[i])
            for i in range(0, len(block.values), step)
        )
        self.max_lag_s = max(self.max_lag_s, self.clock.sim_s() - block.end_s)


class _TappedAgent(EdgeAgent):
    """The real edge agent, with every sample block also shown to a :class:`Tap`."""

    tap: Tap

    def handle_block(self, block: SampleBlock) -> list[Envelope]:
        self.tap.record(block)
        return super().handle_block(block)


async def _tick(app: FastAPI) -> None:
    escalator = app_services(app).escalator
    while True:
        escalator.tick()
        await asyncio.sleep(TICK_WALL_S)


async def _until(clock: SimClock, at_s: float) -> None:
    wait = clock.wall_s(at_s - clock.sim_s())
    if wait > 0:
        await asyncio.sleep(wait)


def _framed(devices: dict[str, SimulatedDevice], device_id: str) -> FramedWearable | FramedRadar:
    """The framed device a fault event names (the scenario check refuses faults on others)."""
    device = devices[device_id]
    if not isinstance(device, FramedWearable | FramedRadar):
        message = f"{device_id} does not speak frames, so it cannot be faulted"
        raise TypeError(message)
    return device


def _wearable(
    devices: dict[str, SimulatedDevice], device_id: str
) -> VirtualWearable | FramedWearable:
    """The wearable a button event presses (the scenario check refuses a person without one)."""
    device = devices[device_id]
    if not isinstance(device, VirtualWearable | FramedWearable):
        message = f"{device_id} is not a wearable, so it has no button"
        raise TypeError(message)
    return device


async def _play(
    events: tuple[TimelineEvent, ...],
    clock: SimClock,
    devices: dict[str, SimulatedDevice],
    relay: NetworkCut,
    wearables: dict[str, str],
    played: list[tuple[float, str]],
) -> None:
    """Carry out the timeline's system events (physiology is already in the devices)."""
    ends: list[tuple[float, TimelineEvent]] = []
    for event in events:
        await _until(clock, event.at_s)
        played.append((clock.sim_s(), event.event))
        match event.event:
            case SystemEvent.EDGE_OFFLINE:
                relay.cut()
            case SystemEvent.DEVICE_OFFLINE:
                devices[event.device or ""].paused = True
            case SystemEvent.BUTTON:
                _wearable(devices, wearables[event.person or ""]).press()
            case _:
                _framed(devices, event.device or "").fault(event)
        if event.duration_s is not None and event.event in (
            SystemEvent.EDGE_OFFLINE,
            SystemEvent.DEVICE_OFFLINE,
        ):
            ends.append((event.at_s + event.duration_s, event))
    for end_s, event in sorted(ends, key=lambda e: e[0]):
        await _until(clock, end_s)
        if event.event == SystemEvent.EDGE_OFFLINE:
            await relay.restore()
        else:
            devices[event.device or ""].paused = False
        played.append((clock.sim_s(), f"{event.event} ends"))


async def run_scenario(
    scenario: Scenario,
    *,
    speed: float | None = None,
    progress: TextIO = sys.stderr,
) -> Report:
    """Run ``scenario`` once and return its report (``speed`` overrides the scenario's)."""
    pace = speed or scenario.speed
    clock = SimClock(pace)
    work_dir = Path(tempfile.mkdtemp(prefix="odart-sim-"))
    started_wall = time.monotonic()
    broker = await asyncio.to_thread(start_demo_broker)
    relay = await NetworkCut(broker.host, broker.port).start()
    port = free_port()
    passwords = {r.id: secrets.token_urlsafe(16) for r in scenario.responders}
    phones = VirtualResponders(
        behaviours(scenario, passwords), f"http://127.0.0.1:{port}", clock.sim_s, pace
    ).start()
    urls = {r.id: phones.url(r.id) for r in scenario.responders}
    settings = settings_from_mapping(
        server_mapping(scenario, work_dir, (broker.host, broker.port), port, urls)
    )
    app = create_app(settings, now=clock.now)
    server = server_task = agent_task = ticker = player = None
    radars: list[asyncio.Task[None]] = []
    rig = None
    outbox: Outbox | None = None
    played: list[tuple[float, str]] = []
    tap = Tap(clock)
    try:
        server, server_task = await serve(app, port)
        services = app_services(app)
        for responder in scenario.responders:
            services.users.create(responder.id, Role.RESPONDER, passwords[responder.id])
        for person in scenario.people:  # every simulated resident has consented, in writing
            enrol_consented(
                services.store.db,
                app_context(app).now,
                site_id=scenario.site,
                device_id=scenario.devices_of(person.key)[0].id,
                room_id=person.room,
                participant_id=person.participant,
                by=scenario.responders[0].id,
            )
        config = config_from_mapping(
            edge_mapping(scenario, "127.0.0.1", relay.port, work_dir / "outbox.db", pace)
        )
        outbox = Outbox(config.outbox)
        rig = build_rig(scenario, pace, clock.sim_s, (broker.host, broker.port))
        radars = [asyncio.create_task(r.run(), name=r.device_id) for r in rig.radars]
        radars += [
            asyncio.create_task(publish_doors(r, (broker.host, broker.port)), name="doors")
            for r in rig.radars
        ]
        print(
            f"odart simulate {scenario.name}: {scenario.duration_s:.0f} s at x{pace:g} "
            f"(broker {broker.name})",
            file=progress,
            flush=True,
        )
        agent = _TappedAgent(
            config, list(rig.links.values()), outbox, now=clock.now, clock=clock.sim_s
        )
        agent.tap = tap
        agent_task = asyncio.create_task(agent.run(), name="edge")
        ticker = asyncio.create_task(_tick(app), name="escalation-ticks")
        await asyncio.wait_for(tap.first.wait(), timeout=FIRST_BLOCK_WALL_S)
        system = tuple(e for e in scenario.timeline if not e.is_episode)
        wearables = {d.person: d.id for d in scenario.devices if d.kind is DeviceKind.WEARABLE}
        player = asyncio.create_task(
            _play(system, clock, rig.devices, relay, wearables, played), name="timeline"
        )
        next_progress = 0.0
        while (now_s := clock.sim_s()) < scenario.duration_s:
            for task in (agent_task, player):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    task.result()  # surfaces a crash
            if now_s >= next_progress:
                store = services.store
                print(
                    f"  t={now_s:5.0f}s  alerts {store.count_alerts()}  "
                    f"pushes {len(phones.pushes)}  steps {len(phones.steps)}  outbox {len(outbox)}",
                    file=progress,
                    flush=True,
                )
                next_progress += PROGRESS_EVERY_S
            await asyncio.sleep(min(0.2, clock.wall_s(scenario.duration_s - now_s)))
        await asyncio.sleep(SETTLE_WALL_S)
        observed = observe(scenario, clock, services.store, agent.alerts, phones)
        verdicts = check(scenario.expect, observed.observation)
        return Report(
            scenario=scenario,
            speed=pace,
            broker=broker.name,
            wall_s=time.monotonic() - started_wall,
            observed=observed,
            verdicts=verdicts,
            played=tuple(played),
            signals={k: tuple(v) for k, v in tap.signals.items()},
            max_lag_s=tap.max_lag_s,
            counts=dict(agent.counts),
        )
    finally:
        for started in (player, ticker, agent_task, *radars):
            await cancel(started)
        for radar in rig.radars if rig is not None else ():
            radar.close()
        if server is not None and server_task is not None:
            await shut_down(server, server_task)
        if outbox is not None:
            outbox.close()
        phones.stop()
        await relay.aclose()
        await asyncio.to_thread(broker.stop)
