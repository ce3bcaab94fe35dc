"""The edge agent: device links -> one detector per person -> outbox -> publisher (shell, wiring).

Every detection, check-in update and device-state change becomes an envelope written durably to
the outbox before anything is published; the publisher deletes it only on the server's ack. The
agent wires its parts together and runs them under one :class:`~edge.tasks.TaskSupervisor`:
:mod:`edge.detections` feeds the detectors and runs the check-ins with the wearers,
:mod:`edge.link_runner` starts and stops each resident's device links as consent and the server's
device list decide, and :mod:`edge.outgoing` queues what they send. The server's commands are
dispatched here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from edge import roster
from edge.config import DeviceConfig, EdgeConfig
from edge.consent import ConsentBook
from edge.detections import Detections
from edge.detector import DetectionEvent
from edge.device_list_file import read_list, write_list
from edge.health import HealthWriter, build_report
from edge.household import Household
from edge.link_runner import LinkBuilder, LinkRunner
from edge.outbox import Outbox
from edge.outgoing import Outgoing
from edge.publisher import BrokerAuthError, MqttSettings, Publisher
from edge.residents import BuzzWriter
from edge.supervisor import PermanentLinkError
from edge.tasks import TaskSupervisor
from edge.transport import ButtonPress, DeviceLink, DeviceStatus, LinkEvent
from firmware_bridge.samples import SampleBlock
from firmware_bridge.wire import (
    Command,
    CommandBody,
    DeviceEntry,
    Envelope,
    TextValue,
)

__all__ = ["EdgeAgent"]

_LOGGER = logging.getLogger(__name__)


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
        self.people = self.household.people
        self.links = self.household.links
        self._list_file = device_list_file
        self.buzz = BuzzWriter(self.people.values)
        self._out = Outgoing(
            config, self.household, outbox, self.publisher, self.buzz, now=now, clock=clock
        )
        self._detections = Detections(self._out)
        self._runner = LinkRunner(self._out, self.handle, link_builder)
        self.counts: Counter[str] = self._out.counts
        self.link_status = self._out.link_status
        """Each device's latest link status (what ``odart edge`` prints per link)."""
        self.link_blocks = self._detections.link_blocks
        """Sample blocks each device has fed its person's detector."""
        self.alerts: list[Envelope] = self._detections.alerts

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
                group.start("publisher", self.publisher.run)
                group.start("checkin-timer", self._detections.checkin_timer)
                group.start("detector-watchdog", self._detections.watchdog)
                group.start("buzz-writer", self.buzz.run)
                group.start("outbox-keeper", self.publisher.keep_outbox)
                group.start("health", partial(health.run, self.config.health.period_s))
                kept = None if self._list_file is None else read_list(self._list_file)
                await self._runner.start(group, kept)
                await asyncio.Event().wait()  # until cancelled (SIGTERM, Ctrl-C)
        finally:
            health.stopping()
            self._runner.stopped()

    def health_report(self) -> dict[str, object]:
        """Each component's state, for the health file."""
        components: dict[str, Mapping[str, object]] = {
            "broker": self.publisher.health(),
            "outbox": self.outbox.health(),
        }
        if self._runner.group is not None:
            components.update(self._runner.group.report())
        return build_report(
            self._now(),
            self.config.site,
            self.config.edge,
            self.config.health.period_s,
            components,
            self.publisher.down_since,
        )

    def handle(self, item: LinkEvent) -> None:
        """Dispatch one thing a link yielded."""
        if isinstance(item, SampleBlock):
            self.handle_block(item)
        elif isinstance(item, ButtonPress):
            self.handle_button(item)
        else:
            self.handle_status(item)

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
            if self._list_file is not None and self._runner.link_builder is not None:
                write_list(self._list_file, envelope)
        elif body.command == Command.CHECKIN_CANCEL:
            self.cancel_checkin(str(body.args.get("alert")))
        elif body.command == Command.DRILL:
            self.queue_drill(body.args.get("drill"))
        else:
            self.counts["unknown_commands"] += 1
            _LOGGER.warning("ignored unknown command %r", body.command)

    async def apply_consent(self, snapshot: Mapping[str, TextValue]) -> None:
        """Apply a consent snapshot: stop, drop and disconnect whoever may no longer be watched."""
        await self._runner.apply_consent(snapshot)

    async def apply_devices(self, entries: Sequence[DeviceEntry]) -> roster.Plan:
        """Run exactly the listed devices (:meth:`LinkRunner.apply_devices`); what changed."""
        return await self._runner.apply_devices(entries)

    def cancel_checkin(self, alert_id: str) -> None:
        """Staff cancelled alert ``alert_id`` on the panel: end its check-in, stop the buzz."""
        self._detections.cancel_checkin(alert_id)

    def queue_drill(self, drill_id: TextValue) -> Envelope | None:
        """Send a ``test`` alert tagged with ``drill_id`` for the edge's first resident."""
        return self._detections.queue_drill(drill_id)

    # -- detections, check-ins and device states (see edge.detections, edge.outgoing) ----------

    def handle_block(self, block: SampleBlock) -> list[Envelope]:
        """Feed one block to its person's detector and queue an alert per event."""
        return self._detections.block(block)

    def handle_event(self, participant: str, device_id: str, event: DetectionEvent) -> Envelope:
        """Queue the alert for one detection (checking in first when it is a paging warning)."""
        return self._detections.event(participant, device_id, event)

    def handle_button(self, press: ButtonPress) -> None:
        """The wearer pressed their button: an answer to a check-in, or a call for help."""
        self._detections.button(press)

    def expire_checkins(self) -> None:
        """Close every check-in whose window has run out."""
        self._detections.expire_checkins()

    def advance_detectors(self) -> list[Envelope]:
        """Tell each monitored detector the time now; queue what it reports."""
        return self._detections.advance_detectors()

    def handle_status(self, status: DeviceStatus) -> Envelope | None:
        """Queue a device state change for the server (nothing for an unconsented resident)."""
        return self._out.status(status)

    def device(self, device_id: str) -> DeviceConfig | None:
        """The config of a device this edge runs (from the TOML or the server's list)."""
        return self.household.device(device_id)

    def checkin_possible(self, device_id: str) -> bool | None:
        """Whether wearable ``device_id`` can ask "are you OK?"; ``None`` for rooms' devices."""
        return self._out.checkin_possible(device_id)
