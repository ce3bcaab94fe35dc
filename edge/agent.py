"""The edge agent: device links -> one detector per person -> outbox -> publisher (shell, wiring).

Every detection and device-state change becomes an envelope written durably to the outbox
before anything is published; the publisher deletes it only on the server's ack.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from edge.config import EdgeConfig, Role
from edge.detector import DetectionEvent, Detector, DetectorError, Source
from edge.outbox import Outbox
from edge.publisher import MqttSettings, Publisher
from edge.transport import DeviceLink, DeviceStatus
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import (
    AlertBody,
    AlertKind,
    DeviceBody,
    Envelope,
    MessageKind,
    Severity,
    WireError,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class _Watched:
    """A monitored person: their pseudonym, room and detector."""

    participant: str
    room: str
    detector: Detector


def source_of(role: Role, channel: Channel) -> Source:
    """Which detector source a device's channel counts as (a radar's door channel is a door)."""
    if channel is Channel.DOOR or role is Role.DOOR:
        return Source.DOOR
    return Source.RADAR if role is Role.RADAR else Source.WEARABLE


class EdgeAgent:
    """Runs the links, the detectors and the publisher until cancelled.

    Args:
        config: validated edge config.
        links: one link per enrolled device (built by the caller from the config).
        outbox: the durable outbox (opened by the caller, so tests can inspect it).
        now: wall clock (UTC).
    """

    def __init__(
        self,
        config: EdgeConfig,
        links: Sequence[DeviceLink],
        outbox: Outbox,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.links = list(links)
        self.outbox = outbox
        self._now = now
        self.publisher = Publisher(
            MqttSettings(
                config.mqtt.host, config.mqtt.port, config.mqtt.username, config.mqtt.password
            ),
            config.site,
            config.edge,
            outbox,
            now=now,
        )
        settings = config.detector_settings()
        roles = {device.id: device.role for device in config.devices}
        self._by_device: dict[str, tuple[_Watched, Role]] = {}
        for person in config.people:
            watched = _Watched(person.participant, person.room, Detector(settings))
            for device_id in person.devices:
                self._by_device[device_id] = (watched, roles[device_id])
        self.counts: Counter[str] = Counter()
        self.alerts: list[Envelope] = []

    async def run(self) -> None:
        """Serve until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.publisher.run(), name="publisher")
            for link in self.links:
                group.create_task(self._pump(link), name=f"link-{link.device_id}")

    async def _pump(self, link: DeviceLink) -> None:
        async for item in link.stream():
            try:
                if isinstance(item, SampleBlock):
                    self.handle_block(item)
                else:
                    self.handle_status(item)
            except Exception:  # task root: one bad block must not stop the device's stream
                self.counts["errors"] += 1
                _LOGGER.exception("device %s: could not handle %s", link.device_id, type(item))

    def handle_block(self, block: SampleBlock) -> list[Envelope]:
        """Feed one block to its person's detector and queue an alert per event."""
        entry = self._by_device.get(block.device_id)
        if entry is None:
            self.counts["unassigned_blocks"] += 1
            return []
        watched, role = entry
        try:
            events = watched.detector.update(block, source=source_of(role, block.channel))
        except DetectorError as error:
            self.counts["rejected_blocks"] += 1
            _LOGGER.warning("device %s: block rejected by detector: %s", block.device_id, error)
            return []
        return [self._queue_alert(watched, block.device_id, event) for event in events]

    def _queue_alert(self, watched: _Watched, device_id: str, event: DetectionEvent) -> Envelope:
        detected_at = self._now()
        onset_at = detected_at - timedelta(seconds=max(event.t_s - event.onset_s, 0.0))
        evidence = {key: value for key, value in event.evidence.items()}
        try:
            body = AlertBody(
                AlertKind(event.kind.value),
                Severity(event.severity.value),
                detected_at,
                onset_at,
                evidence,
                room_id=watched.room,
            )
        except WireError as error:
            # Never lose a detection over its evidence: send it without, and say why.
            _LOGGER.error(  # noqa: TRY400 - an expected input problem, not a crash
                "evidence for %s did not fit the wire (%s); sent without", event.kind, error
            )
            body = AlertBody(
                AlertKind(event.kind.value),
                Severity(event.severity.value),
                detected_at,
                onset_at,
                {},
                room_id=watched.room,
            )
        envelope = self._envelope(MessageKind.ALERT, body, device_id, watched.participant)
        self.alerts.append(envelope)
        self.counts[f"alert_{event.kind.value}"] += 1
        _LOGGER.warning(
            "detected %s (%s) for %s in %s: alert %s queued",
            event.kind.value,
            event.severity.value,
            watched.participant,
            watched.room,
            envelope.msg_id,
        )
        return envelope

    def handle_status(self, status: DeviceStatus) -> Envelope:
        """Queue a device state change for the server."""
        entry = self._by_device.get(status.device_id)
        participant = entry[0].participant if entry else None
        body = DeviceBody(
            state=status.state.value,
            battery_pct=None if status.battery_pct is None else float(status.battery_pct),
            rssi_dbm=None if status.rssi_dbm is None else float(status.rssi_dbm),
        )
        return self._envelope(MessageKind.DEVICE, body, status.device_id, participant)

    def _envelope(
        self,
        kind: MessageKind,
        body: AlertBody | DeviceBody,
        device_id: str,
        participant: str | None,
    ) -> Envelope:
        envelope = Envelope(
            msg_id=self.publisher.mint_id(),
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
