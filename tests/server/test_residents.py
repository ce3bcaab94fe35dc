"""Identity kept apart: staff and admins only, each view audited first, corrections keep history."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth import Role
from server.config import settings_from_mapping
from server.store.db import Store
from tests.server.conftest import add_user, log_in, staff_client

NAME = "Morag Example-Surname"


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = settings_from_mapping(
        {"mqtt": {"port": 1}, "sites": [{"id": "hostel-1", "name": "Hostel"}]}
    )
    with TestClient(create_app(settings, store=Store(None))) as client:
        staff_client(client)
        made = client.post(
            "/api/residents", json={"participant_id": "p-0001", "site_id": "hostel-1"}
        )
        assert made.status_code == 201
        saved = client.post(
            "/api/residents/p-0001/identity",
            json={"name": NAME, "date_of_birth": "1984-03-02", "notes": "call her sister"},
        )
        assert saved.status_code == 201, saved.text
        yield client


def test_residents_identity_is_read_by_staff_with_an_audit_row_first(client: TestClient) -> None:
    audit = client.app.state.services.audit  # type: ignore[attr-defined]
    before = len(audit.entries())
    got = client.get("/api/residents/p-0001/identity").json()
    assert got["identity"]["name"] == NAME
    entry = audit.entries("p-0001")[0]
    assert (entry["action"], entry["actor"]) == ("read.identity", "night-staff")
    assert len(audit.entries()) == before + 1
    # The audit detail of the write named the fields, never the values.
    writes = [e for e in audit.entries("p-0001") if e["action"] == "identity.write"]
    assert NAME not in str(writes)
    assert writes[0]["detail"]["fields"] == ["date_of_birth", "name", "notes"]
    assert NAME in client.get("/residents/p-0001").text


def test_residents_identity_is_never_shown_to_responders(client: TestClient) -> None:
    add_user(client, "resp-1", Role.RESPONDER)
    log_in(client, "resp-1")
    for path in ("/api/residents/p-0001/identity", "/residents/p-0001", "/residents"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 403
        assert NAME not in answer.text


def test_residents_identity_read_fails_closed_without_the_audit_log(client: TestClient) -> None:
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    store.db.execute(
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    for path in ("/api/residents/p-0001/identity", "/residents/p-0001"):
        answer = client.get(path)
        assert answer.status_code == 503
        assert NAME not in answer.text


def test_residents_rectification_keeps_history_and_needs_a_reason(client: TestClient) -> None:
    fix = {"name": "Morag Example", "date_of_birth": "1984-03-02", "notes": "call her sister"}
    assert client.post("/api/residents/p-0001/identity", json=fix).status_code == 422
    fixed = client.post(
        "/api/residents/p-0001/identity", json={**fix, "reason": "misspelt at intake"}
    )
    assert fixed.json()["version"] == 2
    got = client.get("/api/residents/p-0001/identity").json()
    assert got["identity"]["name"] == "Morag Example"
    first, second = got["history"]
    assert (first["name"], first["void_reason"], first["voided_by"]) == (
        NAME,
        "misspelt at intake",
        "night-staff",
    )
    assert second["voided_at"] is None
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    with pytest.raises(sqlite3.IntegrityError, match="never edited"):
        store.db.execute("UPDATE resident_identity SET name = 'X' WHERE version = 2")
    with pytest.raises(sqlite3.IntegrityError, match="never edited"):
        store.db.execute("UPDATE resident_identity SET void_reason = 'X' WHERE version = 1")
    with pytest.raises(sqlite3.IntegrityError, match="only erasure"):
        store.db.execute("DELETE FROM resident_identity")


def test_residents_bad_identity_is_refused_with_a_reason(client: TestClient) -> None:
    future = client.post(
        "/api/residents/p-0001/identity",
        json={"name": "X", "date_of_birth": "2999-01-01", "reason": "r"},
    )
    assert future.status_code == 422
    assert "date_of_birth" in future.text
    assert client.post("/api/residents/p-9/identity", json={"name": "X"}).status_code == 404
    bad = client.post("/api/residents", json={"participant_id": "Morag", "site_id": "hostel-1"})
    assert bad.status_code == 422
    elsewhere = client.post("/api/residents", json={"participant_id": "p-1", "site_id": "nowhere"})
    assert elsewhere.status_code == 422
