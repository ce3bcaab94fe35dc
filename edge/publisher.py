"""The edge's MQTT side: drains the outbox, takes the server's acks and commands (shell).

Connection policy: a Last Will marks the edge offline (retained); after every (re)connect the
publisher announces itself online, re-subscribes to its ``ack`` and ``cmd`` topics, and publishes
everything still in the outbox. A message leaves the outbox only when the server's ack arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

import aiomqtt

from edge.outbox import Outbox
from firmware_bridge.errors import WireError
from firmware_bridge.wire import (
    AckBody,
    CommandBody,
    EdgeState,
    Envelope,
    IdMinter,
    MessageKind,
    StatusBody,
    Topic,
    TopicKind,
    decode_message,
    encode_envelope,
)

_LOGGER = logging.getLogger(__name__)

FIRST_RESEND_S: Final = 5.0
"""Re-publish an unacked message after 5 s: the measured app round trip is ~1 ms on loopback and
well under a second over Wi-Fi, so 5 s means the ack (or the server) is genuinely lost."""

MAX_RESEND_S: Final = 60.0
"""Cap on the resend interval so a long-unacked alert is still retried every minute."""

RECONNECT_MIN_S: Final = 0.5
RECONNECT_MAX_S: Final = 15.0
"""Reconnect backoff bounds: quick after a blip, at most 15 s so alerts wait little."""

KEEPALIVE_S: Final = 15
"""MQTT keepalive: the broker fires our Last Will ~1.5-2.5x this after we go silent."""

NETWORK_TIMEOUT_S: Final = 10.0
"""Upper bound on any single broker operation (connect, publish, subscribe)."""

STOP_NOTICE_TIMEOUT_S: Final = 2.0
"""How long a stopping edge waits to mark itself offline: a stop must not hang on a dead broker
(the broker's Will covers that case once the keepalive runs out)."""

_NODELAY: Final = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reraise_if_cancelling() -> None:
    """Raise CancelledError if this task was cancelled but an await swallowed it.

    aiomqtt can turn a cancellation into an MqttError while it disconnects, and on Python 3.11
    its ``asyncio.wait_for`` for a PUBACK or SUBACK swallows a cancellation that arrives as the
    ack does (gh-86296): the edge then never stops on SIGTERM. Called after those awaits.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def first_failure(*jobs: Awaitable[None]) -> None:
    """Run ``jobs`` together; when one ends or fails, cancel and await the rest, then re-raise.

    Unlike a TaskGroup this re-raises the first error itself (not an ExceptionGroup), so the
    caller's reconnect policy can classify it.
    """
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None:
            raise error


def resend_delay_s(attempts: int) -> float:
    """Seconds to wait before re-publishing a message already published ``attempts`` times."""
    return float(min(FIRST_RESEND_S * 2 ** max(attempts - 1, 0), MAX_RESEND_S))


def reconnect_delay_s(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failed connections (capped doubling)."""
    return float(min(RECONNECT_MIN_S * 2 ** max(failures - 1, 0), RECONNECT_MAX_S))


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where the broker is and who we are to it."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None
    """Client TLS (CA + this edge's certificate); None: plain MQTT (loopback demo, tests)."""


CommandHandler = Callable[[Envelope], Awaitable[None]]


class Publisher:
    """Publishes outbox messages for one edge and applies the server's acks.

    Args:
        mqtt: broker address and credentials.
        site_id: this edge's site.
        edge_id: this edge's id.
        outbox: the durable outbox to drain.
        on_command: awaited for each valid ``cmd`` message.
        now: wall clock (UTC), a parameter so tests can pin it.
    """

    def __init__(
        self,
        mqtt: MqttSettings,
        site_id: str,
        edge_id: str,
        outbox: Outbox,
        *,
        on_command: CommandHandler | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._mqtt = mqtt
        self._site_id = site_id
        self._edge_id = edge_id
        self._outbox = outbox
        self._on_command = on_command
        self._now = now
        self._minter = IdMinter()
        self._wake = asyncio.Event()
        self.connected = asyncio.Event()
        self.acks_received = 0
        self.published = 0
        self.rejected = 0

    def wake(self) -> None:
        """Tell the drain loop that the outbox has something new."""
        self._wake.set()

    def mint_id(self) -> str:
        """A fresh message id from this edge's monotonic minter."""
        return self._minter.mint(int(self._now().timestamp() * 1000), os.urandom(10))

    def _status(self, state: EdgeState, conn: str) -> tuple[str, bytes]:
        envelope = Envelope(
            msg_id=self.mint_id(),
            kind=MessageKind.STATUS,
            site_id=self._site_id,
            edge_id=self._edge_id,
            created_at=self._now(),
            body=StatusBody(state=state, conn=conn),
        )
        return str(envelope.topic), encode_envelope(envelope)

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff until cancelled."""
        failures = 0
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as error:
                self.connected.clear()
                _reraise_if_cancelling()
                failures += 1
                delay = reconnect_delay_s(failures)
                _LOGGER.warning("broker connection lost (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
            else:  # pragma: no cover - _session only returns by raising
                failures = 0

    async def _session(self) -> None:
        conn = self.mint_id().lower()
        will_topic, will_payload = self._status(EdgeState.OFFLINE, conn)
        client = aiomqtt.Client(
            self._mqtt.host,
            self._mqtt.port,
            identifier=f"odart-edge-{self._site_id}-{self._edge_id}",
            username=self._mqtt.username,
            password=self._mqtt.password,
            tls_context=self._mqtt.tls,
            keepalive=KEEPALIVE_S,
            timeout=NETWORK_TIMEOUT_S,
            will=aiomqtt.Will(will_topic, will_payload, qos=1, retain=True),
            socket_options=[_NODELAY],
        )
        async with client:
            try:
                await self._serve(client, conn)
            except asyncio.CancelledError:
                await self._say_offline(client, conn)
                raise

    async def _serve(self, client: aiomqtt.Client, conn: str) -> None:
        online_topic, online_payload = self._status(EdgeState.ONLINE, conn)
        await client.publish(online_topic, online_payload, qos=1, retain=True)
        base = Topic(self._site_id, self._edge_id, TopicKind.ACK)
        await client.subscribe(str(base), qos=1)
        await client.subscribe(str(replace(base, kind=TopicKind.CMD)), qos=1)
        _reraise_if_cancelling()
        _LOGGER.info("connected to %s:%d as %s", self._mqtt.host, self._mqtt.port, conn)
        self.connected.set()
        # Everything in the outbox is due again on a new connection.
        for entry in self._outbox.due(float("inf"), limit=10_000):
            self._outbox.record_attempt(entry.envelope.msg_id, 0.0)
        await first_failure(self._drain(client), self._receive(client))

    async def _say_offline(self, client: aiomqtt.Client, conn: str) -> None:
        """On a clean stop, mark the edge offline: a clean DISCONNECT never fires the Will, and
        a retained ``online`` would hide that nobody is being watched."""
        topic, payload = self._status(EdgeState.OFFLINE, conn)
        try:
            async with asyncio.timeout(STOP_NOTICE_TIMEOUT_S):
                await client.publish(topic, payload, qos=1, retain=True)
        except (aiomqtt.MqttError, TimeoutError) as error:
            _LOGGER.warning("could not mark the edge offline on stop: %s", error)

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            self._wake.clear()
            for entry in self._outbox.due(time.monotonic()):
                envelope = replace(entry.envelope, sent_at=self._now())
                await client.publish(str(envelope.topic), encode_envelope(envelope), qos=1)
                _reraise_if_cancelling()
                self.published += 1
                self._outbox.record_attempt(
                    envelope.msg_id, time.monotonic() + resend_delay_s(entry.attempts + 1)
                )
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # arrives as the event fires, and the edge then hangs on SIGTERM (gh-86296).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if not isinstance(payload, bytes | bytearray):
                self.rejected += 1
                continue
            try:
                envelope = decode_message(str(message.topic), bytes(payload))
            except WireError as error:
                self.rejected += 1
                _LOGGER.warning("rejected message on %s: %s", message.topic, error)
                continue
            if isinstance(envelope.body, AckBody):
                self.acks_received += 1
                if self._outbox.delete(envelope.body.of):
                    _LOGGER.debug("server stored %s", envelope.body.of)
            elif isinstance(envelope.body, CommandBody) and self._on_command is not None:
                try:
                    await self._on_command(envelope)
                except Exception:  # a bad command must not take the link down
                    _LOGGER.exception("command %s failed", envelope.body.command)
