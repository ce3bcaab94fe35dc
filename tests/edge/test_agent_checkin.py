"""The agent's check-in, button and commands with virtual wearables and no server reachable.

The broker address points at a closed port, so everything the agent decides must wait in the
durable outbox: that is what "works with the server unreachable" means at the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.agent import EdgeAgent
from edge.config import EdgeConfig
from edge.detector import DetectionEvent, EventKind, Severity
from edge.outbox import Outbox
from firmware_bridge import AlertLevel
from firmware_bridge.wire import (
    AlertBody,
    AlertKind,
    AlertUpdate,
    CommandBody,
    Envelope,
    MessageKind,
    UpdateBody,
    encode_ulid,
)
from odart.links import build_links
from simulators.devices import VirtualWearable
from simulators.framed import FramedWearable
from tests.integration.edge_thread import edge_config as shared_edge_config
from tests.integration.edge_thread import virtual_wearables

# Virtual devices run ten times real time (edge_thread): a 2 s simulated answer takes 0.2 s.


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class NoBroker:
    """A loopback port nobody listens on."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=closed_port)


def edge_config(outbox: Path, *, answers: bool = True, **settings: Any) -> EdgeConfig:
    settings.setdefault("checkin_s", 1.0)
    return shared_edge_config(
        NoBroker(), outbox, answers_checkin=answers, answer_delay_s=2.0, **settings
    )


def event(
    kind: EventKind = EventKind.RESPIRATORY_DEPRESSION, severity: Severity = Severity.WARNING
) -> DetectionEvent:
    return DetectionEvent(kind, severity, 30.0, 20.0, {"rate_bpm": 5.0})


def alert_body(envelope: Envelope) -> AlertBody:
    assert isinstance(envelope.body, AlertBody)
    return envelope.body


def waiting(outbox: Outbox) -> list[Envelope]:
    return [entry.envelope for entry in outbox.due(float("inf"), limit=1000)]


def updates(outbox: Outbox) -> list[tuple[str, AlertUpdate]]:
    return [(e.body.of, e.body.update) for e in waiting(outbox) if isinstance(e.body, UpdateBody)]


def command(name: str, args: dict[str, Any]) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(
        encode_ulid(int(now.timestamp() * 1000), 1),
        MessageKind.CMD,
        "hostel-1",
        "pi-1",
        now,
        CommandBody(name, args),
    )


async def until(what: str, done: Callable[[], bool], timeout_s: float = 5.0) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout_s:
            message = f"timed out after {timeout_s} s waiting for {what}"
            raise AssertionError(message)
        await asyncio.sleep(0.01)
    return time.monotonic() - start


@contextlib.asynccontextmanager
async def running(
    config: EdgeConfig,
) -> AsyncIterator[tuple[EdgeAgent, list[VirtualWearable | FramedWearable]]]:
    outbox = Outbox(":memory:")
    links = build_links(config)
    agent = EdgeAgent(config, links, outbox)
    task = asyncio.create_task(agent.run())
    wearables = virtual_wearables(links)
    try:
        await until("wearables streaming", lambda: all(w.streaming for w in wearables))
        yield agent, wearables
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        outbox.close()


