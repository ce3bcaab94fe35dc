"""Every route for every role: the allowed status codes, and fields a role must never see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from firmware_bridge.wire import AlertKind, Severity
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle
from server.store.db import Store
from server.store.enrolments import Enrolments
from tests.server.conftest import add_user, log_in

ALERT: Final = "01jf0000000000000000000001"
SECRET: Final = "hunter2-apprise-token"
PSEUDONYMS: Final = ("p-0001", "p-0002")
ROLES: Final = ("admin", "staff", "responder", "anonymous")
STAFF: Final = {"admin", "staff"}

# (method, route path) -> (the path to call, the body, {role: expected status}).
# A role left out gets its group's default (see _expected).
_ALL_OK = {"admin": 200, "staff": 200, "responder": 200}
_PAGE_ALL = {**_ALL_OK, "anonymous": 303}
_PAGE_STAFF = {"admin": 200, "staff": 200, "responder": 403, "anonymous": 303}
_PAGE_ADMIN = {"admin": 200, "staff": 403, "responder": 403, "anonymous": 303}
_API_ALL = {**_ALL_OK, "anonymous": 401}
_API_STAFF = {"admin": 200, "staff": 200, "responder": 403, "anonymous": 401}
_API_STAFF_404 = {"admin": 404, "staff": 404, "responder": 403, "anonymous": 401}
ROUTES: Final[dict[tuple[str, str], tuple[str, Any, dict[str, int]]]] = {
    ("GET", "/login"): ("/login", None, {r: 200 for r in ROLES}),
    ("POST", "/login"): ("/login", {"username": "x"}, {r: 403 for r in ROLES}),  # no CSRF
    ("POST", "/logout"): ("/logout", {}, {**{r: 303 for r in ROLES}, "anonymous": 401}),
    ("GET", "/api/me"): ("/api/me", None, _API_ALL),
    ("GET", "/account/mfa"): ("/account/mfa", None, _PAGE_ALL),
    ("POST", "/account/mfa"): (
        "/account/mfa",
        {"code": "000000"},
        {"admin": 400, "staff": 400, "responder": 400, "anonymous": 401},
    ),
    ("GET", "/api/account/mfa"): ("/api/account/mfa", None, _API_ALL),
    ("POST", "/api/account/mfa"): (
        "/api/account/mfa",
        {"code": "000000"},
        {"admin": 400, "staff": 400, "responder": 400, "anonymous": 401},
    ),
    # No broker in this test: health truthfully answers 503 (ingest is down).
    ("GET", "/api/health"): ("/api/health", None, {r: 503 for r in ROLES}),
    ("GET", "/api/health/details"): ("/api/health/details", None, _API_STAFF),
    ("GET", "/metrics"): ("/metrics", None, {r: 200 for r in ROLES}),
    ("GET", "/api/alerts"): ("/api/alerts", None, _API_ALL),
    ("GET", "/api/alerts/{alert_id}"): (f"/api/alerts/{ALERT}", None, _API_ALL),
    ("GET", "/api/edges"): ("/api/edges", None, _API_ALL),
    ("GET", "/api/stream"): ("/api/stream", None, {"anonymous": 401}),  # see the stream test
    ("GET", "/api/board"): ("/api/board", None, _API_ALL),
    ("GET", "/api/history"): ("/api/history", None, _API_STAFF),
    ("GET", "/api/reports"): ("/api/reports", None, _API_STAFF),
    ("POST", "/api/alerts/{alert_id}/actions"): (
        "/api/alerts/01jf0000000000000000000999/actions",
        {"action": "ack"},
        {"admin": 404, "staff": 404, "responder": 404, "anonymous": 401},
    ),
    ("POST", "/api/sites/{site_id}/test-alert"): (
        "/api/sites/hostel-1/test-alert",
        {"room": "room-3"},
        {"admin": 201, "staff": 201, "responder": 403, "anonymous": 401},
    ),
    ("GET", "/act/{token}"): ("/act/not-a-token", None, {r: 400 for r in ROLES}),
    ("POST", "/act/{token}"): ("/act/not-a-token", {}, {r: 400 for r in ROLES}),
    ("GET", "/"): ("/", None, _PAGE_ALL),
    ("GET", "/alerts/{alert_id}"): (f"/alerts/{ALERT}", None, _PAGE_ALL),
    ("GET", "/history"): ("/history", None, _PAGE_STAFF),
    ("GET", "/reports"): ("/reports", None, _PAGE_STAFF),
    ("GET", "/devices"): ("/devices", None, _PAGE_STAFF),
    ("GET", "/sites"): ("/sites", None, _PAGE_STAFF),
    ("GET", "/users"): ("/users", None, _PAGE_ADMIN),
    ("GET", "/audit"): ("/audit", None, _PAGE_ADMIN),
    ("GET", "/enrolments/{enrolment_id}/consent"): (
        "/enrolments/1/consent",
        None,
        {"admin": 303, "staff": 303, "responder": 403, "anonymous": 303},
    ),
    ("POST", "/api/residents"): (
        "/api/residents",
        {"participant_id": "p-0009", "site_id": "hostel-1"},
        {"admin": 201, "staff": 201, "responder": 403, "anonymous": 401},
    ),
    ("GET", "/api/residents/{participant_id}/consent"): (
        "/api/residents/p-0404/consent",
        None,
        _API_STAFF_404,
    ),
    ("POST", "/api/residents/{participant_id}/consent"): (
        "/api/residents/p-0404/consent",
        {"action": "withdraw", "purposes": ["monitoring"], "method": "panel"},
        _API_STAFF_404,
    ),
    ("POST", "/api/residents/{participant_id}/consent/withdraw"): (
        "/api/residents/p-0404/consent/withdraw",
        {},
        _API_STAFF_404,
    ),
    ("GET", "/api/residents/{participant_id}/breathing-visibility"): (
        "/api/residents/p-0404/breathing-visibility",
        None,
        _API_STAFF_404,
    ),
    ("GET", "/api/residents/{participant_id}/identity"): (
        "/api/residents/p-0404/identity",
        None,
        _API_STAFF_404,
    ),
    ("POST", "/api/residents/{participant_id}/identity"): (
        "/api/residents/p-0404/identity",
        {"name": "A Name"},
        _API_STAFF_404,
    ),
    ("POST", "/api/alerts/{alert_id}/disclosure"): (
        "/api/alerts/01jf0000000000000000000999/disclosure",
        {"reason": "handover to paramedics"},
        {"admin": 404, "staff": 404, "responder": 404, "anonymous": 401},
    ),
    ("POST", "/api/alerts/{alert_id}/referral"): (
        "/api/alerts/01jf0000000000000000000999/referral",
        {"service": "Drug service"},
        _API_STAFF_404,
    ),
    ("GET", "/api/referrals/{referral_id}"): ("/api/referrals/nope", None, _API_STAFF_404),
    ("GET", "/residents"): ("/residents", None, _PAGE_STAFF),
    ("POST", "/residents"): (
        "/residents",
        {"participant_id": "p-r-{role}", "site_id": "hostel-1"},
        {"admin": 303, "staff": 303, "responder": 403, "anonymous": 401},
    ),
    ("GET", "/residents/{participant_id}"): (
        "/residents/p-0404",
        None,
        {"admin": 404, "staff": 404, "responder": 403, "anonymous": 303},
    ),
    ("POST", "/residents/{participant_id}/consent"): (
        "/residents/p-0404/consent",
        {},
        _API_STAFF_404,
    ),
    ("POST", "/residents/{participant_id}/withdraw"): (
        "/residents/p-0404/withdraw",
        {},
        _API_STAFF_404,
    ),
    ("POST", "/residents/{participant_id}/identity"): (
        "/residents/p-0404/identity",
        {"name": "A Name"},
        _API_STAFF_404,
    ),
    ("POST", "/devices/enrol"): (
        "/devices/enrol",
        {"device_id": "wearable-{role}", "site_id": "hostel-1", "participant_id": "p-9-{role}"},
        {"admin": 303, "staff": 303, "responder": 403, "anonymous": 401},
    ),
    ("POST", "/devices/enrolments/{enrolment_id}/end"): (
        "/devices/enrolments/999/end",
        {},
        {"admin": 404, "staff": 404, "responder": 403, "anonymous": 401},
    ),
    ("POST", "/users"): (
        "/users",
        {"username": "new-{role}", "role": "staff", "password": "a long enough passphrase"},
        {"admin": 303, "staff": 403, "responder": 403, "anonymous": 401},
    ),
    ("POST", "/users/{username}"): (
        "/users/nobody",
        {"change": "disable"},
        {"admin": 404, "staff": 403, "responder": 403, "anonymous": 401},
    ),
}

NEVER: Final = ("password_hash", "token_hash", SECRET, "$argon2id$")
"""Never in any response to anyone."""
NEVER_IN_LISTS: Final = ('"participant"', '"evidence"')
"""Lists and the board carry no personal fields (so they need no audit row)."""


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    settings = settings_from_mapping(
        {
            "mqtt": {"port": 1},
            "sites": [
                {"id": "hostel-1", "name": "Hostel", "rooms": [{"id": "room-3", "label": "Room 3"}]}
            ],
            "responders": [
                {"id": "night-staff", "name": "Night", "urls": [f"json://u:{SECRET}@127.0.0.1:9/"]}
            ],
        }
    )
    store = Store(None)
    now = datetime.now(UTC)
    store.insert_alert(
        Alert(
            ALERT,
            "hostel-1",
            "pi-1",
            AlertKind.APNOEA,
            Severity.CRITICAL,
            now,
            now - timedelta(seconds=20),
            now,
            device_id="wearable-1",
            participant_id=PSEUDONYMS[0],
            room_id="room-3",
            evidence={"apnoea_s": 21.5},
        ),
        # Already acknowledged with no timer: nothing pages or writes in the background while
        # the test reads the audit log from its own thread.
        Lifecycle(AlertState.ACKNOWLEDGED),
    )
    Enrolments(store.db, lambda: now).enrol("wearable-2", "hostel-1", "room-3", PSEUDONYMS[1], "t")
    app = create_app(settings, store=store)
    made: dict[str, TestClient] = {}
    with TestClient(app) as first:
        for role in ROLES:
            client = first if role == "admin" else TestClient(app)
            # Every role's requests run on the app's one event loop, as under uvicorn: a client
            # of its own would run them on a thread of its own, beside the sender's and the
            # escalator's store writes on the lifespan's loop, sharing one SQLite connection.
            client.portal = first.portal
            if role != "anonymous":
                add_user(first, f"{role}-1", Role(role))
                log_in(client, f"{role}-1")
            made[role] = client
        yield made


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            yield from _api_routes(route.original_router.routes)


def test_routes_table_covers_every_route(clients: dict[str, TestClient]) -> None:
    app = clients["admin"].app
    routes = {
        (method, route.path)
        for route in _api_routes(app.routes)  # type: ignore[attr-defined]
        for method in route.methods
    }
    assert routes == set(ROUTES)


_CASES: Final = [
    pytest.param(key, role, id=f"{role}-{key[0]}-{key[1]}")
    for key in sorted(ROUTES)
    for role in ROLES
    if role in ROUTES[key][2]  # the live stream's logged-in case is checked on its own
]


@pytest.mark.parametrize(("key", "role"), _CASES)
def test_routes_role_gets_the_allowed_status_and_never_forbidden_fields(
    clients: dict[str, TestClient], key: tuple[str, str], role: str
) -> None:
    method, _ = key
    path, body, expected = ROUTES[key]
    client = clients[role]
    if method == "GET":
        answer = client.get(path, follow_redirects=False)
    elif isinstance(body, dict) and (key[0], key[1]) in _FORMS:
        data = {k: v.format(role=role) for k, v in body.items()}
        if role != "anonymous" and key != ("POST", "/login"):
            data["csrf_token"] = client.headers["x-csrf-token"]
        answer = client.post(path, data=data, follow_redirects=False)
    else:
        answer = client.post(path, json=body, follow_redirects=False)
    assert answer.status_code == expected[role], answer.text[:300]
    if key == ("POST", "/logout") and role != "anonymous":
        log_in(client, f"{role}-1")  # the other routes still need the session
    text = answer.text
    for word in NEVER:
        assert word not in text
    if role in {"responder", "anonymous"}:
        assert not any(p in text for p in PSEUDONYMS), "a pseudonym reached a non-staff reader"
    if path.startswith("/api/") and path not in {f"/api/alerts/{ALERT}"}:
        for field in NEVER_IN_LISTS:
            assert field not in text
    if answer.status_code == 303 and role == "anonymous":
        assert answer.headers["location"].startswith("/login?next=")


_FORMS: Final = {
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/devices/enrol"),
    ("POST", "/devices/enrolments/{enrolment_id}/end"),
    ("POST", "/users"),
    ("POST", "/users/{username}"),
    ("POST", "/act/{token}"),
    ("POST", "/residents"),
    ("POST", "/residents/{participant_id}/consent"),
    ("POST", "/residents/{participant_id}/withdraw"),
    ("POST", "/residents/{participant_id}/identity"),
}


def test_routes_alert_view_is_audited_and_trimmed_for_responders(
    clients: dict[str, TestClient],
) -> None:
    audit = clients["admin"].app.state.services.audit  # type: ignore[attr-defined]
    staff = clients["staff"].get(f"/api/alerts/{ALERT}").json()
    assert (staff["participant"], staff["evidence"]) == (PSEUDONYMS[0], {"apnoea_s": 21.5})
    assert audit.entries(ALERT)[0]["actor"] == "staff-1"
    responder = clients["responder"].get(f"/api/alerts/{ALERT}").json()
    assert "participant" not in responder
    assert responder["evidence"] == {"apnoea_s": 21.5}  # what was seen, not who
    entry = audit.entries(ALERT)[0]
    assert (entry["actor"], entry["action"]) == ("responder-1", "read.alert")


def test_routes_personal_reads_fail_closed_when_the_audit_log_cannot_be_written(
    clients: dict[str, TestClient],
) -> None:
    store: Store = clients["admin"].app.state.services.store  # type: ignore[attr-defined]
    store.db.execute(
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    try:
        answer = clients["staff"].get(f"/api/alerts/{ALERT}")
        assert answer.status_code == 503
        assert PSEUDONYMS[0] not in answer.text
        assert clients["staff"].get("/devices").status_code == 503
    finally:
        store.db.execute("DROP TRIGGER audit_down")


def test_routes_stream_admits_every_role(clients: dict[str, TestClient]) -> None:
    for role in ("admin", "staff", "responder"):
        with clients[role].stream("GET", "/api/stream") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert next(answer.iter_lines()) == "retry: 2000"


def test_routes_responses_are_json_or_html_never_a_traceback(
    clients: dict[str, TestClient],
) -> None:
    bad = clients["staff"].get("/api/history", params={"from": "yesterday"})
    assert bad.status_code == 422
    assert "Traceback" not in bad.text
    assert json.loads(bad.text)["detail"]
