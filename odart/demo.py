"""``odart demo``: the whole chain on loopback, with a scripted overdose (shell, orchestration).

Starts a broker (Mosquitto when installed), the server with its panel, one edge agent with three
virtual wearables and one virtual room, and a local receiver standing in for a responder's phone.
About a minute in, one wearer stops breathing; the summary reports every hop of every alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import tempfile
import webbrowser
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

import uvicorn

from edge.agent import EdgeAgent
from edge.config import config_from_mapping
from edge.outbox import Outbox
from firmware_bridge.wire import format_utc
from odart.broker import free_port, start_demo_broker
from odart.links import build_links
from odart.stack import cancel, serve, shut_down
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.privacy.enrol import enrol_consented
from server.store.db import Store
from server.web.deps import app_context, app_services
from simulators.receiver import NotificationReceiver

_LOGGER = logging.getLogger(__name__)

APNOEA_AT_S: Final = 60.0
"""When the scripted wearer stops breathing: long enough for the detector to learn a baseline."""

DETECT_BUDGET_S: Final = 45.0
"""Apnoea fires ~15 s after the last breath; this leaves room for a slow machine, and is how
long after the scripted apnoea the demo must have delivered a notification to count as passing."""

PROGRESS_EVERY_S: Final = 10.0
"""How often the demo prints a progress line."""

DEMO_ADMIN: Final = "demo-admin"
"""The throwaway admin account the demo makes so a newcomer can log in to the panel."""

SITE: Final = "demo-hostel"
Resident = tuple[str, str, str, str, float, list[dict[str, str | float]]]
"""participant, room id, room label, wearable, resting breaths/min, scripted episodes"""
PEOPLE: Final[tuple[Resident, ...]] = (
    ("p-0001", "room-1", "Room 1", "wearable-1", 14.0, []),
    (
        "p-0002",
        "room-2",
        "Room 2",
        "wearable-2",
        12.0,
        [{"kind": "talking", "start_s": 30.0, "duration_s": 40.0}],
    ),
    (
        "p-0003",
        "room-3",
        "Room 3",
        "wearable-3",
        16.0,
        [{"kind": "abrupt_apnoea", "start_s": APNOEA_AT_S}],
    ),
)
ROOM_SENSOR: Final = ("radar-3", "p-0003")
"""The one room with a radar: the room of the person who stops breathing."""


@dataclass
class DemoSummary:
    """What the demo saw, hop by hop."""

    broker: str
    panel_url: str
    duration_s: float
    login: dict[str, str] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    notifications_received: int = 0
    ingest: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the scripted apnoea produced an alert whose push reached the receiver."""
        return any(a["kind"] == "apnoea" and a["hops"]["notified_at"] for a in self.alerts)

    def as_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict."""
        return {
            "ok": self.ok,
            "broker": self.broker,
            "panel_url": self.panel_url,
            "login": self.login,
            "duration_s": round(self.duration_s, 1),
            "notifications_received": self.notifications_received,
            "ingest": self.ingest,
            "alerts": self.alerts,
        }


def edge_config(broker_host: str, broker_port: int, outbox: Path, speed: float) -> dict[str, Any]:
    """The demo edge's config, as it would be written in a TOML file."""
    devices: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for index, (participant, room, _, wearable, rate, episodes) in enumerate(PEOPLE):
        devices.append(
            {
                "id": wearable,
                "role": "wearable",
                "link": "virtual",
                "virtual": {
                    "seed": index + 1,
                    "speed": speed,
                    "rate_bpm": rate,
                    "episodes": episodes,
                },
            }
        )
        mine = [wearable]
        if ROOM_SENSOR[1] == participant:
            devices.append(
                {
                    "id": ROOM_SENSOR[0],
                    "role": "radar",
                    "link": "virtual",
                    "virtual": {"speed": speed},
                }
            )
            mine.append(ROOM_SENSOR[0])
        people.append({"participant": participant, "room": room, "devices": mine})
    return {
        "site": SITE,
        "edge": "pi-1",
        "outbox": str(outbox),
        "mqtt": {"host": broker_host, "port": broker_port},
        "people": people,
        "devices": devices,
    }


def server_settings(
    work_dir: Path, broker_host: str, broker_port: int, http_port: int, receiver_url: str
) -> dict[str, Any]:
    """The demo server's settings."""
    return {
        "database": str(work_dir / "server.db"),
        "mqtt": {"host": broker_host, "port": broker_port},
        "http": {
            "host": "127.0.0.1",
            "port": http_port,
            "public_url": f"http://127.0.0.1:{http_port}",
            # A throwaway account on loopback: no authenticator app needed to look around.
            # A real server asks admin and staff for one (the default mfa_roles).
            "mfa_roles": [],
        },
        "sites": [
            {
                "id": SITE,
                "name": "Demo hostel",
                "rooms": [{"id": room, "label": label} for _, room, label, *_ in PEOPLE],
            }
        ],
        "responders": [{"id": "night-staff", "name": "Night staff", "urls": [receiver_url]}],
    }


def _seconds(later: str | None, earlier: str | None) -> float | None:
    if later is None or earlier is None:
        return None
    delta = datetime.fromisoformat(later) - datetime.fromisoformat(earlier)
    return round(delta.total_seconds(), 3)