def test_agent_checkin_answered_by_the_wearer_cancels_offline(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(edge_config(tmp_path / "o.db")) as (agent, (wearable,)):
            alert = agent.handle_event("p-0001", "wearable-1", event())
            assert alert_body(alert).checkin_s == 1.0
            await until("buzz on", lambda: wearable.buzzing)
            # The wearer presses after 2 simulated seconds (0.2 s); the edge stops the buzz.
            await until("buzz off", lambda: wearable.alerts[-1:] == [AlertLevel.NO_ALERT])
            assert wearable.alerts == [AlertLevel.HIGH_ALERT, AlertLevel.NO_ALERT]
            assert updates(agent.outbox) == [(alert.msg_id, AlertUpdate.CANCELLED_BY_WEARER)]
            await asyncio.sleep(1.2)  # past the window: nothing else happens
            assert updates(agent.outbox) == [(alert.msg_id, AlertUpdate.CANCELLED_BY_WEARER)]
            alerts = [e for e in waiting(agent.outbox) if isinstance(e.body, AlertBody)]
            assert [e.msg_id for e in alerts] == [alert.msg_id]

    asyncio.run(scenario())


def test_agent_checkin_unanswered_expires_after_the_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = edge_config(tmp_path / "o.db", answers=False)
        async with running(config) as (agent, (wearable,)):
            alert = agent.handle_event("p-0001", "wearable-1", event())
            await until("buzz on", lambda: wearable.buzzing)
            waited_s = await until("check-in expired", lambda: bool(updates(agent.outbox)))
            assert 0.7 < waited_s < 4.0  # not before the window; the upper bound allows a busy CI
            assert updates(agent.outbox) == [(alert.msg_id, AlertUpdate.CHECKIN_EXPIRED)]
            await until("buzz off", lambda: not wearable.buzzing)
            # A press now, with no question asked, is a call for help.
            wearable.press()
            await until("help alert", lambda: agent.counts["alert_button"] == 1)
            (help_alert,) = [
                a for a in agent.alerts if alert_body(a).alert_kind is AlertKind.BUTTON
            ]
            assert alert_body(help_alert).severity.value == "critical"
            assert alert_body(help_alert).checkin_s is None
            assert not wearable.buzzing

    asyncio.run(scenario())


def test_agent_critical_event_pages_at_once_and_ends_the_checkin(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = edge_config(tmp_path / "o.db", answers=False, checkin_s=20.0)
        async with running(config) as (agent, (wearable,)):
            critical = agent.handle_event("p-0001", "wearable-1", event(severity=Severity.CRITICAL))
            assert alert_body(critical).checkin_s is None
            await asyncio.sleep(0.2)
            assert wearable.alerts == []
            warning = agent.handle_event("p-0001", "wearable-1", event())
            assert alert_body(warning).checkin_s == 20.0
            await until("buzz on", lambda: wearable.buzzing)
            apnoea = agent.handle_event(
                "p-0001", "wearable-1", event(EventKind.APNOEA, Severity.CRITICAL)
            )
            assert alert_body(apnoea).checkin_s is None
            assert updates(agent.outbox) == [(warning.msg_id, AlertUpdate.CHECKIN_EXPIRED)]
            await until("buzz off", lambda: not wearable.buzzing)

    asyncio.run(scenario())


def test_agent_commands_cancel_checkin_drill_and_ignore_unknown(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = edge_config(tmp_path / "o.db", answers=False, checkin_s=20.0, people=2)
        async with running(config) as (agent, (first, second)):
            alert = agent.handle_event("p-0002", "wearable-2", event())
            await until("buzz on", lambda: second.buzzing)
            await agent.handle_command(command("checkin_cancel", {"alert": alert.msg_id}))
            await until("buzz off", lambda: not second.buzzing)
            assert updates(agent.outbox) == []
            assert not agent.people["p-0002"].checkin.open

            await agent.handle_command(command("drill", {"drill": "drill-7"}))
            (drill,) = [a for a in agent.alerts if alert_body(a).alert_kind is AlertKind.TEST]
            assert drill.participant_id == "p-0001"
            assert dict(alert_body(drill).evidence) == {"drill": "drill-7"}
            assert alert_body(drill).severity.value == "critical"
            assert drill.msg_id in agent.outbox

            await agent.handle_command(command("reboot", {}))
            assert agent.counts["unknown_commands"] == 1
            assert first.alerts == []

    asyncio.run(scenario())


def test_agent_checkin_zero_turns_checkins_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(edge_config(tmp_path / "o.db", checkin_s=0.0)) as (agent, (w,)):
            alert = agent.handle_event("p-0001", "wearable-1", event())
            assert alert_body(alert).checkin_s is None
            await asyncio.sleep(0.2)
            assert w.alerts == []

    asyncio.run(scenario())


def test_agent_links_fit_the_device_link_and_buzzer_protocols() -> None:
    """Conformance: the virtual wearable buzzes exactly as the BLE link does; a room cannot."""
    import inspect

    from edge.ble import BleakDeviceLink
    from edge.notify_decode import NotificationLink
    from edge.transport import Buzzer, DeviceLink
    from simulators.devices import VirtualRoom

    config = edge_config(Path("unused.db"))
    (wearable,) = build_links(config)
    assert isinstance(wearable, DeviceLink)
    assert isinstance(wearable, Buzzer)
    assert wearable.checkin_possible
    assert not hasattr(VirtualRoom, "alert")
    expected = inspect.signature(Buzzer.alert)
    for implementation in (VirtualWearable.alert, NotificationLink.alert, BleakDeviceLink.alert):
        assert inspect.iscoroutinefunction(implementation)
        assert inspect.signature(implementation) == expected
