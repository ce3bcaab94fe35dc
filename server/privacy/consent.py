"""Consent per purpose: records, the state they add up to, and the edge's snapshot (pure).

A consent record is never edited: giving, declining and withdrawing each add a record naming
the purposes it is about. The state of a purpose is the action of the latest record that names
it; a resident's monitoring state, as the edge is told it (``active``, ``paused``,
``withdrawn``, ``erased``), follows from the monitoring purpose, its review date and erasure.
Everything here takes values and returns values; the store and the routes are the shell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from firmware_bridge.wire import ID_PATTERN
from server.privacy.inventory import Purpose

CONSENT_PURPOSES: Final[tuple[Purpose, ...]] = (
    Purpose.MONITORING,
    Purpose.AMBULANCE_SHARING,
    Purpose.REFERRAL,
    Purpose.STATISTICS,
)
"""The purposes a resident chooses among; the others rest on other lawful bases."""

REVIEW_MAX_DAYS: Final = 366
"""A review date more than a year away is refused: consent is refreshed at least yearly
(ICO: "review regularly"; the DPIA may set a shorter default, see ``privacy.review_days``)."""


class ConsentAction(StrEnum):
    """What a record does to the purposes it names."""

    GIVE = "give"
    DECLINE = "decline"
    WITHDRAW = "withdraw"


class ConsentMethod(StrEnum):
    """How the resident gave their answer (ICO: record how consent was given)."""

    WRITTEN = "written"
    VERBAL = "verbal"
    EASY_READ = "easy_read"
    INTERPRETER = "interpreter"
    PANEL = "panel"
    """Withdrawal told to staff and entered on the panel at once."""


class PurposeState(StrEnum):
    """The state of one purpose for one resident."""

    NONE = "none"
    """Never asked."""
    GIVEN = "given"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class EdgeConsent(StrEnum):
    """What the edge is told about a resident (docs/wire.md, ``consent`` command)."""

    ACTIVE = "active"
    PAUSED = "paused"
    """Not yet asked, or the review date has passed."""
    WITHDRAWN = "withdrawn"
    """Monitoring declined or withdrawn."""
    ERASED = "erased"


_STATE_OF: Final[dict[ConsentAction, PurposeState]] = {
    ConsentAction.GIVE: PurposeState.GIVEN,
    ConsentAction.DECLINE: PurposeState.DECLINED,
    ConsentAction.WITHDRAW: PurposeState.WITHDRAWN,
}


class Refused(ValueError):
    """A change to a resident's records was refused before anything was stored.

    Attributes:
        field: the field at fault.
        reason: why, in words for the person at the form.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ConsentRefused(Refused):
    """A consent record was refused."""


@dataclass(frozen=True, slots=True)
class ConsentText:
    """A version of the consent text shown to residents, and the SHA-256 of its bytes."""

    version: str
    sha256: str
    body: str


def text_sha256(body: bytes) -> str:
    """The hash a consent record carries for the text shown."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent record, as stored (never edited)."""

    participant_id: str
    action: ConsentAction
    purposes: tuple[Purpose, ...]
    method: ConsentMethod
    witness: str
    recorded_at: datetime
    recorded_by: str
    text_version: str | None = None
    text_sha256: str | None = None
    capacity_confirmed: bool = False
    review_due: date | None = None
    record_id: int = 0

    def __post_init__(self) -> None:
        check_record(self)


