"""Each edge's device list, from the panel's enrolments, as a retained ``cmd`` (shell).

The panel's enrolment is the single source of truth for which devices an edge runs. After every
enrolment or ending, whenever ingest (re)connects and whenever an edge comes online, each edge
the panel has put a device on gets its current list as a **retained** QoS 1 ``devices``
command (docs/wire.md, "The device list"); the edge starts and stops links to match without a
restart. An edge the panel never named gets no list and runs the devices of its own TOML.

Changes made in another process (``odart privacy erase`` deletes the erased resident's
enrolments; retention purges ended ones) are caught by :meth:`DeviceLists.tick`, which
republishes every list that differs from the one last published, so an erased pseudonym does
not stay in a retained message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final

import aiomqtt

from firmware_bridge.errors import WireError
from firmware_bridge.wire import (
    ID_PATTERN,
    Command,
    CommandBody,
    DeviceEntry,
    Envelope,
    MessageKind,
    encode_envelope,
    encode_ulid,
)
from server.store.enrolments import Enrolments

_LOGGER = logging.getLogger(__name__)

CHECK_S: Final = 10.0
"""How often lists are compared for changes made elsewhere: an erasure or a purge is not urgent
to the second, and the comparison is one query per listed edge."""

ListSender = Callable[[str, str, CommandBody], Awaitable[None]]
"""Publishes a retained ``cmd`` to (site, edge)."""


class DeviceLists:
    """Publishes each edge's device list when enrolments change or the edge (re)appears.

    Args:
        enrolments: the enrolment store.
        now: wall clock.
    """

    def __init__(self, enrolments: Enrolments, now: Callable[[], datetime]) -> None:
        self.enrolments = enrolments
        self._now = now
        self._send: ListSender | None = None
        self._published: dict[tuple[str, str], tuple[DeviceEntry, ...]] = {}
        """The list last published to each (site, edge)."""
        self._last_check: datetime | None = None
        self._version: tuple[object, ...] | None = None
        """:meth:`Enrolments.version` at the last full check."""
        self._tasks: set[asyncio.Task[bool]] = set()
        self.counts: Counter[str] = Counter()

    def set_sender(self, send: ListSender) -> None:
        """How lists reach the broker (the ingest's retained publish)."""
        self._send = send

    def fits(self, site_id: str, edge_id: str, entry: DeviceEntry) -> bool:
        """Whether the edge's list still fits on the wire with ``entry`` added (or replaced).

        Malformed ids count as fitting: the enrolment itself refuses them, naming the field.
        """
        if not (ID_PATTERN.fullmatch(site_id) and ID_PATTERN.fullmatch(edge_id)):
            return True
        kept = [
            e
            for e in self.enrolments.device_list(site_id, edge_id)
            if e.device_id != entry.device_id
        ]
        try:
            body = CommandBody(Command.DEVICES, devices=(*kept, entry))
            sample = Envelope(
                encode_ulid(0, 0), MessageKind.CMD, site_id, edge_id, self._now(), body
            )
            encode_envelope(sample)
        except WireError:
            return False
        return True

    async def publish_edge(self, site_id: str, edge_id: str) -> bool:
        """Publish one edge's list; False if it could not be sent (too big, or no sender)."""
        if self._send is None:
            return False
        entries = self.enrolments.device_list(site_id, edge_id)
        try:
            await self._send(site_id, edge_id, CommandBody(Command.DEVICES, devices=entries))
        except WireError as error:  # over the entry or payload limit: the edge must be split
            self.counts["list_too_big"] += 1
            _LOGGER.error(  # noqa: TRY400 - a site-size problem, not a crash
                "device list of %s/%s (%d devices) not sent: %s; give some devices another edge",
                site_id,
                edge_id,
                len(entries),
                error,
            )
            return False
        except (aiomqtt.MqttError, TimeoutError) as error:  # resent when ingest reconnects
            self.counts["list_not_sent"] += 1
            _LOGGER.warning("device list of %s/%s not sent: %s", site_id, edge_id, error)
            return False
        self.counts["lists"] += 1
        self._published[(site_id, edge_id)] = entries
        _LOGGER.info("device list of %s/%s published: %d devices", site_id, edge_id, len(entries))
        return True

    async def publish_site(self, site_id: str) -> int:
        """Publish the list of every listed edge of ``site_id``; returns how many were sent."""
        sent = 0
        for site, edge in self.enrolments.listed_edges(site_id):
            sent += await self.publish_edge(site, edge)
        return sent

    async def publish_all(self) -> None:
        """Publish every listed edge's list: ingest (re)connected, the broker may have lost it."""
        for site, edge in self.enrolments.listed_edges():
            await self.publish_edge(site, edge)

    async def edge_online(self, site_id: str, edge_id: str) -> None:
        """An edge came online: make sure its retained list is the current one."""
        if (site_id, edge_id) in self.enrolments.listed_edges(site_id):
            await self.publish_edge(site_id, edge_id)

    def tick(self) -> int:
        """Every few seconds: republish lists changed by another process; returns how many."""
        now = self._now()
        if self._last_check is not None and (now - self._last_check).total_seconds() < CHECK_S:
            return 0
        self._last_check = now
        version = self.enrolments.version()
        if version == self._version:
            return 0  # no enrolment changed since the last check: no per-edge queries
        self._version = version
        edges = set(self.enrolments.listed_edges()) | set(self._published)
        changed = 0
        for site_id, edge_id in sorted(edges):
            entries = self.enrolments.device_list(site_id, edge_id)
            if self._published.get((site_id, edge_id)) == entries:
                continue
            _LOGGER.info("device list of %s/%s changed elsewhere; publishing", site_id, edge_id)
            task = asyncio.get_running_loop().create_task(self.publish_edge(site_id, edge_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            changed += 1
        return changed
