"""The panel's pure parts (board states, reports) and its forms (enrolment, accounts, history)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firmware_bridge.wire import AlertKind, Severity, format_utc
from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.domain.alerts import Alert, AlertState
from server.domain.lifecycle import Lifecycle, Outcome
from server.store.db import Store
from server.web.board_state import build_board, device_status
from server.web.history import OUTCOME_LABELS
from server.web.report_math import quantile, report, shown
from server.web.templating import duration
from tests.server.conftest import add_user, log_in

T0 = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)

# -- board states (pure) -------------------------------------------------------------------------


def _health(state: str = "connected", low: bool = False) -> dict[str, Any]:
    return {"state": state, "battery_low": int(low), "battery_pct": 15.0 if low else 80.0}


@pytest.mark.parametrize(
    ("health", "consent", "edge", "alerts", "status"),
    [
        (_health(), "active", "online", [], "ok"),
        (_health(low=True), "active", "online", [], "low_battery"),
        (_health(low=True), "pending", "online", [], "not_consented"),
        (_health("no_data"), "active", "online", [], "no_data"),
        (None, "active", None, [], "no_data"),
        (_health(), "active", "offline", [], "offline"),
        (_health("disconnected"), "withdrawn", "online", [], "offline"),
        (
            _health(),
            "active",
            "online",
            [{"kind": "apnoea", "state": "checking_in", "severity": "warning"}],
            "checking_in",
        ),
        (
            _health(),
            "active",
            "offline",
            [{"kind": "apnoea", "state": "acknowledged", "severity": "critical"}],
            "alert_critical",
        ),
        (
            _health(low=True),
            "active",
            "online",
            [{"kind": "low_battery", "state": "noted", "severity": "info"}],
            "low_battery",
        ),
        (
            _health(low=True),
            "active",
            "online",
            [{"kind": "no_signal", "state": "noted", "severity": "warning"}],
            "cannot_see_breathing",
        ),
        (
            _health(),
            "active",
            "online",
            [
                {"kind": "no_signal", "state": "noted", "severity": "warning"},
                {"kind": "apnoea", "state": "triggered", "severity": "critical"},
            ],
            "alert_critical",
        ),
    ],
)
def test_board_device_status_precedence(
    health: dict[str, Any] | None,
    consent: str,
    edge: str | None,
    alerts: list[dict[str, Any]],
    status: str,
) -> None:
    assert device_status(health, {"consent": consent}, edge, alerts)[0] == status


def test_board_rooms_take_their_worst_and_unknown_devices_are_unassigned() -> None:
    board = build_board(
        [("h", "Hostel", [("r1", "Room 1"), ("r2", "Room 2"), ("r3", "Room 3")])],
        [
            {"device_id": "w1", "site_id": "h", "edge_id": "e", **_health()},
            {"device_id": "w2", "site_id": "h", "edge_id": "e", **_health(low=True)},
            {"device_id": "w9", "site_id": "h", "edge_id": "e", **_health()},
        ],
        [
            {"device_id": "w1", "site_id": "h", "room_id": "r1", "consent": "active"},
            {"device_id": "w2", "site_id": "h", "room_id": "r2", "consent": "active"},
        ],
        [{"site_id": "h", "edge_id": "e", "state": "online"}],
        [
            {
                "id": "a1",
                "site_id": "h",
                "device_id": None,
                "room_id": "r2",
                "kind": "prolonged_occupancy",
                "severity": "warning",
                "state": "triggered",
            }
        ],
    )
    (site,) = board
    statuses = {room["id"]: room["status"] for room in site["rooms"]}
    assert statuses == {"r1": "ok", "r2": "alert_warning", "r3": "no_data"}
    assert [d["id"] for d in site["unassigned"]] == ["w9"]
    assert site["edges"] == [{"id": "e", "state": "online"}]
    assert "participant" not in str(board)


# -- reports (pure) ------------------------------------------------------------------------------


def _row(n: int, kind: str = "apnoea", outcome: str | None = "naloxone_given") -> dict[str, Any]:
    detected = T0 + timedelta(hours=n)
    return {
        "kind": kind,
        "outcome": outcome,
        "origin": "edge",
        "state": "resolved" if outcome else "triggered",
        "detected_at": format_utc(detected),
        "ack_at": format_utc(detected + timedelta(seconds=10 * n)),
        "on_scene_at": format_utc(detected + timedelta(seconds=60 + 10 * n)),
        "closed_at": format_utc(detected + timedelta(seconds=600)) if outcome else None,
    }


def test_report_quantile_matches_linear_interpolation() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([10.0], 0.9) == 10.0
    assert quantile(list(map(float, range(1, 11))), 0.9) == pytest.approx(9.1)
    with pytest.raises(ValueError, match="need values"):
        quantile([], 0.5)


def test_report_suppresses_small_counts_and_times() -> None:
    assert [shown(n) for n in (0, 1, 4, 5)] == [0, "<5", "<5", 5]
    rows = [_row(n) for n in range(1, 7)] + [_row(9, "button", "false_alarm")]
    rows.append({**_row(10, "test", "false_alarm"), "origin": "test"})
    data = report(rows)
    assert data["total"] == 7
    assert data["by_kind"] == {"apnoea": 6, "button": "<5"}
    assert data["by_outcome"] == {"false_alarm": "<5", "naloxone_given": 6}
    ack = data["response"]["ack"]
    assert ack["n"] == 7
    assert ack["median_s"] == 40.0
    assert ack["p90_s"] == pytest.approx(72.0)
    few = report(rows[:3])["response"]["resolve"]
    assert (few["n"], few["median_s"], few["p90_s"]) == ("<5", None, None)


def test_report_response_times_leave_out_what_the_system_closed() -> None:
    # A recovery and a "cannot see breathing" warning are closed by the system, the recovery
    # within a second: counted by kind and outcome, but they are not responses to a resident.
    rows = [_row(n) for n in range(1, 6)]
    system = [
        {**_row(n, kind, "reconnected"), "ack_at": None, "on_scene_at": None}
        for n, kind in ((7, "recovered"), (8, "no_signal"), (9, "recovered"))
    ]
    data = report(rows + system)
    assert data["by_kind"] == {"apnoea": 5, "no_signal": "<5", "recovered": "<5"}
    assert data["response"]["resolve"]["n"] == 5
    assert data["response"]["resolve"]["median_s"] == 600.0


def test_report_outcome_labels_cover_every_outcome() -> None:
    assert {o.value for o in Outcome} | {"open"} == set(OUTCOME_LABELS)


def test_templating_duration_reads_naturally() -> None:
    assert [duration(x) for x in (None, 4.4, 95.0, 3725.0)] == [
        "—",
        "4 s",
        "1 min 35 s",
        "1 h 02 min",
    ]


# -- forms through the app -----------------------------------------------------------------------


@pytest.fixture
def admin() -> Iterator[TestClient]:
    settings = settings_from_mapping(
        {
            "mqtt": {"port": 1},
            "sites": [
                {"id": "hostel-1", "name": "Hostel", "rooms": [{"id": "room-1", "label": "Room 1"}]}
            ],
        }
    )
    store = Store(None)
    for n, (kind, outcome) in enumerate(
        [("apnoea", "naloxone_given"), ("button", "false_alarm"), ("apnoea", None)], start=1
    ):
        alert = Alert(
            f"01jf00000000000000000000a{n}",
            "hostel-1",
            "pi-1",
            AlertKind(kind),
            Severity.CRITICAL,
            T0 + timedelta(days=n),
            T0 + timedelta(days=n),
            T0 + timedelta(days=n),
            room_id="room-1",
        )
        state = AlertState.RESOLVED if outcome else AlertState.TRIGGERED
        store.insert_alert(alert, Lifecycle(state))
        if outcome:
            store.db.execute(
                "UPDATE alerts SET outcome = ?, closed_at = ? WHERE id = ?",
                [outcome, format_utc(T0 + timedelta(days=n, minutes=5)), alert.alert_id],
            )
    with TestClient(create_app(settings, store=store)) as client:
        add_user(client, "ada", Role.ADMIN)
        log_in(client, "ada")
        yield client


def _form(client: TestClient, path: str, **data: str) -> Any:
    data["csrf_token"] = client.headers["x-csrf-token"]
    return client.post(path, data=data, follow_redirects=False)


def test_history_filters_by_kind_outcome_and_dates(admin: TestClient) -> None:
    def ids(**params: str) -> list[str]:
        return [row["id"][-2:] for row in admin.get("/api/history", params=params).json()]

    assert ids() == ["a3", "a2", "a1"]
    assert ids(kind="apnoea") == ["a3", "a1"]
    assert ids(outcome="open") == ["a3"]
    assert ids(outcome="false_alarm") == ["a2"]
    day2 = (T0 + timedelta(days=2)).date().isoformat()
    assert ids(**{"from": day2, "to": day2}) == ["a2"]
    assert admin.get("/api/history", params={"outcome": "bogus"}).status_code == 422
    page = admin.get("/history", params={"kind": "apnoea"})
    assert page.status_code == 200
    assert "naloxone given" in page.text
    assert "Room 1" in page.text


def test_enrolment_goes_to_the_consent_step_and_is_audited(admin: TestClient) -> None:
    made = _form(
        admin,
        "/devices/enrol",
        device_id="wearable-7",
        site_id="hostel-1",
        room_id="room-1",
        participant_id="p-0007",
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/enrolments/1/consent"
    assert "pending" in admin.get(made.headers["location"]).text
    again = _form(
        admin, "/devices/enrol", device_id="wearable-7", site_id="hostel-1", participant_id="p-8"
    )
    assert again.status_code == 400
    assert "already enrolled" in again.text
    bad_room = _form(
        admin,
        "/devices/enrol",
        device_id="wearable-8",
        site_id="hostel-1",
        room_id="room-9",
        participant_id="p-8",
    )
    assert bad_room.status_code == 400
    (tile,) = admin.get("/api/board").json()["sites"][0]["rooms"][0]["devices"]
    assert (tile["id"], tile["status"]) == ("wearable-7", "no_data")
    assert "not_consented" in tile["flags"]
    audit = admin.app.state.services.audit  # type: ignore[attr-defined]
    assert [e["action"] for e in audit.entries("p-0007")][-1] == "enrolment.create"
    assert _form(admin, "/devices/enrolments/1/end").status_code == 303
    assert admin.get("/api/board").json()["sites"][0]["rooms"][0]["devices"] == []


def test_accounts_admin_cannot_remove_the_last_admin(admin: TestClient) -> None:
    assert _form(admin, "/users/ada", change="disable").status_code == 409
    assert _form(admin, "/users/ada", change="role", role="staff").status_code == 409
    made = _form(admin, "/users", username="Sam", role="responder", password="short")
    assert made.status_code == 400
    assert "at least 8" in made.text
    made = _form(admin, "/users", username="Sam", role="responder", password="a fine passphrase")
    assert made.status_code == 303
    assert _form(admin, "/users/sam", change="role", role="staff").status_code == 303
    assert _form(admin, "/users/sam", change="disable").status_code == 303
    accounts = {a["username"]: a for a in admin.app.state.services.users.accounts()}  # type: ignore[attr-defined]
    assert (accounts["sam"]["role"], accounts["sam"]["disabled"]) == ("staff", True)
    audit = [e["action"] for e in admin.app.state.services.audit.entries("sam")]  # type: ignore[attr-defined]
    assert audit == ["account.disable", "account.role", "account.create"]


def test_settings_view_shows_channels_never_urls(admin: TestClient) -> None:
    page = admin.get("/sites")
    assert page.status_code == 200
    assert "Room 1" in page.text
    assert "09:00–17:00 Europe/London" in page.text
    audit = admin.get("/audit")
    assert "read.audit" in audit.text
    assert "chain intact" in audit.text
