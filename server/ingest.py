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
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Final

import aiomqtt

from firmware_bridge.errors import WireError
from firmware_bridge.wire import (
    AckBody,
    AlertBody,
    AlertUpdate,
    CommandBody,
    DeviceBody,
    Envelope,
    IdMinter,
    MessageKind,
    StatusBody,
    TopicKind,
    UpdateBody,
    decode_message,
    encode_envelope,
    topic_filter,
)
from server.config import MqttConfig
from server.domain.admission import ACKED_REFUSALS, REFUSAL_TEXTS, Owner, refusal
from server.domain.alerts import Alert, alert_from_envelope
from server.health import Health
from server.ingest_link import (
    ALERTS_CLIENT_ID,
    CLIENT_ID,
    NETWORK_TIMEOUT_S,
    first_failure,
    keep_connected,
    make_client,
    publish_at_once,
    settle_disconnect,
)
from server.ingest_queue import BATCH_MAX, SLICE_S
from server.live import LiveHub
from server.log_budget import BudgetedLog
from server.store.db import BatchLost, Store

_LOGGER = logging.getLogger(__name__)

SHED_LOG_EVERY: Final = 1000
"""Shedding is logged on the first message and every 1,000th, so overload cannot flood the log."""


def _is_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


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
        self._sites = frozenset(sites)
        self._log = BudgetedLog(_LOGGER)
        """Lines about single messages: a flood of bad ones is counted, not logged line by line."""
        if not self._sites:
            _LOGGER.warning("no sites are configured: every edge message will be refused")
        self._health = health
        self._gate = gate
        self._gate_batch = gate_batch or contextlib.nullcontext
        self._on_connect = on_connect
        self._on_edge_online = on_edge_online
        self._mqtt = mqtt
        # Built once: the files were checked when the settings were loaded.
        self._tls = mqtt.tls.context() if mqtt.tls is not None else None
        self._alerts_tls = mqtt.tls.context(alerts=True) if mqtt.tls is not None else None
        self._sessions_up: set[str] = set()
        self._store = store
        self._hub = hub
        self._admit = admit
        self._on_update = on_update
        self._now = now
        self._client: aiomqtt.Client | None = None
        self._minter = IdMinter()
        self.counts: Counter[str] = Counter()
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
                    await self.handle(client, str(message.topic), message.payload)
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
                await self.handle_batch(client, pending)
                pending = []

    async def handle(self, client: aiomqtt.Client, topic: str, payload: object) -> None:
        """Check, store and ack one message; a failure is logged and counted, never raised.

        Raises:
            aiomqtt.MqttError: the broker connection broke (the session reconnects); nothing
                about the message itself escapes.
        """
        self.counts["received"] += 1
        try:
            await self._handle(client, topic, payload)
        except aiomqtt.MqttError:
            raise
        except sqlite3.Error as error:
            self._store_failed(topic, error)
        except Exception as error:  # the one place a message's failure stops
            self._failed(topic, error)

    def _store_failed(self, topic: str, error: sqlite3.Error) -> None:
        # Not stored, so not acked: the edge keeps it and resends; ingest goes on serving
        # and stores it once the database can write again (a full disk freed).
        self._count("refused", "store_full" if _is_full(error) else "store_error")
        self._log.error(
            "message on %s not stored (%s); not acked, the edge resends it",
            _loggable(topic),
            error,
        )
        self.on_store_error(error)

    def _failed(self, topic: str, error: Exception) -> None:
        # Not _LOGGER.exception: an exception's text may quote the payload, which the log
        # must never hold. The type and the line that raised are enough to find the bug.
        self._count("failed", type(error).__name__)
        where = traceback.extract_tb(error.__traceback__)[-1]
        self._log.error(
            "message on %s not handled: %s at %s:%s in %s (not acked; the edge resends it)",
            _loggable(topic),
            type(error).__name__,
            where.filename,
            where.lineno,
            where.name,
        )

    def _count(self, outcome: str, reason: str) -> None:
        self.counts[outcome] += 1
        self.counts[f"{outcome}.{reason}"] += 1

    def _decode(self, topic: str, payload: object) -> Envelope | None:
        """The message's envelope, or None (counted, logged) if it breaks the wire contract."""
        if not isinstance(payload, bytes | bytearray):
            self._count("rejected", "not_bytes")
            self._log.warning("rejected message on %s: payload is not bytes", _loggable(topic))
            return None
        try:
            return decode_message(topic, bytes(payload))
        except WireError as error:
            self._count("rejected", "topic" if error.field == "topic" else "malformed")
            self._log.warning("rejected message on %s: %s", _loggable(topic), error)
            return None

    def _screen(self, envelope: Envelope) -> bool | None:
        """None if the message may be applied; else whether to ack it unapplied (refused)."""
        owner = None
        if isinstance(envelope.body, UpdateBody):
            found = self._store.alert_owner(envelope.body.of)
            owner = None if found is None else Owner(*found)
        refused = refusal(envelope, self._sites, owner)
        if refused is not None:
            self._count("refused", refused.value)
            self._log.warning(
                "refused %s message %s on %s: %s",
                envelope.kind.value,
                envelope.msg_id,
                envelope.topic,
                REFUSAL_TEXTS[refused],
            )
            return refused in ACKED_REFUSALS
        if self._gate is not None and not self._gate(envelope):
            self.counts["refused_no_consent"] += 1
            return True  # the edge's outbox must drain
        return None

    async def _handle(self, client: aiomqtt.Client, topic: str, payload: object) -> None:
        envelope = self._decode(topic, payload)
        if envelope is None:
            return
        stored_at = self._now()
        screened = self._screen(envelope)
        if screened is not None:
            if screened:
                await self._ack(client, envelope, stored_at)
            return
        match envelope.body:
            case AlertBody():
                alert = alert_from_envelope(envelope, stored_at)
                if self._admit(alert):
                    self.counts["alerts"] += 1
                else:
                    self.counts["duplicates"] += 1
                await self._ack(client, envelope, stored_at)
            case UpdateBody() as body:
                self._on_update(body.of, body.update)
                self.counts["updates"] += 1
                await self._ack(client, envelope, stored_at)
            case _:  # a routine message cannot be here: decode_message checks the topic
                self._count("rejected", "wrong_type")
                self._log.warning("rejected %s message on %s", envelope.kind.value, topic)

    def _apply_routine(self, envelope: Envelope, stored_at: datetime) -> list[Envelope]:
        """Write a device report or an edge status (no commit, no await); edges now online."""
        match envelope.body:
            case DeviceBody() as body:
                if self._store.insert_device_event(
                    envelope.msg_id,
                    envelope.site_id,
                    envelope.edge_id,
                    envelope.device_id,
                    body.state,
                    body.battery_pct,
                    body.rssi_dbm,
                    envelope.created_at,
                    stored_at,
                ):
                    if self._health is not None:
                        self._health.device_changed(
                            envelope.site_id,
                            envelope.edge_id,
                            envelope.device_id,
                            envelope.participant_id,
                            body.state,
                            body.battery_pct,
                        )
                else:
                    self.counts["duplicates"] += 1
            case StatusBody() as body:
                if self._store.set_edge_status(
                    envelope.site_id, envelope.edge_id, body.state.value, body.conn, stored_at
                ):
                    if self._health is not None:
                        self._health.edge_changed(
                            envelope.site_id, envelope.edge_id, body.state.value
                        )
                    self._hub.publish(
                        {
                            "type": "edge",
                            "site": envelope.site_id,
                            "edge": envelope.edge_id,
                            "state": body.state.value,
                        }
                    )
                if body.state.value == "online":
                    return [envelope]
            case _:
                msg = f"not a routine message: {envelope.kind.value}"
                raise TypeError(msg)
        return []

    async def handle_batch(self, client: aiomqtt.Client, batch: list[tuple[str, object]]) -> None:
        """Write routine messages in transactions of at most :data:`SLICE_S` of work, each
        committed and then acked, the loop free between them; never raises for a message
        (each failure is counted and that message alone is not acked)."""
        self.counts["received"] += len(batch)
        at = 0
        while at < len(batch):
            at = await self._slice(client, batch, at)
            # Nothing above awaits for real: without this the loop would run nothing else (the
            # alert connection, HTTP, timers) until the receive queue was empty.
            await asyncio.sleep(0)

    async def _slice(self, client: aiomqtt.Client, batch: list[tuple[str, object]], at: int) -> int:
        stored_at = self._now()
        done: list[tuple[Envelope, datetime]] = []
        online: list[Envelope] = []
        device_ids: list[str] = []
        deadline = time.perf_counter() + SLICE_S
        try:
            with self._store.batch(), self._gate_batch():
                while at < len(batch) and time.perf_counter() < deadline:
                    topic, payload = batch[at]
                    at += 1
                    envelope = self._decode(topic, payload)
                    if envelope is None:
                        continue
                    screened = self._screen(envelope)
                    if screened is not None:
                        if screened:
                            done.append((envelope, stored_at))
                        continue
                    try:
                        with self._store.one():
                            online += self._apply_routine(envelope, stored_at)
                    except BatchLost:
                        self._count("failed", "batch_lost")
                        done.clear()
                        online.clear()
                        device_ids.clear()
                    except sqlite3.Error as error:
                        self._store_failed(topic, error)
                    except Exception as error:  # one message's failure stops only that message
                        self._failed(topic, error)
                    else:
                        done.append((envelope, stored_at))
                        if isinstance(envelope.body, DeviceBody):
                            device_ids.append(envelope.msg_id)
            await self._store.commit()
        except sqlite3.Error as error:  # the commit failed: nothing in the slice is stored
            self._store_failed("a batch", error)
            return at
        if self._store.stored_device_events(device_ids) < len(device_ids):
            # Another writer's rollback took the batch's rows with it: ack none, edges resend.
            self._count("failed", "batch_lost")
            return at
        self.counts["batches"] += 1
        # The slice and its commit took up to SLICE_S; the acks get a turn of their own.
        await asyncio.sleep(0)
        await self._after_routine(client, done, online)
        return at

    async def _after_routine(
        self,
        client: aiomqtt.Client,
        done: list[tuple[Envelope, datetime]],
        online: list[Envelope],
    ) -> None:
        """Ack what a committed batch stored, then tell the consent and device lists about edges
        now online.

        Routine acks go at QoS 0, all handed to the client at once and written in the loop's
        next turn, with no PUBACK to wait for, read and match (acks were a third of ingest's
        work). An ack lost on the way costs only a resend: the edge publishes the message again
        when its ack is overdue, and it is stored once and acked again (docs/wire.md, "Flow").
        """
        deadline = time.perf_counter() + SLICE_S
        for envelope, stored_at in done:
            publish_at_once(client, *self._ack_message(envelope, stored_at))
            if time.perf_counter() > deadline:
                # Building and queueing acks costs more than storing the messages did: let the
                # loop write these and run other work (an alert) before the rest.
                await asyncio.sleep(0)
                deadline = time.perf_counter() + SLICE_S
        for envelope in online:
            if self._on_edge_online is not None:
                await self._on_edge_online(envelope.site_id, envelope.edge_id)

    def _shed(self, topic: str) -> None:
        """Drop a routine message unstored and unacked: the edge keeps it and resends it."""
        self.counts["received"] += 1
        self._count("shed", "routine")
        if self.counts["shed"] % SHED_LOG_EVERY == 1:
            _LOGGER.warning(
                "overloaded: shed a routine message on %s (%d so far); not acked, the edge "
                "resends it; alerts are never shed",
                _loggable(topic),
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

    def _ack_message(self, envelope: Envelope, stored_at: datetime) -> tuple[str, bytes]:
        """The topic and payload of the ack for ``envelope``."""
        ack = Envelope(
            msg_id=self._minter.mint(int(self._now().timestamp() * 1000), os.urandom(10)),
            kind=MessageKind.ACK,
            site_id=envelope.site_id,
            edge_id=envelope.edge_id,
            created_at=stored_at,
            body=AckBody(of=envelope.msg_id, stored_at=stored_at),
        )
        return str(ack.topic), encode_envelope(ack)

    async def _ack(self, client: aiomqtt.Client, envelope: Envelope, stored_at: datetime) -> None:
        """Ack one alert or update at QoS 1 and wait for the broker to take it."""
        await client.publish(*self._ack_message(envelope, stored_at), qos=1)


_LOGGABLE_TOPIC_CHARS: Final = 120
"""A topic that failed to parse is the peer's text: logged quoted, and cut to this length."""


def _loggable(topic: str) -> str:
    """A received topic, safe to put in a log line (quoted, no raw newlines, bounded)."""
    return repr(topic[:_LOGGABLE_TOPIC_CHARS])
