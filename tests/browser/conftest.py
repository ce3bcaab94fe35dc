"""Browser-test fixtures: the real server over HTTP, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import importlib.util
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import uvicorn

from odart.broker import MosquittoBroker, free_port
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.privacy.consent import ConsentAction, ConsentMethod, ConsentRecord
from server.privacy.consent_texts import current_text
from server.privacy.inventory import Purpose
from server.store.consents import Consents
from server.store.db import Store
from server.store.residents import Residents
from server.store.users import Users
from simulators.receiver import NotificationReceiver
from tests.conftest import require

CHROMIUM: Final = Path("/usr/bin/chromium")
FLAGS: Final = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
SCREENSHOTS: Final = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ADMIN: Final = ("ada", "a long and memorable passphrase")
PHONE: Final = {"width": 390, "height": 844}
DESK: Final = {"width": 1280, "height": 900}


@dataclass
class Panel:
    """A running server: its URL, store and the account to log in with."""

    url: str
    store: Store
    broker: MosquittoBroker
    username: str
    password: str


def _settings(broker: MosquittoBroker, receiver: NotificationReceiver, port: int) -> Any:
    rooms = [{"id": f"room-{n}", "label": f"Room {n}"} for n in range(1, 5)]
    return settings_from_mapping(
        {
            "mqtt": {"host": broker.host, "port": broker.port},
            "http": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
            "sites": [{"id": "hostel-1", "name": "Riverside hostel", "rooms": rooms}],
            "responders": [
                {"id": "night-staff", "name": "Night staff", "urls": [receiver.url("/night")]},
                {"id": "manager", "name": "Manager", "level": 1, "urls": [receiver.url("/mgr")]},
            ],
        }
    )


def _seed(store: Store) -> None:
    """Wearables in three states so the board shows more than one colour."""
    users = Users(store.db, lambda: datetime.now(UTC))
    users.create(ADMIN[0], Role.ADMIN, ADMIN[1])
    now = "2026-01-01T00:00:00.000Z"
    residents = Residents(store.db, lambda: datetime.now(UTC))
    with store.db.conn:
        for device, room, consent, battery in (
            ("wearable-1", "room-1", "active", 80.0),
            ("wearable-2", "room-2", "active", 12.0),
            ("wearable-3", "room-3", "active", 64.0),
            ("wearable-4", "room-4", "pending", 90.0),
        ):
            store.db.execute(
                "INSERT INTO enrolments (device_id, site_id, room_id, participant_id, consent, "
                "enrolled_at, enrolled_by) VALUES (?, 'hostel-1', ?, ?, ?, ?, 'seed')",
                [device, room, f"p-{device[-1]:0>4}", consent, now],
            )
            store.db.execute(
                "INSERT INTO device_health (device_id, site_id, edge_id, state, battery_pct, "
                "battery_low, updated_at) VALUES (?, 'hostel-1', 'pi-1', 'connected', ?, ?, ?)",
                [device, battery, int(battery < 20), now],
            )
    # Room 1's wearer is a resident who agreed to monitoring (their page is opened).
    residents.ensure("p-0001", "hostel-1", "seed")
    text, today = current_text(), datetime.now(UTC).date()
    Consents(store.db, lambda: datetime.now(UTC)).add(
        ConsentRecord(
            participant_id="p-0001",
            action=ConsentAction.GIVE,
            purposes=(Purpose.MONITORING,),
            method=ConsentMethod.WRITTEN,
            witness="seed",
            recorded_at=datetime.now(UTC),
            recorded_by="seed",
            text_version=text.version,
            text_sha256=text.sha256,
            capacity_confirmed=True,
            review_due=today + timedelta(days=90),
        )
    )


@pytest.fixture
def panel(mosquitto: MosquittoBroker, receiver: NotificationReceiver) -> Iterator[Panel]:
    """The server with its panel on a free loopback port, in a thread of its own."""
    port = free_port()
    store = Store(None)
    _seed(store)
    app = create_app(_settings(mosquitto, receiver, port), store=store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="panel-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server stopped during start-up"
        time.sleep(0.05)
    try:
        yield Panel(f"http://127.0.0.1:{port}", store, mosquitto, *ADMIN)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A fresh Chromium profile and one page; console errors fail the test."""
    have_playwright = importlib.util.find_spec("playwright") is not None
    have_chromium = CHROMIUM.exists() or shutil.which("chromium") is not None
    require(
        "chromium + playwright",
        have_playwright and have_chromium,
        "apt-get install chromium chromium-driver; pip install -e '.[test]'",
    )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=list(FLAGS),
            headless=True,
            viewport=DESK,
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.problems = problems  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
