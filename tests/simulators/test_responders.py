"""Virtual responders against the real server: pushes in, signed links and the alert API out."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware_bridge.wire import AlertKind, IdMinter, Severity
from odart.broker import MosquittoBroker, free_port
from odart.stack import serve, shut_down
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.domain.alerts import Alert, AlertState
from simulators.responders import Behaviour, VirtualResponders

SITE = "sim-site"
WAIT_S = 20.0


def _alert() -> Alert:
    now = datetime.now(UTC)
    return Alert(
        alert_id=IdMinter().mint(int(now.timestamp() * 1000), os.urandom(10)),
        site_id=SITE,
        edge_id="edge-1",
        kind=AlertKind.APNOEA,
        severity=Severity.CRITICAL,
        detected_at=now,
        onset_at=now,
        stored_at=now,
        room_id="room-1",
    )


async def _run(
    tmp_path: Path, broker: MosquittoBroker, behaviour: Behaviour
) -> tuple[VirtualResponders, Alert]:
    port = free_port()
    start = time.monotonic()
    phones = VirtualResponders(
        {"night": behaviour}, f"http://127.0.0.1:{port}", lambda: time.monotonic() - start
    ).start()
    settings = settings_from_mapping(
        {
            "database": str(tmp_path / "server.db"),
            "mqtt": {"host": broker.host, "port": broker.port},
            "http": {"port": port, "public_url": f"http://127.0.0.1:{port}"},
            "sites": [{"id": SITE, "name": "Sim", "rooms": [{"id": "room-1", "label": "Room 1"}]}],
            "responders": [{"id": "night", "name": "Night", "urls": [phones.url("night")]}],
        }
    )
    app = create_app(settings)
    server, task = await serve(app, port)
    try:
        if behaviour.password is not None:
            app.state.services.users.create("night", Role.RESPONDER, behaviour.password)
        alert = _alert()
        app.state.services.escalator.admit(alert)
        deadline = time.monotonic() + WAIT_S
        wanted = sum(
            d is not None
            for d in (
                behaviour.ack_after_s,
                behaviour.en_route_after_s,
                behaviour.on_scene_after_s,
                behaviour.resolve_after_s,
            )
        )
        # The phones live on other threads: poll them.
        while time.monotonic() < deadline and (len(phones.steps) < wanted or not phones.pushes):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        stored = app.state.services.store.alert(alert.alert_id)
        assert stored is not None
        return phones, stored
    finally:
        phones.stop()
        await shut_down(server, task)


@pytest.mark.integration
def test_responders_walk_an_alert_from_page_to_resolved(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    behaviour = Behaviour(
        ack_after_s=0.1,
        en_route_after_s=0.3,
        on_scene_after_s=0.6,
        resolve_after_s=1.0,
        outcome="naloxone_given",
        naloxone_doses=2,
        password=secrets.token_urlsafe(16),
    )
    phones, stored = asyncio.run(_run(tmp_path, mosquitto, behaviour))
    assert phones.pushes[0].is_page
    assert set(phones.pushes[0].links) == {"ack", "en_route"}
    assert [(s.action, s.status) for s in phones.steps] == [
        ("ack", 200),
        ("en_route", 200),
        ("on_scene", 200),
        ("resolve", 200),
    ]
    assert stored.state is AlertState.RESOLVED
    assert stored.outcome == "naloxone_given"
    assert stored.assignee == "night"


@pytest.mark.integration
def test_responders_that_never_answer_take_no_step(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    phones, stored = asyncio.run(_run(tmp_path, mosquitto, Behaviour()))
    assert not Behaviour().answers
    assert phones.pushes
    assert phones.steps == []
    assert stored.state is AlertState.TRIGGERED


def test_responders_ignore_pushes_without_links_and_act_once_per_alert() -> None:
    phones = VirtualResponders({"night": Behaviour(ack_after_s=100.0)}, "http://x", lambda: 1.0)
    claim = phones.received("night", '{"title": "Sam is responding", "message": "Open /alerts/x"}')
    assert not claim.is_page
    text = (
        "Room 1: no breathing detected.\\nAcknowledge: http://x/act/a\\n"
        "On my way: http://x/act/b\\nOpen http://x/alerts/01J0000000000000000000000A"
    )
    page = phones.received("night", '{"title": "URGENT", "message": "' + text + '"}')
    again = phones.received("night", '{"title": "URGENT", "message": "' + text + '"}')
    assert page.is_page
    assert page.alert_id == again.alert_id == "01J0000000000000000000000A"
    assert page.links == {"ack": "http://x/act/a", "en_route": "http://x/act/b"}
    assert len(phones._timers) == 1  # the repeat page schedules nothing more
    phones.stop()


def test_responders_refuse_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        VirtualResponders({}, "http://x", lambda: 0.0, speed=0)
