"""The edge agent: device links -> one detector per person -> outbox -> publisher (shell, wiring).

Every detection, check-in update and device-state change becomes an envelope written durably to
the outbox before anything is published; the publisher deletes it only on the server's ack. The
check-in with the wearer (:mod:`edge.checkin`) and consent (:mod:`edge.consent`) decide; this
module applies their decisions: it buzzes wearables, queues messages, and starts or cancels each
resident's device links in a task of their own.

Which devices run comes from the TOML until the server's retained ``devices`` list arrives;
from then on the list is authoritative (:mod:`edge.roster`): :meth:`EdgeAgent.apply_devices`
stops and starts links to match, and a resident whose devices change has their links restarted
while their detector and check-in carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Final

from edge import checkin, roster
from edge.checkin import Step
from edge.config import DeviceConfig, EdgeConfig, Role
from edge.consent import ConsentBook
from edge.detector import DetectionEvent, Detector, DetectorError, Source
from edge.device_list_file import read_list, write_list
from edge.health import HealthWriter, build_report
from edge.household import Household
from edge.outbox import Outbox
from edge.publisher import BrokerAuthError, MqttSettings, Publisher
from edge.residents import BuzzWriter, Resident, silence, wait_stopped
from edge.roster import Assignment
from edge.supervisor import PermanentLinkError
from edge.tasks import TaskSupervisor
from edge.transport import ButtonPress, Buzzer, DeviceLink, DeviceStatus, LinkEvent, LinkState
from firmware_bridge.errors import WireError
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import (
    AlertBody,
    AlertKind,
    Command,
    CommandBody,
    DeviceBody,
    DeviceEntry,
    Envelope,
    MessageKind,
    Severity,
    TextValue,
    UpdateBody,
)

_LOGGER = logging.getLogger(__name__)

LinkBuilder = Callable[[DeviceConfig], DeviceLink]
"""Builds one device's link (``odart.links.LinkFactory.build``); raises ``EdgeConfigError``."""

WATCHDOG_PERIOD_S: Final = 1.0
"""The detector decides once per second of signal; advancing it as often loses nothing."""


def source_of(role: Role, channel: Channel) -> Source:
    """Which detector source a device's channel counts as (a radar's door channel is a door)."""
    if channel is Channel.DOOR or role is Role.DOOR:
        return Source.DOOR
    return Source.RADAR if role is Role.RADAR else Source.WEARABLE


