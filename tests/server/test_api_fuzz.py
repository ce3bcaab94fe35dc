"""Schemathesis over the server's own OpenAPI, as a logged-in admin: no request is a 500.

The server runs under uvicorn on a loopback port with a real database file and a real Mosquitto
(so its health is truthfully "ok"); requests go over
HTTP with the admin's session cookie and CSRF token, so every route is reached past its checks.
The number of examples per operation is bounded (``EXAMPLES``) to keep the suite quick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings

from odart.broker import MosquittoBroker, find_mosquitto, free_port
from server.app import create_app
from server.auth import Role
from server.auth.totp import code_at
from server.config import settings_from_mapping
from server.store.users import Users
from tests.conftest import require

EXAMPLES: Final = 12
"""Examples per operation: about 40 operations x 12 stays under a minute on a loaded 2-core CI."""
PASSWORD: Final = "a long and memorable passphrase"
ROOMS: Final = [{"id": "room-1", "label": "Room 1"}]
SKIPPED: Final = "^/(login|logout|api/stream)$"
"""Logging out would end the session under test; the event stream never ends by design."""


class Server:
    """The real server on a loopback port, and an admin's logged-in HTTP session."""

    def __init__(self, tmp: Path, broker: MosquittoBroker) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.app = create_app(
            settings_from_mapping(
                {
                    "database": str(tmp / "odart.db"),
                    "mqtt": {"host": broker.host, "port": broker.port},
                    "http": {"port": port, "public_url": self.base},
                    "sites": [
                        {
                            "id": "hostel-1",
                            "name": "Hostel",
                            "rooms": [{"id": "room-1", "label": "Room 1"}],
                        }
                    ],
                }
            )
        )
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="fuzz-server", daemon=True)
        self.session = requests.Session()

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        users: Users = self.app.state.services.users
        users.create("ada", Role.ADMIN, PASSWORD)
        token = self.session.get(f"{self.base}/login").cookies["odart_login_csrf"]
        form = {"username": "ada", "password": PASSWORD, "csrf_token": token}
        assert self.session.post(f"{self.base}/login", data=form).status_code == 200
        csrf = self.session.get(f"{self.base}/api/me").json()["csrf"]
        self.session.headers["x-csrf-token"] = csrf
        offer = self.session.get(f"{self.base}/api/account/mfa").json()
        code = code_at(offer["secret"], datetime.now(UTC))
        answer = self.session.post(f"{self.base}/api/account/mfa", json={"code": code})
        assert answer.status_code == 200, answer.text

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.session.close()


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document (the running server does not publish it: ASVS 13.4.5)."""
    app = create_app(settings_from_mapping({"mqtt": {"port": 1}}))
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi()).exclude(path_regex=SKIPPED)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    with MosquittoBroker() as broker:
        running = Server(tmp_path_factory.mktemp("fuzz"), broker)
        running.start()
        try:
            yield running
        finally:
            running.stop()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_fuzz_no_request_is_a_server_error(case: Any, server: Server) -> None:
    response = case.call(base_url=server.base, session=server.session)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    )


def test_api_fuzz_out_of_range_dates_and_huge_numbers_are_4xx(server: Server) -> None:
    far = server.session.get(f"{server.base}/api/history", params={"to": "9999-12-31"})
    assert far.status_code == 422
    assert "2999-12-30" in far.text
    huge = server.session.post(
        f"{server.base}/api/sites/hostel-1/test-alert",
        data=b'{"room": 1e400}',
        headers={"content-type": "application/json"},
    )
    assert 400 <= huge.status_code < 500, huge.text
