"""The admission rules: what a well-formed edge message may not ask for (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from firmware_bridge import wire
from server.domain.admission import ACKED_REFUSALS, Owner, Refusal, refusal

NOW = datetime(2026, 11, 22, 16, 35, 59, tzinfo=UTC)
SITES = frozenset({"hostel-1", "hostel-2"})
ALERT_ID = wire.encode_ulid(1, 1)


def _from(site: str, edge: str, body: wire.Body) -> wire.Envelope:
    kind = wire.MessageKind.UPDATE if isinstance(body, wire.UpdateBody) else wire.MessageKind.ALERT
    return wire.Envelope(wire.encode_ulid(2, 2), kind, site, edge, NOW, body)


def _alert(kind: wire.AlertKind) -> wire.AlertBody:
    return wire.AlertBody(kind, wire.Severity.CRITICAL, NOW, NOW)


CANCEL = wire.UpdateBody(ALERT_ID, wire.AlertUpdate.CANCELLED_BY_WEARER, NOW)


@pytest.mark.parametrize(
    ("envelope", "owner", "expected"),
    [
        (_from("hostel-1", "pi-1", _alert(wire.AlertKind.APNOEA)), None, None),
        (_from("elsewhere", "pi-1", _alert(wire.AlertKind.APNOEA)), None, Refusal.UNKNOWN_SITE),
        (_from("hostel-1", "pi-1", _alert(wire.AlertKind.EDGE_OFFLINE)), None, Refusal.SERVER_KIND),
        (_from("hostel-1", "pi-1", _alert(wire.AlertKind.LOW_BATTERY)), None, Refusal.SERVER_KIND),
        (_from("hostel-1", "pi-1", CANCEL), Owner("hostel-1", "pi-1", "edge"), None),
        (_from("hostel-1", "pi-1", CANCEL), None, None),  # no such alert: the update is a no-op
        (_from("hostel-1", "pi-1", CANCEL), Owner("hostel-2", "pi-2", "edge"), Refusal.NOT_OWNER),
        (_from("hostel-1", "pi-1", CANCEL), Owner("hostel-1", "pi-2", "edge"), Refusal.NOT_OWNER),
        (_from("hostel-1", "pi-1", CANCEL), Owner("hostel-1", "pi-1", "server"), Refusal.NOT_OWNER),
        (
            _from("elsewhere", "pi-1", CANCEL),
            Owner("hostel-1", "pi-1", "edge"),
            Refusal.UNKNOWN_SITE,
        ),
    ],
)
def test_admission_refuses_what_the_sender_may_not_ask(
    envelope: wire.Envelope, owner: Owner | None, expected: Refusal | None
) -> None:
    assert refusal(envelope, SITES, owner) is expected


def test_admission_acks_only_refusals_that_resending_cannot_cure() -> None:
    assert Refusal.UNKNOWN_SITE not in ACKED_REFUSALS  # the alert waits on the edge
    assert {Refusal.SERVER_KIND, Refusal.NOT_OWNER} == ACKED_REFUSALS


def test_admission_never_refuses_a_kind_the_edge_detector_raises() -> None:
    from edge.detector import EventKind

    assert not {kind.value for kind in EventKind} & {kind.value for kind in wire.SERVER_KINDS}
    assert wire.AlertKind.BUTTON not in wire.SERVER_KINDS
    assert wire.AlertKind.TEST not in wire.SERVER_KINDS  # drills come from the edge
