"""Requests no client should send answer 4xx with the reason, never 500 (issue 13)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from server.app import create_app
from server.auth.models import Role
from server.config import settings_from_mapping
from server.store.db import Store
from tests.server.conftest import staff_client

ALERT = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

JSON_BODIES = {
    f"/api/alerts/{ALERT}/actions": '{"action": "resolve", "naloxone_doses": 1e400}',
    "/api/sites/hostel-1/test-alert": '{"room": 1e400}',
    "/api/residents": '{"participant_id": "p-1", "site_id": "hostel-1", "x": -1e400}',
    "/api/residents/p-1/consent": '{"action": NaN}',
    "/api/residents/p-1/identity": '{"name": Infinity}',
    f"/api/alerts/{ALERT}/disclosure": '{"reason": 1e400}',
    f"/api/alerts/{ALERT}/referral": '{"service": 1e400}',
    "/api/account/mfa": '{"code": 1e400}',
}
"""Every JSON endpoint, with a number JSON cannot write back (it parses as infinity)."""


def test_bad_numbers_and_far_dates_answer_4xx_with_a_reason() -> None:
    settings = settings_from_mapping(
        {"mqtt": {"port": 1}, "sites": [{"id": "hostel-1", "name": "Hostel"}]}
    )
    with TestClient(create_app(settings, store=Store(None)), raise_server_exceptions=False) as c:
        staff_client(c, "boss", Role.ADMIN)
        for path, body in JSON_BODIES.items():
            answer = c.post(path, content=body, headers={"content-type": "application/json"})
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["detail"][0]["msg"], path
            assert "1e400" not in answer.text  # the reason, not an echo of the input
        for query in ("to=9999-12-31", "from=0001-01-01", "to=1969-12-31", "from=2999-12-31"):
            for path in ("/api/history", "/api/reports", "/history", "/reports"):
                answer = c.get(f"{path}?{query}")
                assert answer.status_code == 422, (path, query, answer.text)
                assert "than or equal to" in answer.json()["detail"][0]["msg"]
        for query in ("from=1970-01-01", "to=2999-12-30"):
            assert c.get(f"/api/history?{query}").status_code == 200


def test_bad_requests_enrolment_ids_beyond_sqlite_integers_answer_4xx() -> None:
    settings = settings_from_mapping(
        {"mqtt": {"port": 1}, "sites": [{"id": "hostel-1", "name": "Hostel"}]}
    )
    with TestClient(create_app(settings, store=Store(None)), raise_server_exceptions=False) as c:
        staff_client(c, "boss", Role.ADMIN)
        for enrolment in ("99999999999999999999999", "-99999999999999999999999", "0"):
            for method, path in (
                ("GET", f"/enrolments/{enrolment}/consent"),
                ("POST", f"/devices/enrolments/{enrolment}/end"),
            ):
                answer = c.request(method, path, follow_redirects=False)
                assert answer.status_code == 422, (method, path, answer.text)
                assert "than or equal to" in answer.json()["detail"][0]["msg"]
        assert c.get("/enrolments/9223372036854775807/consent").status_code == 404  # none such
