"""The edge agent's detections and check-ins: sample blocks in, alerts and updates out (shell).

Each sample block goes to its person's detector (:mod:`edge.detector`); each event becomes an
alert, and a paging warning starts a check-in with the wearer (:mod:`edge.checkin`), answered by
the button, closed by its timer or by staff. Everything queued goes through
:class:`edge.outgoing.Outgoing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from edge import checkin
from edge.config import Role
from edge.detector import DetectionEvent, DetectorError, Source
from edge.outgoing import Outgoing
from edge.residents import Resident
from edge.transport import ButtonPress, DeviceStatus
from firmware_bridge.errors import WireError
from firmware_bridge.log_budget import BudgetedLog
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import (
    AlertBody,
    AlertKind,
    DeviceState,
    Envelope,
    MessageKind,
    Severity,
    TextValue,
)

_LOGGER = logging.getLogger(__name__)

WATCHDOG_PERIOD_S: Final = 1.0
"""The detector decides once per second of signal; advancing it as often loses nothing."""


def source_of(role: Role, channel: Channel) -> Source:
    """Which detector source a device's channel counts as (a radar's door channel is a door)."""
    if channel is Channel.DOOR or role is Role.DOOR:
        return Source.DOOR
    return Source.RADAR if role is Role.RADAR else Source.WEARABLE


class Detections:
    """Feeds the detectors, raises alerts and runs the check-ins of every resident.

    Args:
        out: where messages are queued (and the household, clocks and counts it shares).

    Attributes:
        alerts: every alert queued since the start, in order.
        link_blocks: sample blocks each device has fed its person's detector.
    """

    def __init__(self, out: Outgoing) -> None:
        self._out = out
        self._household = out.household
        self.alerts: list[Envelope] = []
        self.link_blocks: Counter[str] = Counter()
        self._log = BudgetedLog(_LOGGER)

    def block(self, block: SampleBlock) -> list[Envelope]:
        """Feed one block to its person's detector and queue an alert per event."""
        out = self._out
        person = self._household.person_of(block.device_id)
        if person is None:
            out.counts["unassigned_blocks"] += 1
            return []
        detector = person.detector
        if detector is None:  # not consented: never looked at
            out.counts["withheld_blocks"] += 1
            return []
        person.blocks += 1
        self.link_blocks[block.device_id] += 1
        if block.device_id not in out.reported:
            # Links that report no status of their own (virtual, UART) still say they are up.
            out.status(DeviceStatus(block.device_id, DeviceState.CONNECTED, block.t0_s))
        if person.last_sample_s is None or block.end_s >= person.last_sample_s:
            person.last_sample_s, person.last_sample_at_s = block.end_s, out.clock()
        role = self._household.role(block.device_id)
        assert role is not None  # a device assigned to someone has a role
        try:
            events = detector.update(block, source=source_of(role, block.channel))
        except DetectorError as error:
            out.counts["rejected_blocks"] += 1
            self._log.warning("device %s: block rejected by detector: %s", block.device_id, error)
            return []
        return [self.event(person.participant, block.device_id, e) for e in events]

    def event(self, participant: str, device_id: str, event: DetectionEvent) -> Envelope:
        """Queue the alert for one detection (checking in first when it is a paging warning)."""
        detected_at = self._out.now()
        onset_at = detected_at - timedelta(seconds=max(event.t_s - event.onset_s, 0.0))
        kind, severity = AlertKind(event.kind.value), Severity(event.severity.value)
        person = self._household.people[participant]
        return self.raise_alert(person, device_id, kind, severity, onset_at, dict(event.evidence))

    def raise_alert(
        self,
        person: Resident,
        device_id: str | None,
        kind: AlertKind,
        severity: Severity,
        onset_at: datetime,
        evidence: Mapping[str, TextValue],
    ) -> Envelope:
        """Queue an alert for ``person`` and apply what the check-in makes of it."""
        out = self._out
        msg_id, detected_at = out.publisher.mint_id(), out.now()
        window_s = out.config.checkin_s if person.buzzers else 0.0
        step = checkin.alert_raised(person.checkin, msg_id, kind, severity, window_s, out.clock())
        onset_at = min(onset_at, detected_at)
        try:
            body = AlertBody(
                kind, severity, detected_at, onset_at, evidence, person.room, step.checkin_s
            )
        except WireError as error:
            # Never lose a detection over its evidence: send it without, and say why.
            _LOGGER.error(  # noqa: TRY400 - an expected input problem, not a crash
                "evidence for %s did not fit the wire (%s); sent without", kind, error
            )
            body = AlertBody(kind, severity, detected_at, onset_at, {}, person.room, step.checkin_s)
        envelope = out.envelope(MessageKind.ALERT, body, device_id, person.participant, msg_id)
        self.alerts.append(envelope)
        out.counts[f"alert_{kind.value}"] += 1
        _LOGGER.warning(
            "%s (%s) for %s in %s: alert %s queued%s",
            kind.value,
            severity.value,
            person.participant,
            person.room,
            msg_id,
            "" if step.checkin_s is None else f", checking in for {step.checkin_s:.0f} s",
        )
        out.apply(person, step)  # after the alert, so its updates follow it in the outbox
        return envelope

    def button(self, press: ButtonPress) -> None:
        """The wearer pressed their button: an answer to a check-in, or a call for help."""
        out = self._out
        person = self._household.person_of(press.device_id)
        if person is None or not person.monitored:
            out.counts["withheld_presses"] += 1
            return
        step = checkin.button_pressed(person.checkin, out.clock())
        out.apply(person, step)
        if step.help_alert:
            _LOGGER.warning("help button pressed by %s", person.participant)
            self.raise_alert(
                person, press.device_id, AlertKind.BUTTON, Severity.CRITICAL, out.now(), {}
            )

    def expire_checkins(self) -> None:
        """Close every check-in whose window has run out."""
        for person in self._household.people.values():
            self._out.apply(person, checkin.tick(person.checkin, self._out.clock()))

    def cancel_checkin(self, alert_id: str) -> None:
        """Staff cancelled alert ``alert_id`` on the panel: end its check-in, stop the buzz."""
        for person in self._household.people.values():
            if alert_id in person.checkin.alerts:
                self._out.apply(
                    person, checkin.staff_cancelled(person.checkin, alert_id, self._out.clock())
                )
                _LOGGER.info(
                    "staff cancelled the check-in of %s (%s)", person.participant, alert_id
                )
                return
        _LOGGER.info("check-in cancel for %s: no open check-in has it", alert_id)

    def queue_drill(self, drill_id: TextValue) -> Envelope | None:
        """Send a ``test`` alert tagged with ``drill_id`` for the edge's first resident."""
        people = self._household.people
        if drill_id is None or not people:
            _LOGGER.warning("drill ignored: %s", "no drill id" if people else "no residents")
            return None
        person = next(iter(people.values()))
        now = self._out.now()
        body = AlertBody(
            AlertKind.TEST, Severity.CRITICAL, now, now, {"drill": drill_id}, person.room
        )
        participant = person.participant if person.monitored else None
        envelope = self._out.envelope(MessageKind.ALERT, body, None, participant)
        self.alerts.append(envelope)
        _LOGGER.info("drill %s: test alert %s queued", drill_id, envelope.msg_id)
        return envelope

    def advance_detectors(self) -> list[Envelope]:
        """Tell each monitored detector the time now; queue what it reports."""
        queued: list[Envelope] = []
        for person in self._household.people.values():
            now_s = person.sample_clock_now(self._out.clock())
            if person.detector is None or now_s is None:
                continue
            device = next((link.device_id for link in person.links), person.participant)
            try:
                events = person.detector.advance(now_s)
            except DetectorError as error:
                _LOGGER.warning("detector of %s refused the clock: %s", person.participant, error)
                continue
            queued += [self.event(person.participant, device, e) for e in events]
        return queued

    async def watchdog(self) -> None:
        """Move every detector's clock on once a second, so silence itself is noticed.

        A device that stops sending feeds its detector nothing; without this the detector
        would never reach its no-signal verdict.
        """
        while True:
            await asyncio.sleep(WATCHDOG_PERIOD_S)
            self.advance_detectors()

    async def checkin_timer(self) -> None:
        """Close each check-in when its window runs out (woken early when a deadline moves)."""
        wake = self._out.timer_wake
        while True:
            wake.clear()
            due = [
                p.checkin.deadline_s
                for p in self._household.people.values()
                if p.checkin.deadline_s is not None
            ]
            wait_s = max(min(due) - self._out.clock(), 0.0) if due else None
            with contextlib.suppress(TimeoutError):  # not wait_for: see Publisher._drain
                async with asyncio.timeout(wait_s):
                    await wake.wait()
            self.expire_checkins()
