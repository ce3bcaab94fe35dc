"""Shared server fixtures: panel accounts and logged-in test clients."""

from __future__ import annotations

from typing import Final

from fastapi.testclient import TestClient

from server.auth.models import Role
from server.store.users import Users

PASSWORD: Final = "correct horse battery staple"


def add_user(client: TestClient, username: str, role: Role, password: str = PASSWORD) -> None:
    """Create an account in a running app (inside ``with TestClient(app)``)."""
    users: Users = client.app.state.users  # type: ignore[attr-defined]
    users.create(username, role, password)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in through the real form; it then sends the CSRF header on every request.

    Returns:
        The session's CSRF token.
    """
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
    csrf = str(client.get("/api/me").json()["csrf"])
    client.headers["x-csrf-token"] = csrf
    return csrf


def staff_client(client: TestClient, username: str = "night-staff", role: Role = Role.STAFF) -> str:
    """Create ``username`` and log ``client`` in as them; returns the CSRF token."""
    add_user(client, username, role)
    return log_in(client, username)
