"""MQTT ingest: wire messages in, stored rows and acks out (shell).

For each message on ``event``: check it (a bad one is logged with its reason, counted, and
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
import logging
import os
import socket
import sqlite3
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Final

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

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
from server.errors import PermanentFailure
from server.health import Health
from server.live import LiveHub
from server.store.db import Store
from server.supervisor import failures_after, restart_delay_s

_LOGGER = logging.getLogger(__name__)

CLIENT_ID: Final = "odart-server"
"""Stable id + persistent session: the broker queues events for us while we restart."""

SESSION_EXPIRY_S: Final = 7 * 24 * 3600
"""How long the broker keeps our queue when we are away (a week covers any outage we expect)."""

RECONNECT_MAX_S: Final = 15.0
"""Cap on the reconnect backoff."""

REFUSED_CONNECT_CODES: Final = frozenset({4, 5, 134, 135, 138, 140})
"""CONNACK codes that retrying cannot fix: bad user name or password, not authorised, banned,
bad authentication method (MQTT 3.1.1 section 3.2.2.3; MQTT 5.0 section 3.2.2.2)."""

NETWORK_TIMEOUT_S: Final = 10.0
"""Upper bound on one broker operation."""

_NODELAY: Final = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def reconnect_delay_s(failures: int) -> float:
    """Seconds before reconnect number ``failures``: the supervisor's doubling, capped lower."""
    return min(restart_delay_s(failures), RECONNECT_MAX_S)


def refused_for_good(error: aiomqtt.MqttError) -> str | None:
    """Why the broker refused us for good (bad credentials), or None for a transient failure."""
    if not isinstance(error, MqttConnectError):
        return None  # other codes are the client's own (MQTT_ERR_NO_CONN is also 4): transient
    code = error.rc if isinstance(error.rc, int) or error.rc is None else error.rc.value
    if code in REFUSED_CONNECT_CODES:
        return f"the broker refused the server's credentials ({error}); fix [mqtt] and restart"
    return None


def _is_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _reraise_if_cancelling() -> None:
    """aiomqtt can turn a cancellation into an MqttError while it disconnects; never retry then."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


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
        on_connect: Callable[[], Awaitable[None]] | None = None,
        on_edge_online: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._sites = frozenset(sites)
        if not self._sites:
            _LOGGER.warning("no sites are configured: every edge message will be refused")
        self._health = health
        self._gate = gate
        self._on_connect = on_connect
        self._on_edge_online = on_edge_online
        self._mqtt = mqtt
        # Built once: the files were checked when the settings were loaded.
        self._tls = mqtt.tls.context() if mqtt.tls is not None else None
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
        """Serve until cancelled, reconnecting with a backoff that resets after a healthy session.

        Raises:
            PermanentFailure: the broker refused our credentials; retrying would not help.
        """
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except aiomqtt.MqttError as error:
                _reraise_if_cancelling()
                reason = refused_for_good(error)
                if reason is not None:
                    _LOGGER.error("ingest stops: %s", reason)  # noqa: TRY400 - the reason says it all
                    raise PermanentFailure("ingest", reason) from error
                failures = failures_after(failures, time.monotonic() - started)
                delay = reconnect_delay_s(failures)
                _LOGGER.warning("broker connection lost (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)

    async def _session(self) -> None:
        client = aiomqtt.Client(
            self._mqtt.host,
            self._mqtt.port,
            identifier=CLIENT_ID,
            username=self._mqtt.username,
            password=self._mqtt.password,
            tls_context=self._tls,
            clean_session=False,
            keepalive=30,
            timeout=NETWORK_TIMEOUT_S,
            socket_options=[_NODELAY],
        )
        try:
            async with client:
                self._client = client
                await client.subscribe(topic_filter(TopicKind.EVENT), qos=1)
                await client.subscribe(topic_filter(TopicKind.STATUS), qos=1)
                self.connected.set()
                _LOGGER.info("ingest subscribed on %s:%d", self._mqtt.host, self._mqtt.port)
                if self._on_connect is not None:
                    await self._on_connect()
                async for message in client.messages:
                    await self.handle(client, str(message.topic), message.payload)
        finally:
            self._client = None
            self.connected.clear()

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
            # Not stored, so not acked: the edge keeps it and resends; ingest goes on serving
            # and stores it once the database can write again (a full disk freed).
            self._count("refused", "store_full" if _is_full(error) else "store_error")
            _LOGGER.error(  # noqa: TRY400 - the database's reason, never a payload value
                "message on %s not stored (%s); not acked, the edge resends it",
                _loggable(topic),
                error,
            )
            self.on_store_error(error)
        except Exception as error:  # the one place a message's failure stops
            # Not _LOGGER.exception: an exception's text may quote the payload, which the log
            # must never hold. The type and the line that raised are enough to find the bug.
            self._count("failed", type(error).__name__)
            where = traceback.extract_tb(error.__traceback__)[-1]
            _LOGGER.error(  # noqa: TRY400 - deliberately without the exception's text
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

    async def _handle(self, client: aiomqtt.Client, topic: str, payload: object) -> None:
        if not isinstance(payload, bytes | bytearray):
            self._count("rejected", "not_bytes")
            _LOGGER.warning("rejected message on %s: payload is not bytes", _loggable(topic))
            return
        try:
            envelope = decode_message(topic, bytes(payload))
        except WireError as error:
            self._count("rejected", "topic" if error.field == "topic" else "malformed")
            _LOGGER.warning("rejected message on %s: %s", _loggable(topic), error)
            return
        stored_at = self._now()
        owner = None
        if isinstance(envelope.body, UpdateBody):
            found = self._store.alert_owner(envelope.body.of)
            owner = None if found is None else Owner(*found)
        refused = refusal(envelope, self._sites, owner)
        if refused is not None:
            self._count("refused", refused.value)
            _LOGGER.warning(
                "refused %s message %s on %s: %s",
                envelope.kind.value,
                envelope.msg_id,
                topic,
                REFUSAL_TEXTS[refused],
            )
            if refused in ACKED_REFUSALS:
                await self._ack(client, envelope, stored_at)
            return
        if self._gate is not None and not self._gate(envelope):
            self.counts["refused_no_consent"] += 1
            await self._ack(client, envelope, stored_at)  # the edge's outbox must drain
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
                await self._ack(client, envelope, stored_at)
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
                if body.state.value == "online" and self._on_edge_online is not None:
                    await self._on_edge_online(envelope.site_id, envelope.edge_id)
            case _:
                self._count("rejected", "wrong_type")
                _LOGGER.warning("rejected %s message on %s", envelope.kind.value, topic)

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

    async def _ack(self, client: aiomqtt.Client, envelope: Envelope, stored_at: datetime) -> None:
        ack = Envelope(
            msg_id=self._minter.mint(int(self._now().timestamp() * 1000), os.urandom(10)),
            kind=MessageKind.ACK,
            site_id=envelope.site_id,
            edge_id=envelope.edge_id,
            created_at=stored_at,
            body=AckBody(of=envelope.msg_id, stored_at=stored_at),
        )
        await client.publish(str(ack.topic), encode_envelope(ack), qos=1)


_LOGGABLE_TOPIC_CHARS: Final = 120
"""A topic that failed to parse is the peer's text: logged quoted, and cut to this length."""


def _loggable(topic: str) -> str:
    """A received topic, safe to put in a log line (quoted, no raw newlines, bounded)."""
    return repr(topic[:_LOGGABLE_TOPIC_CHARS])
