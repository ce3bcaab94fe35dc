"""A row that cannot be read back never stops ``odart server``: it is skipped with a reason."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from server.auth.models import Role
from server.auth.totp import code_at
from server.domain.alerts import Alert
from server.store.db import Store
from server.store.users import Users
from tests.mqtt_probe import wait_until
from tests.support.server_process import health, server_toml, start_server, stop

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
NOW = datetime.now(UTC).replace(microsecond=0)


def _alert(n: int) -> Alert:
    return Alert(
        alert_id=wire.encode_ulid(int(NOW.timestamp() * 1000), n),
        site_id="hostel-1",
        edge_id="pi-1",
        kind=wire.AlertKind.APNOEA,
        severity=wire.Severity.CRITICAL,
        detected_at=NOW,
        onset_at=NOW - timedelta(seconds=15),
        stored_at=NOW,
        room_id="room-3",
    )


def _poison(database: Path) -> tuple[str, list[str]]:
    """One good alert, copies that an older build or a hand could have written, and accounts."""
    store = Store(database)
    good = _alert(1)
    store.insert_alert(good)
    users = Users(store.db, lambda: datetime.now(UTC))
    for role in Role:
        users.create(role.value, role, PASSWORD)
    store.close()
    poisoned = []
    with sqlite3.connect(database) as db:
        for n, (column, value) in enumerate(
            [
                ("detected_at", "999-06-01T00:00:00.000Z"),  # what the unpadded %Y once wrote
                ("onset_at", "0001-01-01T00:00:00+14:00"),
                ("kind", "gossip"),
                ("evidence", "{not json"),
            ],
            start=2,
        ):
            alert_id = _alert(n).alert_id
            db.execute(
                "CREATE TEMP TABLE copy AS SELECT * FROM alerts WHERE id = ?", [good.alert_id]
            )
            db.execute(f"UPDATE copy SET id = ?, {column} = ?", [alert_id, value])
            db.execute("INSERT INTO alerts SELECT * FROM copy")
            db.execute("DROP TABLE copy")
            poisoned.append(alert_id)
    return good.alert_id, poisoned


def _log_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": form.cookies["odart_login_csrf"],
            "next": "/",
        },
    )
    assert answer.status_code in (200, 303), answer.text
    me = client.get("/api/me").json()
    client.headers["x-csrf-token"] = str(me["csrf"])
    if me["mfa_setup_required"]:  # admin and staff set up two-factor login first
        offer = client.get("/api/account/mfa").json()
        code = code_at(offer["secret"], datetime.now(UTC))
        assert client.post("/api/account/mfa", json={"code": code}).status_code == 200
    return client


@pytest.mark.slow
def test_server_starts_and_lists_alerts_for_every_role_past_unreadable_rows(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    config, port = server_toml(tmp_path, (mosquitto.host, mosquitto.port))
    good, poisoned = _poison(tmp_path / "server.db")
    log_path = tmp_path / "server.log"
    server = start_server(config, port, log=log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: health(port)[0] == 200, timeout_s=30), health(port)
        for role in ("admin", "staff", "responder"):
            with contextlib.closing(_log_in(base, role)) as client:
                listed = client.get("/api/alerts")
                assert listed.status_code == 200, (role, listed.text)
                assert [alert["id"] for alert in listed.json()] == [good]
                for alert_id in poisoned:
                    assert client.get(f"/api/alerts/{alert_id}").status_code == 404
                if role == "staff":
                    assert client.get("/api/reports").status_code == 200
    finally:
        stop(server)
    log = log_path.read_text()
    assert log.count("cannot be read back") == len(poisoned)  # each once, however often read
    assert "Traceback" not in log