def check_record(record: ConsentRecord) -> None:
    """Refuse an incomplete or inconsistent record.

    Raises:
        ConsentRefused: naming the field and the reason.
    """
    if not ID_PATTERN.fullmatch(record.participant_id):
        raise ConsentRefused("participant", "must be 1-64 characters of a-z, 0-9, _ and -")
    if not record.purposes or len(set(record.purposes)) != len(record.purposes):
        raise ConsentRefused("purposes", "name each purpose once, at least one")
    outside = [p.value for p in record.purposes if p not in CONSENT_PURPOSES]
    if outside:
        raise ConsentRefused("purposes", f"{outside[0]} is not a purpose residents choose")
    if not ID_PATTERN.fullmatch(record.witness):
        raise ConsentRefused("witness", "name the staff member who witnessed it")
    if record.action is ConsentAction.WITHDRAW:
        return  # withdrawing needs nothing more than giving did: no text, no review date
    if not record.text_version or not record.text_sha256:
        raise ConsentRefused("text", "record the version and hash of the consent text shown")
    if record.action is ConsentAction.GIVE:
        if not record.capacity_confirmed:
            raise ConsentRefused(
                "capacity_confirmed", "confirm the resident could decide (not intoxicated)"
            )
        if record.review_due is None:
            raise ConsentRefused("review_due", "a consent needs a review date")
        if record.review_due <= record.recorded_at.date():
            raise ConsentRefused("review_due", "the review date must be in the future")
        if (record.review_due - record.recorded_at.date()).days > REVIEW_MAX_DAYS:
            raise ConsentRefused("review_due", f"at most {REVIEW_MAX_DAYS} days ahead")


def check_against(record: ConsentRecord, history: Iterable[ConsentRecord]) -> None:
    """Refuse a record that does not fit the resident's history.

    Other purposes rest on monitoring (there is nothing to share without it), so giving one of
    them needs monitoring given, in this record or already.

    Raises:
        ConsentRefused: naming the field and the reason.
    """
    if record.action is not ConsentAction.GIVE or Purpose.MONITORING in record.purposes:
        return
    if purpose_states(history)[Purpose.MONITORING] is not PurposeState.GIVEN:
        raise ConsentRefused("purposes", "the other purposes need monitoring consent first")


def purpose_states(records: Iterable[ConsentRecord]) -> dict[Purpose, PurposeState]:
    """The state of every purpose: the action of the latest record naming it.

    ``records`` must be in the order they were recorded.
    """
    states = dict.fromkeys(CONSENT_PURPOSES, PurposeState.NONE)
    for record in records:
        for purpose in record.purposes:
            states[purpose] = _STATE_OF[record.action]
    return states


def review_due(records: Iterable[ConsentRecord]) -> date | None:
    """The review date of the monitoring consent in force, if it is given."""
    due: date | None = None
    for record in records:
        if Purpose.MONITORING in record.purposes:
            due = record.review_due if record.action is ConsentAction.GIVE else None
    return due


def permits(records: Iterable[ConsentRecord], purpose: Purpose, today: date) -> bool:
    """Whether ``purpose`` may be used now: given, and monitoring's review not lapsed."""
    history = list(records)
    if purpose_states(history)[purpose] is not PurposeState.GIVEN:
        return False
    return edge_consent(history, erased=False, today=today) is EdgeConsent.ACTIVE


def edge_consent(records: Iterable[ConsentRecord], *, erased: bool, today: date) -> EdgeConsent:
    """What the edge is told about one resident."""
    if erased:
        return EdgeConsent.ERASED
    history = list(records)
    state = purpose_states(history)[Purpose.MONITORING]
    if state is PurposeState.NONE:
        return EdgeConsent.PAUSED
    if state is not PurposeState.GIVEN:
        return EdgeConsent.WITHDRAWN
    due = review_due(history)
    if due is not None and due <= today:
        return EdgeConsent.PAUSED
    return EdgeConsent.ACTIVE


def snapshot(
    residents: Mapping[str, Iterable[ConsentRecord]], erased: Iterable[str], today: date
) -> dict[str, str]:
    """The ``consent`` command's args for an edge: every resident it may serve, by pseudonym.

    Args:
        residents: each resident's records, in recorded order.
        erased: pseudonyms erased from the server; the edge must stop them for good.
        today: the date review dates are compared with.
    """
    states = {
        participant: edge_consent(records, erased=False, today=today).value
        for participant, records in residents.items()
    }
    states.update(dict.fromkeys(erased, EdgeConsent.ERASED.value))
    return dict(sorted(states.items()))