def summarise(store: Store, receiver: NotificationReceiver) -> list[dict[str, Any]]:
    """Every stored alert with the time of each hop and the latency between hops."""
    first_push: dict[str, datetime] = {}
    for push in receiver.pushes:
        if push.alert_id and push.alert_id not in first_push:
            first_push[push.alert_id] = push.received_at
    rows = []
    for alert in sorted(store.alerts(1000), key=lambda a: a.alert_id):
        notified = first_push.get(alert.alert_id)
        hops = {
            "onset_at": format_utc(alert.onset_at),
            "detected_at": format_utc(alert.detected_at),
            "published_at": None if alert.published_at is None else format_utc(alert.published_at),
            "stored_at": format_utc(alert.stored_at),
            "notified_at": None if notified is None else format_utc(notified),
        }
        rows.append(
            {
                "id": alert.alert_id,
                "kind": alert.kind.value,
                "severity": alert.severity.value,
                "participant": alert.participant_id,
                "room": alert.room_id,
                "hops": hops,
                "latency_s": {
                    "detected_to_published": _seconds(hops["published_at"], hops["detected_at"]),
                    "published_to_stored": _seconds(hops["stored_at"], hops["published_at"]),
                    "stored_to_notified": _seconds(hops["notified_at"], hops["stored_at"]),
                    "detected_to_notified": _seconds(hops["notified_at"], hops["detected_at"]),
                },
            }
        )
    return rows


async def run_demo(
    *,
    duration_s: float | None,
    headless: bool,
    speed: float = 1.0,
    http_port: int | None = None,
    progress: TextIO = sys.stderr,
) -> DemoSummary:
    """Run the demo until ``duration_s`` (simulated seconds) pass or SIGINT/SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or on Windows; Ctrl-C then ends the demo via asyncio.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    work_dir = Path(tempfile.mkdtemp(prefix="odart-demo-"))
    broker = await asyncio.to_thread(start_demo_broker)
    receiver = NotificationReceiver().start()
    port = http_port or free_port()
    settings = settings_from_mapping(
        server_settings(work_dir, broker.host, broker.port, port, receiver.url("/night-staff"))
    )
    app = create_app(settings)
    config = config_from_mapping(
        edge_config(broker.host, broker.port, work_dir / "outbox.db", speed)
    )
    outbox = Outbox(config.outbox)
    agent = EdgeAgent(config, build_links(config), outbox)
    agent_task: asyncio.Task[None] | None = None
    panel_url = f"http://127.0.0.1:{port}/"
    started = loop.time()
    summary = DemoSummary(broker.name, panel_url, 0.0)
    served: tuple[uvicorn.Server, asyncio.Task[Any]] | None = None
    try:
        served = await serve(app, port)
        agent_task = asyncio.create_task(agent.run(), name="edge")
        password = secrets.token_urlsafe(12)  # a fresh database each run: a fresh password
        services = app_services(app)
        services.users.create(DEMO_ADMIN, Role.ADMIN, password)
        summary.login = {"username": DEMO_ADMIN, "password": password}
        for participant, room, _, wearable, *_ in PEOPLE:  # the demo's residents have consented
            enrol_consented(
                services.store.db,
                app_context(app).now,
                site_id=SITE,
                device_id=wearable,
                room_id=room,
                participant_id=participant,
                by=DEMO_ADMIN,
            )
        print(
            f"ODART demo: broker {broker.name} on {broker.host}:{broker.port} "
            "(loopback, no TLS: demo only; production: docs/mqtt-security.md)",
            file=progress,
        )
        print(f"  staff panel   {panel_url}", file=progress)
        print(f"  log in as     {DEMO_ADMIN}  password {password}", file=progress)
        print("                (two-factor login is off in the demo only)", file=progress)
        print(f"  wearer p-0003 in Room 3 stops breathing at t={APNOEA_AT_S:.0f}s", file=progress)
        print("  Ctrl-C stops everything", file=progress)
        if not headless:
            webbrowser.open(panel_url)
        next_progress = 0.0
        while not stop.is_set():
            elapsed = (loop.time() - started) * speed
            if duration_s is not None and elapsed >= duration_s:
                break
            if agent_task.done():
                agent_task.result()  # surfaces a crash of the agent
            if elapsed >= next_progress:
                store = services.store
                print(
                    f"  t={elapsed:5.0f}s  alerts stored {store.count_alerts()}  "
                    f"pushes received {len(receiver.pushes)}  outbox {len(outbox)}",
                    file=progress,
                    flush=True,
                )
                next_progress += PROGRESS_EVERY_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
        await asyncio.sleep(0.5)  # let sends already under way land in the receiver
        summary.duration_s = (loop.time() - started) * speed
        summary.alerts = summarise(services.store, receiver)
        summary.notifications_received = len(receiver.pushes)
        summary.ingest = dict(services.ingest.counts)
    finally:
        await cancel(agent_task)
        if served is not None:
            await shut_down(*served)
        outbox.close()
        receiver.stop()
        await asyncio.to_thread(broker.stop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    return summary


def format_summary(summary: DemoSummary) -> str:
    """A human-readable table of the alerts and their hops."""
    lines = [f"{len(summary.alerts)} alert(s), {summary.notifications_received} push(es) received"]
    for alert in summary.alerts:
        latency = alert["latency_s"]
        lines.append(
            f"  {alert['id']}  {alert['kind']:<22} {alert['severity']:<8} {alert['room']:<7} "
            f"detected {alert['hops']['detected_at'][11:23]}  "
            f"published +{latency['detected_to_published']}s  "
            f"stored +{latency['published_to_stored']}s  "
            f"notified +{latency['stored_to_notified']}s"
        )
    lines.append(
        "PASS: the apnoea reached the responder"
        if summary.ok
        else "FAIL: no apnoea notification reached the responder"
    )
    return "\n".join(lines)
