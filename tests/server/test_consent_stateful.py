"""Hypothesis state machine: whatever residents do with their consent, nothing is stored without it.

Rules enrol, give, decline and withdraw per purpose, let review dates pass, erase, and inject
events. A model tracks what each purpose should be; the invariants are that the server agrees
with the model for every purpose, and that no event is stored for anyone without active
monitoring consent at that moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from firmware_bridge import wire
from firmware_bridge.wire import AlertKind, Severity
from server.audit import AuditLog
from server.domain.alerts import Alert
from server.privacy.consent import (
    CONSENT_PURPOSES,
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    ConsentRefused,
)
from server.privacy.consent_texts import current_text
from server.privacy.gate import ConsentGate
from server.privacy.inventory import Purpose
from server.privacy.rights import erase
from server.store.consents import Consents
from server.store.db import Store
from server.store.residents import ResidentError, Residents

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PEOPLE = ("p-0001", "p-0002")
people = st.sampled_from(PEOPLE)
purposes = st.sampled_from(CONSENT_PURPOSES)


class ConsentMachine(RuleBasedStateMachine):
    """One server's consent records against a model of what they should add up to."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = START
        self.store = Store(None)
        self.consents = Consents(self.store.db, lambda: self.clock)
        self.gate = ConsentGate(self.consents, lambda: self.clock, refuse_unenrolled=True)
        self.enrolled: set[str] = set()
        self.erased: set[str] = set()
        self.given: dict[str, set[Purpose]] = {p: set() for p in PEOPLE}
        self.review: dict[str, datetime] = {}
        self.stored: dict[str, int] = dict.fromkeys(PEOPLE, 0)
        self.events = 0

    def teardown(self) -> None:
        self.store.close()

    def _monitoring(self, person: str) -> bool:
        return (
            person not in self.erased
            and Purpose.MONITORING in self.given[person]
            and self.review[person].date() > self.clock.date()
        )

    def _record(self, person: str, action: ConsentAction, chosen: tuple[Purpose, ...]) -> bool:
        text = current_text()
        giving = action is ConsentAction.GIVE
        due = (self.clock + timedelta(days=30)).date()
        try:
            self.consents.add(
                ConsentRecord(
                    person,
                    action,
                    chosen,
                    ConsentMethod.VERBAL,
                    "staff",
                    self.clock,
                    "staff",
                    text.version,
                    text.sha256,
                    giving,
                    due if giving else None,
                )
            )
        except ConsentRefused:
            return False
        return True

    @rule(person=people)
    def enrol(self, person: str) -> None:
        try:
            Residents(self.store.db, lambda: self.clock).ensure(person, "hostel-1", "staff")
        except ResidentError:
            assert person in self.erased
            return
        self.enrolled.add(person)

    @precondition(lambda self: bool(self.enrolled))
    @rule(person=people, extra=st.sets(purposes))
    def give(self, person: str, extra: set[Purpose]) -> None:
        chosen = tuple(sorted({Purpose.MONITORING, *extra}))
        if self._record(person, ConsentAction.GIVE, chosen):
            self.given[person] |= set(chosen)
            if Purpose.MONITORING in chosen:
                self.review[person] = self.clock + timedelta(days=30)
        else:
            assert person in self.erased

    @rule(person=people, purpose=purposes, decline=st.booleans())
    def withdraw_or_decline(self, person: str, purpose: Purpose, decline: bool) -> None:
        action = ConsentAction.DECLINE if decline else ConsentAction.WITHDRAW
        if self._record(person, action, (purpose,)):
            self.given[person].discard(purpose)
        else:
            assert person in self.erased

    @rule(days=st.integers(min_value=1, max_value=40))
    def time_passes(self, days: int) -> None:
        self.clock += timedelta(days=days)

    @rule(person=people)
    def erase_them(self, person: str) -> None:
        erase(self.store.db, AuditLog(self.store.db), person, "dpo", lambda: self.clock)
        if person in self.enrolled or self.stored[person]:  # the server knew their site
            self.erased.add(person)
        self.given[person] = set()
        self.stored[person] = 0

    @rule(person=people)
    def event_arrives(self, person: str) -> None:
        self.events += 1
        envelope = wire.Envelope(
            wire.encode_ulid(int(START.timestamp() * 1000) + self.events, self.events),
            wire.MessageKind.DEVICE,
            "hostel-1",
            "pi-1",
            self.clock,
            wire.DeviceBody("connected"),
            participant_id=person,
        )
        admitted = self.gate.admits(envelope)
        assert admitted == self._monitoring(person)
        if admitted:
            alert = Alert(
                envelope.msg_id,
                "hostel-1",
                "pi-1",
                AlertKind.APNOEA,
                Severity.CRITICAL,
                self.clock,
                self.clock,
                self.clock,
                participant_id=person,
            )
            self.store.insert_alert(alert)
            self.stored[person] += 1

    @invariant()
    def server_agrees_with_the_model_for_every_purpose(self) -> None:
        for person in PEOPLE:
            for purpose in CONSENT_PURPOSES:
                expected = purpose in self.given[person] and self._monitoring(person)
                assert self.consents.permits(person, purpose) == expected, (person, purpose)

    @invariant()
    def nothing_is_stored_beyond_what_consent_allowed(self) -> None:
        for person in PEOPLE:
            count = self.store.db.execute(
                "SELECT COUNT(*) FROM alerts WHERE participant_id = ?", [person]
            ).fetchone()[0]
            assert count == self.stored[person]


TestConsentMachine = ConsentMachine.TestCase