class EdgeAgent:
    """Runs the links, the detectors, the check-ins and the publisher until cancelled.

    Args:
        config: validated edge config.
        links: one link per enrolled device (built by the caller from the config).
        link_builder: builds the link of a device on the server's device list; without one,
            the list is logged and ignored and the TOML's devices keep running.
        device_list_file: where the server's last device list is kept, so a restart without
            the broker runs it rather than the TOML's devices (:mod:`edge.device_list_file`).
        outbox: the durable outbox (opened by the caller, so tests can inspect it).
        now: wall clock (UTC), for message timestamps.
        clock: monotonic seconds, for check-in windows.
    """

    def __init__(
        self,
        config: EdgeConfig,
        links: Sequence[DeviceLink],
        outbox: Outbox,
        *,
        link_builder: LinkBuilder | None = None,
        device_list_file: Path | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.household = Household(config, links)
        self.outbox = outbox
        self._now = now
        self._clock = clock
        mqtt = config.mqtt
        self.publisher = Publisher(
            MqttSettings(
                mqtt.host,
                mqtt.port,
                mqtt.username,
                mqtt.password,
                tls=mqtt.tls.context() if mqtt.tls is not None else None,
                reconnect_max_s=mqtt.reconnect_max_s,
            ),
            config.site,
            config.edge,
            outbox,
            on_command=self.handle_command,
            now=now,
        )
        self._settings = self.household.settings
        self.people = self.household.people
        self.links = self.household.links
        self._link_builder = link_builder
        self._list_file = device_list_file
        self._listed = False
        """Whether the server's device list has replaced the TOML's devices."""
        self._loose: list[asyncio.Task[None]] = []
        """Tasks of TOML devices assigned to nobody (stopped when a server list arrives)."""
        self._devices_lock = asyncio.Lock()
        self._group: TaskSupervisor | None = None
        self._timer_wake = asyncio.Event()
        self.buzz = BuzzWriter(self.people.values)
        self.counts: Counter[str] = Counter()
        self.link_status: dict[str, DeviceStatus] = {}
        """Each device's latest link status (what ``odart edge`` prints per link)."""
        self.link_blocks: Counter[str] = Counter()
        """Sample blocks each device has fed its person's detector."""
        self._reported: set[str] = set()
        """Devices whose link state the server has been told since they (re)started."""
        self.alerts: list[Envelope] = []

    @property
    def consent(self) -> ConsentBook:
        """Every resident's consent state (:class:`~edge.household.Household` keeps it)."""
        return self.household.consent

    @consent.setter
    def consent(self, book: ConsentBook) -> None:
        self.household.consent = book

    async def run(self) -> None:
        """Serve until cancelled; every loop runs under one :class:`TaskSupervisor`."""
        health = HealthWriter(self.config.health_file, self.health_report)
        try:
            async with TaskSupervisor(permanent=(BrokerAuthError, PermanentLinkError)) as group:
                self._group = group
                group.start("publisher", self.publisher.run)
                group.start("checkin-timer", self._checkin_timer)
                group.start("detector-watchdog", self._watchdog)
                group.start("buzz-writer", self.buzz.run)
                group.start("outbox-keeper", self.publisher.keep_outbox)
                group.start("health", partial(health.run, self.config.health.period_s))
                kept = None if self._list_file is None else read_list(self._list_file)
                if kept is not None and self._link_builder is not None:
                    _LOGGER.info("running the kept device list until the server's arrives")
                    await self.apply_devices(kept)
                for link in self.links:
                    if self.household.person_of(link.device_id) is None and not self._listed:
                        name = f"link-{link.device_id}"
                        self._loose.append(group.start(name, partial(self._pump, link)))
                for person in self.people.values():
                    if person.monitored:
                        self._start_links(person)
                await asyncio.Event().wait()  # until cancelled (SIGTERM, Ctrl-C)
        finally:
            health.stopping()
            self._group = None
            for person in self.people.values():
                person.task = None

    def health_report(self) -> dict[str, object]:
        """Each component's state, for the health file."""
        components: dict[str, Mapping[str, object]] = {
            "broker": self.publisher.health(),
            "outbox": self.outbox.health(),
        }
        if self._group is not None:
            components.update(self._group.report())
        return build_report(
            self._now(),
            self.config.site,
            self.config.edge,
            self.config.health.period_s,
            components,
            self.publisher.down_since,
        )

    # -- residents' links --------------------------------------------------------------------

    def _start_links(self, person: Resident) -> None:
        if self._group is not None and person.task is None:
            person.task = self._group.start(
                f"person-{person.participant}", partial(self._serve, person)
            )

    async def _serve(self, person: Resident) -> None:
        async with asyncio.TaskGroup() as group:
            for link in person.links:
                group.create_task(self._pump(link), name=f"link-{link.device_id}")

    async def _pump(self, link: DeviceLink) -> None:
        async for item in link.stream():
            try:
                self.handle(item)
            except Exception:  # task root: one bad block must not stop the device's stream
                self.counts["errors"] += 1
                _LOGGER.exception("device %s: could not handle %s", link.device_id, type(item))

    def handle(self, item: LinkEvent) -> None:
        """Dispatch one thing a link yielded."""
        if isinstance(item, SampleBlock):
            self.handle_block(item)
        elif isinstance(item, ButtonPress):
            self.handle_button(item)
        else:
            self.handle_status(item)

    # -- consent -------------------------------------------------------------------------------

    async def apply_consent(self, snapshot: Mapping[str, TextValue]) -> None:
        """Apply a consent snapshot: stop, drop and disconnect whoever may no longer be watched."""
        self.household.last_snapshot = dict(snapshot)
        self.consent, changes = self.consent.apply(snapshot)
        self.counts["consent_snapshots"] += 1
        self.counts["consent_strangers"] += len(self.consent.strangers(snapshot))
        stopping: list[Resident] = []
        for change in changes:
            person = self.people[change.participant]
            _LOGGER.info("consent of %s: %s -> %s", change.participant, change.before, change.after)
            if change.stops:
                self._apply(person, checkin.stopped(person.checkin, self._clock()))
                person.detector = None  # nothing of theirs is processed from here on
                self._reported.difference_update(link.device_id for link in person.links)
                stopping.append(person)
            elif change.starts:
                person.detector = Detector(self._settings)
                self._start_links(person)
        if stopping:
            # Stop the buzz while still connected, then drop everything and disconnect.
            await asyncio.gather(*(silence(person) for person in stopping))
            tasks = [task for person in stopping if (task := person.halt()) is not None]
            self.counts["links_late"] += await wait_stopped(tasks)

    # -- the server's device list ----------------------------------------------------------------

    async def apply_devices(self, entries: Sequence[DeviceEntry]) -> roster.Plan:
        """Run exactly the listed devices: stop the others, start new ones, without a restart.

        Consent still decides: a listed device of a resident who is not monitored is assigned
        but not started. Returns what was changed.
        """
        if self._link_builder is None:
            _LOGGER.warning("device list of %d ignored: this edge builds no links", len(entries))
            return roster.Plan((), ())
        async with self._devices_lock:  # one list at a time, each applied completely
            wanted, refused = roster.from_list(entries)
            for error in refused:
                self.counts["devices_refused"] += 1
                _LOGGER.error("listed device refused: %s", error)
            if not self._listed:
                self._listed = True
                _LOGGER.info(
                    "the server's device list (%d devices) replaces the %d of the config",
                    len(wanted),
                    len(self.household.assigned),
                )
                for task in self._loose:
                    task.cancel()
                self.counts["links_late"] += await wait_stopped(self._loose)
            plan = roster.plan(self.household.assigned, wanted)
            touched = {self._detach(device_id) for device_id in plan.stop}
            for device_id in plan.start:
                person = self._attach(wanted[device_id])
                if person is not None:
                    touched.add(person)
            tasks = [t for person in touched if (t := person.stop_links()) is not None]
            self.counts["links_late"] += await wait_stopped(tasks)
            for device_id in plan.stop:
                _LOGGER.info("device %s: link stopped (no longer listed)", device_id)
            for person in touched:
                if not person.links:
                    self._forget(person)
                elif person.monitored:
                    self._start_links(person)
            self.counts["device_lists"] += 1
            return plan

    def _detach(self, device_id: str) -> Resident:
        self._reported.discard(device_id)
        return self.household.detach(device_id)

    def _attach(self, assignment: Assignment) -> Resident | None:
        device = assignment.device
        assert self._link_builder is not None  # apply_devices checked it
        try:
            link = self._link_builder(device)
        except Exception as error:  # a device that cannot run here must not stop the edge
            self.counts["devices_refused"] += 1
            _LOGGER.error("listed device %s not started: %s", device.id, error)  # noqa: TRY400
            return None
        person = self.household.attach(assignment, link)
        _LOGGER.info(
            "device %s (%s) of %s: link %s",
            device.id,
            (device.model or device.link).value,
            person.participant,
            "starting" if person.monitored else "assigned; not started without consent",
        )
        return person

    def _forget(self, person: Resident) -> None:
        """The edge runs no device of ``person`` any more: close their check-in, drop them."""
        self._apply(person, checkin.stopped(person.checkin, self._clock()))
        self.household.forget(person)

    # -- detections and check-ins ----------------------------------------------------------------

    def handle_block(self, block: SampleBlock) -> list[Envelope]:
        """Feed one block to its person's detector and queue an alert per event."""
        person = self.household.person_of(block.device_id)
        if person is None:
            self.counts["unassigned_blocks"] += 1
            return []
        detector = person.detector
        if detector is None:  # not consented: never looked at
            self.counts["withheld_blocks"] += 1
            return []
        person.blocks += 1
        self.link_blocks[block.device_id] += 1
        if block.device_id not in self._reported:
            # Links that report no status of their own (virtual, UART) still say they are up.
            self.handle_status(DeviceStatus(block.device_id, LinkState.CONNECTED, block.t0_s))
        if person.last_sample_s is None or block.end_s >= person.last_sample_s:
            person.last_sample_s, person.last_sample_at_s = block.end_s, self._clock()
        role = self.household.role(block.device_id)
        assert role is not None  # a device assigned to someone has a role
        try:
            events = detector.update(block, source=source_of(role, block.channel))
        except DetectorError as error:
            self.counts["rejected_blocks"] += 1
            _LOGGER.warning("device %s: block rejected by detector: %s", block.device_id, error)
            return []
        return [self.handle_event(person.participant, block.device_id, e) for e in events]

    def handle_event(self, participant: str, device_id: str, event: DetectionEvent) -> Envelope:
        """Queue the alert for one detection (checking in first when it is a paging warning)."""
        detected_at = self._now()
        onset_at = detected_at - timedelta(seconds=max(event.t_s - event.onset_s, 0.0))
        kind, severity = AlertKind(event.kind.value), Severity(event.severity.value)
        person = self.people[participant]
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
        msg_id, detected_at = self.publisher.mint_id(), self._now()
        window_s = self.config.checkin_s if person.buzzers else 0.0
        step = checkin.alert_raised(person.checkin, msg_id, kind, severity, window_s, self._clock())
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
        envelope = self._envelope(MessageKind.ALERT, body, device_id, person.participant, msg_id)
        self.alerts.append(envelope)
        self.counts[f"alert_{kind.value}"] += 1
        _LOGGER.warning(
            "%s (%s) for %s in %s: alert %s queued%s",
            kind.value,
            severity.value,
            person.participant,
            person.room,
            msg_id,
            "" if step.checkin_s is None else f", checking in for {step.checkin_s:.0f} s",
        )
        self._apply(person, step)  # after the alert, so its updates follow it in the outbox
        return envelope

    def handle_button(self, press: ButtonPress) -> None:
        """The wearer pressed their button: an answer to a check-in, or a call for help."""
        person = self.household.person_of(press.device_id)
        if person is None or not person.monitored:
            self.counts["withheld_presses"] += 1
            return
        step = checkin.button_pressed(person.checkin, self._clock())
        self._apply(person, step)
        if step.help_alert:
            _LOGGER.warning("help button pressed by %s", person.participant)
            self.raise_alert(
                person, press.device_id, AlertKind.BUTTON, Severity.CRITICAL, self._now(), {}
            )

    def expire_checkins(self) -> None:
        """Close every check-in whose window has run out."""
        for person in self.people.values():
            self._apply(person, checkin.tick(person.checkin, self._clock()))

    def _apply(self, person: Resident, step: Step) -> None:
        """Carry out a check-in step: record the state, queue its updates, change the buzz."""
        before, person.checkin = person.checkin, step.state
        for alert_id, update in step.updates:
            body = UpdateBody(alert_id, update, self._now())
            self._envelope(MessageKind.UPDATE, body, None, person.participant)
            self.counts[f"update_{update.value}"] += 1
            _LOGGER.warning("alert %s of %s: %s", alert_id, person.participant, update.value)
        if step.buzz is not None:
            self.buzz.want(person, on=step.buzz)
        if before.deadline_s != step.state.deadline_s:
            self._timer_wake.set()

    async def _watchdog(self) -> None:
        """Move every detector's clock on once a second, so silence itself is noticed.

        A device that stops sending feeds its detector nothing; without this the detector
        would never reach its no-signal verdict.
        """
        while True:
            await asyncio.sleep(WATCHDOG_PERIOD_S)
            self.advance_detectors()

    def advance_detectors(self) -> list[Envelope]:
        """Tell each monitored detector the time now; queue what it reports."""
        queued: list[Envelope] = []
        for person in self.people.values():
            now_s = person.sample_clock_now(self._clock())
            if person.detector is None or now_s is None:
                continue
            device = next((link.device_id for link in person.links), person.participant)
            try:
                events = person.detector.advance(now_s)
            except DetectorError as error:
                _LOGGER.warning("detector of %s refused the clock: %s", person.participant, error)
                continue
            queued += [self.handle_event(person.participant, device, e) for e in events]
        return queued

    async def _checkin_timer(self) -> None:
        while True:
            self._timer_wake.clear()
            due = [
                p.checkin.deadline_s
                for p in self.people.values()
                if p.checkin.deadline_s is not None
            ]
            wait_s = max(min(due) - self._clock(), 0.0) if due else None
            with contextlib.suppress(TimeoutError):  # not wait_for: see Publisher._drain
                async with asyncio.timeout(wait_s):
                    await self._timer_wake.wait()
            self.expire_checkins()

    # -- the server's commands -------------------------------------------------------------------

    async def handle_command(self, envelope: Envelope) -> None:
        """Apply one ``cmd`` message from the server; unknown commands are logged and ignored."""
        body = envelope.body
        if not isinstance(body, CommandBody):
            return
        self.counts[f"command_{body.command}"] += 1
        if body.command == Command.CONSENT:
            await self.apply_consent(body.args)
        elif body.command == Command.DEVICES:
            await self.apply_devices(body.devices)
            if self._list_file is not None and self._link_builder is not None:
                write_list(self._list_file, envelope)
        elif body.command == Command.CHECKIN_CANCEL:
            self.cancel_checkin(str(body.args.get("alert")))
        elif body.command == Command.DRILL:
            self.queue_drill(body.args.get("drill"))
        else:
            self.counts["unknown_commands"] += 1
            _LOGGER.warning("ignored unknown command %r", body.command)

    def cancel_checkin(self, alert_id: str) -> None:
        """Staff cancelled alert ``alert_id`` on the panel: end its check-in, stop the buzz."""
        for person in self.people.values():
            if alert_id in person.checkin.alerts:
                self._apply(
                    person, checkin.staff_cancelled(person.checkin, alert_id, self._clock())
                )
                _LOGGER.info(
                    "staff cancelled the check-in of %s (%s)", person.participant, alert_id
                )
                return
        _LOGGER.info("check-in cancel for %s: no open check-in has it", alert_id)

    def queue_drill(self, drill_id: TextValue) -> Envelope | None:
        """Send a ``test`` alert tagged with ``drill_id`` for the edge's first resident."""
        if drill_id is None or not self.people:
            _LOGGER.warning("drill ignored: %s", "no drill id" if self.people else "no residents")
            return None
        person = next(iter(self.people.values()))
        now = self._now()
        body = AlertBody(
            AlertKind.TEST, Severity.CRITICAL, now, now, {"drill": drill_id}, person.room
        )
        participant = person.participant if person.monitored else None
        envelope = self._envelope(MessageKind.ALERT, body, None, participant)
        self.alerts.append(envelope)
        _LOGGER.info("drill %s: test alert %s queued", drill_id, envelope.msg_id)
        return envelope

    # -- device health and envelopes -------------------------------------------------------------

    def handle_status(self, status: DeviceStatus) -> Envelope | None:
        """Queue a device state change for the server (nothing for an unconsented resident)."""
        if self.household.role(status.device_id) is None:  # a late word from a link un-enrolled
            self.counts["unlisted_statuses"] += 1
            return None
        person = self.household.person_of(status.device_id)
        if person is not None and not person.monitored:
            self.counts["withheld_statuses"] += 1
            return None
        self.link_status[status.device_id] = status
        body = DeviceBody(
            state=status.state.value,
            battery_pct=None if status.battery_pct is None else float(status.battery_pct),
            rssi_dbm=None if status.rssi_dbm is None else float(status.rssi_dbm),
            checkin_possible=self.checkin_possible(status.device_id),
        )
        participant = None if person is None else person.participant
        if status.state is LinkState.CONNECTED:
            self._reported.add(status.device_id)
        else:
            self._reported.discard(status.device_id)
        return self._envelope(MessageKind.DEVICE, body, status.device_id, participant)

    def device(self, device_id: str) -> DeviceConfig | None:
        """The config of a device this edge runs (from the TOML or the server's list)."""
        return self.household.device(device_id)

    def checkin_possible(self, device_id: str) -> bool | None:
        """Whether wearable ``device_id`` can ask "are you OK?"; ``None`` for rooms' devices."""
        if self.household.role(device_id) is not Role.WEARABLE:
            return None
        link = self.household.link(device_id)
        return isinstance(link, Buzzer) and link.checkin_possible

    def _envelope(
        self,
        kind: MessageKind,
        body: AlertBody | DeviceBody | UpdateBody,
        device_id: str | None,
        participant: str | None,
        msg_id: str | None = None,
    ) -> Envelope:
        envelope = Envelope(
            msg_id=msg_id or self.publisher.mint_id(),
            kind=kind,
            site_id=self.config.site,
            edge_id=self.config.edge,
            created_at=self._now(),
            body=body,
            device_id=device_id,
            participant_id=participant,
        )
        self.outbox.put(envelope)
        self.publisher.wake()
        return envelope
