"""What the edge agent sends: envelopes queued in the outbox, check-in steps, link states (shell).

Every message the agent's parts make (:mod:`edge.detections`, :mod:`edge.link_runner`) goes
through :class:`Outgoing`: it is written durably to the outbox, then the publisher is woken; the
publisher deletes it only on the server's ack. A check-in step (:mod:`edge.checkin`) is carried
out here too, since it queues updates and changes the buzz.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from edge.checkin import Step
from edge.config import EdgeConfig, Role
from edge.household import Household
from edge.outbox import Outbox
from edge.publisher import Publisher
from edge.residents import BuzzWriter, Resident
from edge.transport import Buzzer, DeviceStatus
from firmware_bridge.wire import (
    AlertBody,
    DeviceBody,
    DeviceState,
    Envelope,
    MessageKind,
    UpdateBody,
)

_LOGGER = logging.getLogger(__name__)


class Outgoing:
    """Queues the agent's messages and carries out check-in steps.

    Args:
        config: validated edge config (site and edge ids).
        household: the edge's residents and devices.
        outbox: the durable outbox every envelope is written to first.
        publisher: mints message ids and is woken after each write.
        buzz: turns wearables' buzzers on and off.
        now: wall clock (UTC), for message timestamps.
        clock: monotonic seconds, for check-in windows.

    Attributes:
        counts: what the agent has done, by name (shared by all its parts).
        link_status: each device's latest link status (what ``odart edge`` prints per link).
        reported: devices whose link state the server has been told since they (re)started.
        timer_wake: set when a check-in deadline moves, so the timer recomputes its wait.
    """

    def __init__(
        self,
        config: EdgeConfig,
        household: Household,
        outbox: Outbox,
        publisher: Publisher,
        buzz: BuzzWriter,
        *,
        now: Callable[[], datetime],
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.household = household
        self.outbox = outbox
        self.publisher = publisher
        self.buzz = buzz
        self.now = now
        self.clock = clock
        self.timer_wake = asyncio.Event()
        self.counts: Counter[str] = Counter()
        self.link_status: dict[str, DeviceStatus] = {}
        self.reported: set[str] = set()

    def envelope(
        self,
        kind: MessageKind,
        body: AlertBody | DeviceBody | UpdateBody,
        device_id: str | None,
        participant: str | None,
        msg_id: str | None = None,
    ) -> Envelope:
        """Write one message to the outbox and wake the publisher; returns it."""
        envelope = Envelope(
            msg_id=msg_id or self.publisher.mint_id(),
            kind=kind,
            site_id=self.config.site,
            edge_id=self.config.edge,
            created_at=self.now(),
            body=body,
            device_id=device_id,
            participant_id=participant,
        )
        self.outbox.put(envelope)
        self.publisher.wake()
        return envelope

    def apply(self, person: Resident, step: Step) -> None:
        """Carry out a check-in step: record the state, queue its updates, change the buzz."""
        before, person.checkin = person.checkin, step.state
        for alert_id, update in step.updates:
            body = UpdateBody(alert_id, update, self.now())
            self.envelope(MessageKind.UPDATE, body, None, person.participant)
            self.counts[f"update_{update.value}"] += 1
            _LOGGER.warning("alert %s of %s: %s", alert_id, person.participant, update.value)
        if step.buzz is not None:
            self.buzz.want(person, on=step.buzz)
        if before.deadline_s != step.state.deadline_s:
            self.timer_wake.set()

    def status(self, status: DeviceStatus) -> Envelope | None:
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
            state=status.state,
            battery_pct=None if status.battery_pct is None else float(status.battery_pct),
            rssi_dbm=None if status.rssi_dbm is None else float(status.rssi_dbm),
            checkin_possible=self.checkin_possible(status.device_id),
        )
        participant = None if person is None else person.participant
        if status.state is DeviceState.CONNECTED:
            self.reported.add(status.device_id)
        else:
            self.reported.discard(status.device_id)
        return self.envelope(MessageKind.DEVICE, body, status.device_id, participant)

    def checkin_possible(self, device_id: str) -> bool | None:
        """Whether wearable ``device_id`` can ask "are you OK?"; ``None`` for rooms' devices."""
        if self.household.role(device_id) is not Role.WEARABLE:
            return None
        link = self.household.link(device_id)
        return isinstance(link, Buzzer) and link.checkin_possible
