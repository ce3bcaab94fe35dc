"""A wearable that falls silent becomes ``no_signal`` through the agent's detector watchdog."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.agent import EdgeAgent
from edge.outbox import Outbox
from firmware_bridge.wire import AlertBody, AlertKind, DeviceBody
from simulators.devices import WEARABLE_CHANNELS
from simulators.physiology import PhysiologyStream, SubjectParams
from tests.edge.test_agent_checkin import edge_config, waiting


class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _kinds(outbox: Outbox) -> list[AlertKind]:
    return [e.body.alert_kind for e in waiting(outbox) if isinstance(e.body, AlertBody)]


def test_agent_watchdog_turns_silence_into_no_signal(tmp_path: Path) -> None:
    config = edge_config(tmp_path / "outbox.db")
    outbox = Outbox(config.outbox)
    clock = FakeClock()
    agent = EdgeAgent(config, [], outbox, clock=clock)
    person = next(iter(agent.people.values()))
    device = config.people[0].devices[0]
    stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(3))
    for _ in range(90):  # a minute and a half of normal breathing, one block per second
        for block in stream.advance_blocks(1.0, device):
            if block.channel in WEARABLE_CHANNELS:
                agent.handle_block(block)
        clock.now_s += 1.0
    assert AlertKind.NO_SIGNAL not in _kinds(outbox)
    # A link that reports no state of its own is announced as connected, once.
    states = [e.body.state for e in waiting(outbox) if isinstance(e.body, DeviceBody)]
    assert states == ["connected"]
    assert person.sample_clock_now(clock()) == 91.0  # last block ended at 90 s, 1 s ago

    # The wearable stops sending. Without the watchdog nothing would ever happen now.
    for _ in range(45):
        clock.now_s += 1.0
        agent.advance_detectors()
    assert AlertKind.NO_SIGNAL in _kinds(outbox)
    assert AlertKind.APNOEA not in _kinds(outbox)  # silence is never read as an apnoea
