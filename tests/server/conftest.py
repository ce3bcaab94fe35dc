"""Shared server fixtures: panel accounts and logged-in test clients."""

from __future__ import annotations

from typing import Final

from fastapi.testclient import TestClient

from server.auth.models import Role
from server.auth.totp import code_at
from server.store.mfa import SecondFactors
from server.store.users import Users

PASSWORD: Final = "correct horse battery staple"


def add_user(client: TestClient, username: str, role: Role, password: str = PASSWORD) -> None:
    """Create an account in a running app (inside ``with TestClient(app)``)."""
    users: Users = client.app.state.services.users  # type: ignore[attr-defined]
    users.create(username, role, password)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in through the real form; it then sends the CSRF header on every request.

    An account whose role needs a second factor is given a fresh one through the real set-up
    API (any earlier one is reset first, so a frozen test clock never meets replay refusal).

    Returns:
        The session's CSRF token.
    """
    factors: SecondFactors = client.app.state.services.second_factors  # type: ignore[attr-defined]
    factors.reset(username)
    client.cookies.clear()
    client.headers.pop("x-csrf-token", None)
    form = client.get("/login")
    assert form.status_code == 200, form.text
    token = form.cookies["odart_login_csrf"]
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    me = client.get("/api/me").json()
    csrf = str(me["csrf"])
    client.headers["x-csrf-token"] = csrf
    if me["mfa_setup_required"]:
        set_up_second_factor(client)
    return csrf


def set_up_second_factor(client: TestClient) -> str:
    """Turn two-factor login on for the logged-in account the way its owner would; the secret."""
    offer = client.get("/api/account/mfa").json()
    now = client.app.state.context.now()  # type: ignore[attr-defined]
    answer = client.post("/api/account/mfa", json={"code": code_at(offer["secret"], now)})
    assert answer.status_code == 200, answer.text
    return str(offer["secret"])


def staff_client(client: TestClient, username: str = "night-staff", role: Role = Role.STAFF) -> str:
    """Create ``username`` and log ``client`` in as them; returns the CSRF token."""
    add_user(client, username, role)
    return log_in(client, username)
