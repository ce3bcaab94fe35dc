"""Two-factor login (TOTP) and parallel login throttling, through the real app and CLI."""

from __future__ import annotations

import io
import sqlite3
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from odart.cli import main
from server.app import create_app
from server.auth import Role
from server.auth.totp import code_at
from server.config import settings_from_mapping
from server.store.db import Store
from tests.server.conftest import PASSWORD, add_user, set_up_second_factor
from tests.server.test_auth import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _settings(database: Path | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "mqtt": {"port": 1},  # nothing listens: ingest retries quietly, the panel still works
        "http": {"public_url": "http://testserver"},  # default mfa_roles: admin and staff
        "sites": [{"id": "hostel-1", "name": "Hostel"}],
    }
    if database is not None:
        data["database"] = str(database)
    return data


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    settings = settings_from_mapping(_settings())
    app = create_app(settings, store=Store(None), now=clock)
    with TestClient(app, base_url="http://testserver") as running:
        add_user(running, "alice", Role.STAFF)
        add_user(running, "rita", Role.RESPONDER)
        yield running


def _login(client: TestClient, username: str, code: str = "") -> int:
    token = client.get("/login").cookies.get("odart_login_csrf") or client.cookies.get(
        "odart_login_csrf"
    )
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "code": code, "csrf_token": token},
        follow_redirects=False,
    )
    if answer.status_code == 303:
        client.headers["x-csrf-token"] = client.get("/api/me").json()["csrf"]
    return answer.status_code


def test_mfa_staff_can_do_nothing_but_set_it_up_until_they_have(
    client: TestClient, clock: Clock
) -> None:
    assert _login(client, "alice") == 303
    page = client.get("/history", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/account/mfa"
    refused = client.get("/api/history")
    assert refused.status_code == 403
    assert "two-factor" in refused.json()["detail"]
    assert client.get("/api/me").json()["mfa_setup_required"] is True
    setup = client.get("/account/mfa")
    assert setup.status_code == 200
    assert "data:image/svg+xml" in setup.text  # the QR code for the app
    offer = client.get("/api/account/mfa").json()
    assert offer["uri"].startswith("otpauth://totp/ODART:alice?")
    wrong = client.post("/api/account/mfa", json={"code": "000000"})
    assert wrong.status_code == 400
    assert client.get("/api/history").status_code == 403  # a wrong code turned nothing on
    right = client.post("/api/account/mfa", json={"code": code_at(offer["secret"], clock())})
    assert right.status_code == 200
    assert client.get("/api/history").status_code == 200


def test_mfa_login_needs_the_current_code_once(client: TestClient, clock: Clock) -> None:
    _login(client, "alice")
    secret = set_up_second_factor(client)
    client.cookies.clear()
    assert _login(client, "alice") == 401  # password alone is not enough any more
    assert _login(client, "alice", "123456" if code_at(secret, clock()) != "123456" else "654321")
    clock.advance(60)
    code = code_at(secret, clock())
    assert _login(client, "alice", code) == 303
    assert client.get("/api/history").status_code == 200
    client.cookies.clear()
    assert _login(client, "alice", code) == 401  # the same code twice: a replay
    clock.advance(30)
    assert _login(client, "alice", code_at(secret, clock())) == 303


def test_mfa_is_optional_for_responders(client: TestClient) -> None:
    assert _login(client, "rita") == 303
    assert client.get("/api/board").status_code == 200
    assert client.get("/api/me").json()["mfa_setup_required"] is False


def test_mfa_wrong_codes_count_towards_the_login_throttle(client: TestClient) -> None:
    _login(client, "alice")
    set_up_second_factor(client)
    client.cookies.clear()
    statuses = [_login(client, "alice", "000001") for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_mfa_parallel_wrong_passwords_are_throttled_atomically(client: TestClient) -> None:
    token = client.get("/login").cookies["odart_login_csrf"]
    # Each refused login renders a fresh form with a fresh CSRF cookie; pin this form's cookie so
    # a guess sent after another's answer arrives is still the same form, as from one attacker.
    form_cookie = {"Cookie": f"odart_login_csrf={token}"}

    def guess(index: int) -> int:
        answer = client.post(
            "/login",
            data={"username": "alice", "password": f"wrong guess {index}", "csrf_token": token},
            headers=form_cookie,
            follow_redirects=False,
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert statuses.count(401) == 5  # the per-account limit, however the guesses interleave
    assert statuses.count(429) == 7


def test_mfa_reset_from_the_cli_makes_them_set_it_up_again(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "odart.db"
    config = tmp_path / "server.toml"
    config.write_text(
        f'database = "{database}"\n[mqtt]\nport = 1\n[http]\npublic_url = "http://testserver"\n'
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["admin", "create", "--config", str(config), "--username", "ann",
                 "--role", "admin", "--password-stdin"]) == 0  # fmt: skip
    settings = settings_from_mapping(_settings(database))
    with TestClient(create_app(settings, now=clock), base_url="http://testserver") as client:
        _login(client, "ann")
        set_up_second_factor(client)
    assert main(["admin", "mfa-reset", "--config", str(config), "--username", "ann"]) == 0
    with TestClient(create_app(settings, now=clock), base_url="http://testserver") as client:
        assert _login(client, "ann") == 303
        assert client.get("/api/me").json()["mfa_setup_required"] is True
    with sqlite3.connect(database) as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert "auth.mfa_enabled" in actions
    assert "account.mfa_reset" in actions
