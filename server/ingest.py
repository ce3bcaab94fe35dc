"""MQTT ingest: wire messages in, stored rows and acks out (shell).

Alerts and alert updates arrive on ``alert`` over a connection of their own
(:mod:`server.ingest_link`), each handled as it comes; device reports and edge status arrive on
``event`` and ``status`` and are written in batches (:mod:`server.ingest_queue`). For each
message: check it (a bad one is logged with its reason, counted, and
dropped), store it idempotently by message id, commit, and only then publish the ack the edge
is waiting for. A new alert is handed to the dispatcher after its commit. A message about a
resident that the consent ``gate`` refuses is acked but not stored (:mod:`server.privacy.gate`).
A well-formed message its sender may not send is refused (:mod:`server.domain.admission`).

One message never stops ingest: whatever handling it raises is logged (the exception's type and
where, never a payload value), counted, and the next message is read. Counts, by reason, are in
:attr:`Ingest.counts` (``/api/health``): ``rejected.*`` breaks the wire contract, ``refused.*``
is not allowed, ``failed.*`` raised while being handled (not acked: the edge resends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Final

import aiomqtt

from firmware_bridge.log_budget import BudgetedLog
from firmware_bridge.wire import (
    AlertUpdate,
    CommandBody,
    Envelope,
    IdMinter,
    MessageKind,
    TopicKind,
    encode_envelope,
    topic_filter,
)
from server.config import MqttConfig
from server.domain.alerts import Alert
from server.health import Health
from server.ingest_handler import Handler, loggable
from server.ingest_link import (
    ALERTS_CLIENT_ID,
    CLIENT_ID,
    NETWORK_TIMEOUT_S,
    first_failure,
    keep_connected,
    make_client,
    settle_disconnect,
)
from server.ingest_queue import BATCH_MAX
from server.live import LiveHub
from server.store.db import Store

_LOGGER = logging.getLogger(__name__)

SHED_LOG_EVERY: Final = 1000
"""Shedding is logged on the first message and every 1,000th, so overload cannot flood the log."""


class Ingest:
    """Subscribes to every edge's events and status and turns them into rows and acks.

    Args:
        mqtt: the broker.
        store: where rows go.
        hub: live updates for panels.
        admit: stores a new alert (with its lifecycle) and pages; False for a redelivery.
        on_update: applies an edge's update to an alert.
        now: wall clock.
        sites: the ids of the configured sites; messages from any other site are refused.
        gate: whether a message about a resident may be stored (consent); None stores all.
        gate_batch: entered around a batch of routine messages (the gate remembers verdicts).
        on_connect: awaited after every (re)subscription (consent snapshots are republished).
        on_edge_online: awaited with (site, edge) when an edge comes online.
    """

    def __init__(
        self,
        mqtt: MqttConfig,
        store: Store,
        hub: LiveHub,
        admit: Callable[[Alert], bool],
        on_update: Callable[[str, AlertUpdate], bool],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        sites: Collection[str],
        health: Health | None = None,
        gate: Callable[[Envelope], bool] | None = None,
        gate_batch: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        on_edge_online: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        if not sites:
            _LOGGER.warning("no sites are configured: every edge message will be refused")
        self._on_connect = on_connect
        self._mqtt = mqtt
        # Built once: the files were checked when the settings were loaded.
        self._tls = mqtt.tls.context() if mqtt.tls is not None else None
        self._alerts_tls = mqtt.tls.context(alerts=True) if mqtt.tls is not None else None
        self._sessions_up: set[str] = set()
        self._now = now
        self._client: aiomqtt.Client | None = None
        self._minter = IdMinter()
        self._handler = Handler(
            store,
            hub,
            admit,
            on_update,
            now,
            sites=sites,
            log=BudgetedLog(_LOGGER),
            minter=self._minter,
            # Looked up at each failure: the app sets on_store_error after construction.
            on_store_error=lambda error: self.on_store_error(error),
            health=health,
            gate=gate,
            gate_batch=gate_batch,
            on_edge_online=on_edge_online,
        )
        self.counts: Counter[str] = self._handler.counts
        self.connected = asyncio.Event()
        self.on_store_error: Callable[[sqlite3.Error], None] = lambda _error: None
        """Told when a message could not be stored (and so was not acked): health, staff."""

    async def run(self) -> None:
        """Serve both connections until cancelled, each reconnecting on its own.

        Raises:
            PermanentFailure: the broker refused our credentials; retrying would not help.
        """
        await first_failure(
            keep_connected("ingest", self._session),
            keep_connected("ingest alerts", self._alert_session),
        )

    def _up(self, name: str, up: bool) -> None:
        """Note a connection's state; ``connected`` is set while both are up."""
        if up:
            self._sessions_up.add(name)
        else:
            self._sessions_up.discard(name)
        if self._sessions_up == {CLIENT_ID, ALERTS_CLIENT_ID}:
            self.connected.set()
        else:
            self.connected.clear()

    async def _session(self) -> None:
        queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        client = make_client(self._mqtt, CLIENT_ID, self._tls, queue)
        try:
            async with client:
                self._client = client
                await client.subscribe(topic_filter(TopicKind.EVENT), qos=1)
                await client.subscribe(topic_filter(TopicKind.STATUS), qos=1)
                self._up(CLIENT_ID, up=True)
                _LOGGER.info("ingest subscribed on %s:%d", self._mqtt.host, self._mqtt.port)
                if self._on_connect is not None:
                    await self._on_connect()
                await self._serve(client, queue)
        finally:
            settle_disconnect(client)
            self._client = None
            self._up(CLIENT_ID, up=False)

    async def _alert_session(self) -> None:
        """The alert connection: alerts and updates only, each stored, committed and acked as it
        arrives, never behind a routine message (issue 15)."""
        client = make_client(self._mqtt, ALERTS_CLIENT_ID, self._alerts_tls)
        try:
            async with client:
                await client.subscribe(topic_filter(TopicKind.ALERT), qos=1)
                self._up(ALERTS_CLIENT_ID, up=True)
                _LOGGER.info("ingest reads alerts on %s:%d", self._mqtt.host, self._mqtt.port)
                async for message in client.messages:
                    await self._handler.handle(client, str(message.topic), message.payload)
        finally:
            settle_disconnect(client)
            self._up(ALERTS_CLIENT_ID, up=False)

    async def _serve(self, client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
        """Batch routine messages, shedding them when too many wait."""
        pending: list[tuple[str, object]] = []
        async for message in client.messages:
            if queue.qsize() > self._mqtt.routine_backlog_max:
                self._shed(str(message.topic))
            else:
                pending.append((str(message.topic), message.payload))
            # The batch is written when full or when nothing more waits.
            if pending and (len(pending) >= BATCH_MAX or queue.qsize() == 0):
                await self._handler.handle_batch(client, pending)
                pending = []

    def _shed(self, topic: str) -> None:
        """Drop a routine message unstored and unacked: the edge keeps it and resends it."""
        self.counts["received"] += 1
        self._handler.count("shed", "routine")
        if self.counts["shed"] % SHED_LOG_EVERY == 1:
            _LOGGER.warning(
                "overloaded: shed a routine message on %s (%d so far); not acked, the edge "
                "resends it; alerts are never shed",
                loggable(topic),
                self.counts["shed"],
            )

    async def send_command(
        self, site_id: str, edge_id: str, body: CommandBody, *, retain: bool = False
    ) -> None:
        """Publish a command to one edge (QoS 1); logged and dropped if the broker is away.

        ``retain`` is for state (the consent snapshot): the broker keeps the latest copy and
        hands it to the edge on every (re)subscription.
        """
        client = self._client
        if client is None:
            _LOGGER.warning(
                "not connected: command %s to %s/%s not sent", body.command, site_id, edge_id
            )
            return
        envelope = Envelope(
            msg_id=self._minter.mint(int(self._now().timestamp() * 1000), os.urandom(10)),
            kind=MessageKind.CMD,
            site_id=site_id,
            edge_id=edge_id,
            created_at=self._now(),
            body=body,
        )
        async with asyncio.timeout(NETWORK_TIMEOUT_S):
            await client.publish(
                str(envelope.topic), encode_envelope(envelope), qos=1, retain=retain
            )

    async def send_state(self, site_id: str, edge_id: str, body: CommandBody) -> None:
        """Publish a retained command (the consent snapshot) to one edge."""
        await self.send_command(site_id, edge_id, body, retain=True)
