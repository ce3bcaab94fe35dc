"""Consent at the edge: which residents a snapshot lets the edge monitor (pure)."""

from __future__ import annotations

import pytest

from edge.consent import Change, ConsentBook, ConsentState, read_state

ACTIVE, WITHDRAWN, PAUSED = ConsentState.ACTIVE, ConsentState.WITHDRAWN, ConsentState.PAUSED


def test_consent_only_explicit_active_monitors() -> None:
    assert [s for s in ConsentState if s.monitors] == [ACTIVE]
    assert read_state("erased") is ConsentState.ERASED
    assert read_state("ACTIVE") is ConsentState.UNKNOWN
    assert read_state(1) is ConsentState.UNKNOWN
    assert read_state(None) is ConsentState.UNKNOWN


@pytest.mark.parametrize(
    ("default", "snapshot", "monitored", "changes"),
    [
        ("active", {"p-1": "withdrawn"}, {"p-2"}, [Change("p-1", ACTIVE, WITHDRAWN)]),
        ("active", {"p-1": "active", "p-2": "active"}, {"p-1", "p-2"}, []),
        ("paused", {"p-2": "active"}, {"p-2"}, [Change("p-2", PAUSED, ACTIVE)]),
        ("active", {"p-1": "sleeping"}, {"p-2"}, [Change("p-1", ACTIVE, ConsentState.UNKNOWN)]),
        ("active", {"p-9": "withdrawn"}, {"p-1", "p-2"}, []),
    ],
)
def test_consent_snapshot_changes_who_is_monitored(
    default: str, snapshot: dict[str, str], monitored: set[str], changes: list[Change]
) -> None:
    book = ConsentBook.initial(["p-1", "p-2"], ConsentState(default))
    after, changed = book.apply(dict(snapshot))
    assert {p for p in ("p-1", "p-2") if after.monitors(p)} == monitored
    assert list(changed) == changes
    # The broker redelivers the retained snapshot after every reconnect: nothing changes then.
    assert after.apply(dict(snapshot)) == (after, ())


def test_consent_absent_resident_returns_to_the_default() -> None:
    book = ConsentBook.initial(["p-1"], PAUSED)
    book, _ = book.apply({"p-1": "active"})
    assert book.monitors("p-1")
    book, (change,) = book.apply({})
    assert not book.monitors("p-1")
    assert change.stops
    assert not change.starts
    assert not book.monitors("p-unknown")
    assert book.strangers({"p-1": "active", "p-7": "active"}) == ("p-7",)
