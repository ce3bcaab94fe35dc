"""Accounts, login, sessions, CSRF, throttling and security headers, through the real app."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import extract_parameters
from fastapi.testclient import TestClient

import server.auth
from odart.cli import main
from server.app import create_app
from server.auth import PasswordRejected, Role, check_policy, hash_password
from server.config import settings_from_mapping
from server.store.db import Store
from tests.server.conftest import PASSWORD, add_user, log_in


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _app(
    clock: Clock, public_url: str = "http://testserver", mfa_roles: tuple[str, ...] = ()
) -> TestClient:
    """The app; these tests are about passwords and sessions, so no role needs a second factor
    unless asked (tests/server/test_mfa.py covers the second factor)."""
    settings = settings_from_mapping(
        {
            "mqtt": {"port": 1},  # nothing listens: ingest retries quietly, the panel still works
            "http": {
                "public_url": public_url,
                "session_idle_s": 600,
                "session_absolute_s": 3600,
                "mfa_roles": list(mfa_roles),
            },
            "sites": [{"id": "hostel-1", "name": "Hostel"}],
        }
    )
    base = "https://testserver" if public_url.startswith("https") else "http://testserver"
    return TestClient(create_app(settings, store=Store(None), now=clock), base_url=base)


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    with _app(clock) as running:
        add_user(running, "alice", Role.STAFF)
        add_user(running, "bob", Role.STAFF)
        yield running


def _set_session(client: TestClient, value: str) -> None:
    client.cookies.delete("odart_session")
    client.cookies.set("odart_session", value, domain="testserver.local")


def _login_form(client: TestClient) -> str:
    return str(client.get("/login").cookies["odart_login_csrf"])


def _post_login(client: TestClient, username: str, password: str) -> int:
    token = client.cookies.get("odart_login_csrf") or _login_form(client)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return answer.status_code


# -- passwords -----------------------------------------------------------------------------------


def test_auth_password_policy_length_and_common_list() -> None:
    with pytest.raises(PasswordRejected):
        check_policy("7 chars")
    check_policy("x" * 64)
    with pytest.raises(PasswordRejected, match="common"):
        check_policy("Password1!")
    with pytest.raises(PasswordRejected):
        check_policy("x" * 129)


def test_auth_hash_is_argon2id_above_the_owasp_minimum() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert PASSWORD not in stored


def test_auth_public_surface_is_pinned() -> None:
    assert set(server.auth.__all__) == {
        "USERNAME_PATTERN",
        "AccountError",
        "AuthError",
        "LoginLimiter",
        "PasswordRejected",
        "Role",
        "SessionPolicy",
        "User",
        "check_policy",
        "hash_password",
        "verify_password",
    }


# -- login and sessions --------------------------------------------------------------------------


def test_auth_login_sets_a_strict_httponly_cookie_and_rotates_the_session(
    client: TestClient,
) -> None:
    _set_session(client, "planted-by-an-attacker")
    token = _login_form(client)
    answer = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/history"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/history"
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "sess" in v)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    first = client.cookies["odart_session"]
    assert first != "planted-by-an-attacker"
    assert client.get("/api/me").json()["username"] == "alice"
    assert _post_login(client, "bob", PASSWORD) == 303  # switching user at a shared desk
    assert client.cookies["odart_session"] != first
    assert client.get("/api/me").json()["username"] == "bob"
    _set_session(client, first)
    assert client.get("/api/me").status_code == 401  # the old session died at the new login


def test_auth_cookie_is_secure_and_host_prefixed_behind_tls(clock: Clock) -> None:
    with _app(clock, "https://panel.example") as client:
        add_user(client, "alice", Role.STAFF)
        token = _login_form(client)
        answer = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-odart_session=")
        assert "Secure" in cookie
        assert "Path=/" in cookie
        assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_auth_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    assert _post_login(client, "alice", "not the password at all") == 401
    assert _post_login(client, "nobody", "not the password at all") == 401
    assert client.get("/api/me").status_code == 401


def test_auth_open_redirect_after_login_is_refused(client: TestClient) -> None:
    token = _login_form(client)
    answer = client.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_auth_idle_and_absolute_expiry(client: TestClient, clock: Clock) -> None:
    log_in(client, "alice")
    clock.advance(599)
    assert client.get("/api/me").status_code == 200
    clock.advance(599)  # active every ~10 min keeps it going ...
    assert client.get("/api/me").status_code == 200
    clock.advance(601)  # ... idle past 10 min ends it
    assert client.get("/api/me").status_code == 401
    log_in(client, "alice")
    for _ in range(6):
        clock.advance(590)
        assert client.get("/api/me").status_code == 200
    clock.advance(590)  # 3540 + 590 s after login: past the 1 h absolute limit
    assert client.get("/api/me").status_code == 401


def test_auth_logout_and_disabling_end_the_session_on_the_server(client: TestClient) -> None:
    log_in(client, "alice")
    cookie = client.cookies["odart_session"]
    assert client.post("/logout", follow_redirects=False).status_code == 303
    _set_session(client, cookie)
    assert client.get("/api/me").status_code == 401
    log_in(client, "alice")
    client.app.state.services.users.set_disabled("alice", True)  # type: ignore[attr-defined]
    assert client.get("/api/me").status_code == 401
    assert _post_login(client, "alice", PASSWORD) == 401


def test_auth_pages_redirect_to_login_and_the_api_answers_401(client: TestClient) -> None:
    alert = "/alerts/01arz3ndektsv4rrffq69g5fav"
    page = client.get(f"{alert}?from=push", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next={alert}%3Ffrom%3Dpush"
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404


# -- CSRF ----------------------------------------------------------------------------------------


def test_auth_csrf_required_on_every_state_change(client: TestClient) -> None:
    csrf = log_in(client, "alice")
    url = "/api/sites/hostel-1/test-alert"
    del client.headers["x-csrf-token"]
    assert client.post(url, json={"room": "room-3"}).status_code == 403
    wrong = {"x-csrf-token": "not-" + csrf}
    assert client.post(url, json={"room": "room-3"}, headers=wrong).status_code == 403
    cross = {"x-csrf-token": csrf, "origin": "https://evil.example"}
    assert client.post(url, json={"room": "room-3"}, headers=cross).status_code == 403
    sites = {"x-csrf-token": csrf, "sec-fetch-site": "cross-site"}
    assert client.post(url, json={"room": "room-3"}, headers=sites).status_code == 403
    ours = {"x-csrf-token": csrf, "origin": "http://testserver"}
    assert client.post(url, json={"room": "room-3"}, headers=ours).status_code == 201
    assert client.post("/logout", follow_redirects=False).status_code == 403
    form = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert form.status_code == 303


def test_auth_login_form_needs_its_double_submit_token(client: TestClient) -> None:
    _login_form(client)
    answer = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": "guess"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_auth_panel_actions_are_recorded_as_the_logged_in_user(client: TestClient) -> None:
    log_in(client, "alice")
    made = client.post("/api/sites/hostel-1/test-alert", json={"room": "room-3"}).json()
    url = f"/api/alerts/{made['alert']['id']}/actions"
    assert client.post(url, json={"action": "ack", "actor": "bob"}).status_code == 403
    done = client.post(url, json={"action": "ack"})
    assert done.status_code == 200
    assert done.json()["alert"]["assignee"] == "alice"


# -- throttling ----------------------------------------------------------------------------------


def test_auth_sixth_failure_in_a_minute_is_429_and_others_are_unaffected(
    client: TestClient, clock: Clock
) -> None:
    for _ in range(5):
        assert _post_login(client, "alice", "wrong password here") == 401
    token = client.cookies["odart_login_csrf"]
    answer = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert _post_login(client, "bob", PASSWORD) == 303
    clock.advance(61)
    assert _post_login(client, "alice", PASSWORD) == 303


def test_auth_one_address_spraying_many_accounts_is_throttled(client: TestClient) -> None:
    for n in range(20):
        assert _post_login(client, f"user-{n}", "wrong password here") == 401
    assert _post_login(client, "bob", PASSWORD) == 429


def test_auth_login_attempts_are_audited_without_log_injection(client: TestClient) -> None:
    _post_login(client, "mallory\r\nadmin logged in", "x" * 10)
    _post_login(client, "alice", PASSWORD)
    entries = client.app.state.services.audit.entries()  # type: ignore[attr-defined]
    actions = [(e["action"], e["actor"]) for e in entries[:2]]
    assert actions == [("auth.login", "alice"), ("auth.login_failed", "(invalid)")]


# -- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/api/health", "/static/panel.css", "/nowhere"])
def test_auth_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    if not path.startswith("/static/"):
        assert headers["cache-control"] == "no-store"


# -- odart admin ---------------------------------------------------------------------------------


def test_auth_admin_command_creates_the_first_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "server.toml"
    config.write_text(f'database = "{tmp_path / "odart.db"}"\n')
    argv = ["admin", "create", "--config", str(config), "--username", "Ada", "--password-stdin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("password1\n"))
    assert main(argv) == 1
    assert "common" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(argv) == 0
    assert "created admin account 'ada'" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err
    store = Store(tmp_path / "odart.db")
    try:
        (row,) = store.db.query("SELECT username, role, password_hash FROM users")
        assert (row["username"], row["role"]) == ("ada", "admin")
        assert row["password_hash"].startswith("$argon2id$")
        (entry,) = store.db.query("SELECT actor, action, subject FROM audit_log")
        assert entry == {"actor": "cli", "action": "account.create", "subject": "ada"}
    finally:
        store.close()
