"""The edge's MQTT side: drains the outbox, takes the server's acks and commands (shell).

Connection policy: a Last Will marks the edge offline (retained); after every (re)connect the
publisher announces itself online (or ``disk_full`` while the outbox cannot write), re-subscribes
to its ``ack`` and ``cmd`` topics, and publishes everything still in the outbox, alerts first. A
message leaves the outbox only when the server's ack arrives. Flow (:mod:`edge.flow`): many
messages in flight at once within a bounded window, and a message is published again only after
a reconnect or when its ack is overdue, never on a fixed timer. The reconnect backoff starts
afresh after a healthy connection; refused credentials stop the publisher for good
(:mod:`edge.publisher_link`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

import aiomqtt

from edge.flow import Flow
from edge.outbox import Outbox, OutboxEntry, Priority
from edge.publisher_link import (
    RECONNECT_POLICY,
    BrokerAuthError,
    BrokerState,
    MqttSettings,
    connect,
    failures_after,
    reconnect_delay_s,
    refusal_code,
    reraise_if_cancelling,
    say_offline,
)
from firmware_bridge.errors import WireError
from firmware_bridge.log_budget import BudgetedLog
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

__all__ = [
    "IDLE_WAKE_S",
    "OUTBOX_FLUSH_S",
    "RECONNECT_POLICY",
    "BrokerAuthError",
    "BrokerState",
    "CommandHandler",
    "MqttSettings",
    "Publisher",
    "failures_after",
    "first_failure",
    "reconnect_delay_s",
    "refusal_code",
]

_LOGGER = logging.getLogger(__name__)

OUTBOX_FLUSH_S: Final = 2.0
"""While the disk is full, try every 2 s to write back what the outbox holds in memory."""

IDLE_WAKE_S: Final = 1.0
"""With nothing to do the drain loop still looks at the outbox once a second."""


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
        clock: monotonic seconds, for ack deadlines and the reconnect backoff.
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mqtt = mqtt
        self._site_id = site_id
        self._edge_id = edge_id
        self._outbox = outbox
        self._on_command = on_command
        self._now = now
        self._minter = IdMinter()
        self._wake = asyncio.Event()
        self._clock = clock
        self._flow = Flow()
        self._entries: dict[str, OutboxEntry] = {}
        """The outbox entries in flight, to publish again if their ack is overdue."""
        self._connected_at_s: float | None = None
        self._reported = EdgeState.ONLINE
        self.state = BrokerState.CONNECTING
        self.error: str | None = None
        self.down_since: datetime | None = now()
        """When the link to the broker was last lost (None while connected)."""
        self.connected = asyncio.Event()
        self.acks_received = 0
        self.published = 0
        self.rejected = 0
        """Acks and commands refused as malformed (logged within a budget); in the health file."""
        self._log = BudgetedLog(_LOGGER)

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

    @property
    def edge_state(self) -> EdgeState:
        """The retained status while connected: ``disk_full`` while the outbox is degraded."""
        return EdgeState.DISK_FULL if self._outbox.degraded else EdgeState.ONLINE

    def health(self) -> dict[str, object]:
        """This component's state for the health file."""
        return {
            "state": self.state.value,
            "error": self.error,
            "in_flight": len(self._flow),
            "published": self.published,
            "resent": self._flow.resent,
            "acks": self.acks_received,
            "rejected": self.rejected,
        }

    async def keep_outbox(self) -> None:
        """Connected or not: delete acked rows, and write back what the disk could not take."""
        while True:
            await asyncio.sleep(OUTBOX_FLUSH_S)
            self._outbox.commit_acks()  # acks that came just before the broker went away
            if self._outbox.degraded and self._outbox.flush():
                self.wake()  # so the status says online again

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff until cancelled.

        Raises:
            BrokerAuthError: the broker refused our credentials; retrying cannot help, so this
                is not retried (the outbox keeps every message for a restart with good ones).
        """
        failures = 0
        while True:
            self._connected_at_s = None
            try:
                await self._session()
            except aiomqtt.MqttError as error:
                self.connected.clear()
                self.down_since = self.down_since or self._now()
                reraise_if_cancelling()
                code = refusal_code(error)
                if code is not None:
                    self.state, self.error = BrokerState.AUTH_FAILED, str(error)
                    _LOGGER.error(  # noqa: TRY400 - a clear line, not a traceback
                        "broker %s:%d refused this edge's credentials (%s): not retrying; "
                        "alerts stay in the outbox. Fix [mqtt] username/password and restart.",
                        self._mqtt.host,
                        self._mqtt.port,
                        error,
                    )
                    raise BrokerAuthError(code) from error
                self.state, self.error = BrokerState.CONNECTING, str(error)
                up_s = (
                    None if self._connected_at_s is None else self._clock() - self._connected_at_s
                )
                failures = failures_after(failures, up_s)
                delay = reconnect_delay_s(failures, random.random(), self._mqtt.reconnect_max_s)
                _LOGGER.warning("broker connection lost (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)

    async def _session(self) -> None:
        conn = self.mint_id().lower()
        will = self._status(EdgeState.OFFLINE, conn)
        in_flight = self._flow.window + self._flow.alert_reserve
        async with connect(self._mqtt, self._site_id, self._edge_id, will, in_flight) as client:
            try:
                await self._serve(client, conn)
            except asyncio.CancelledError:
                await say_offline(client, *self._status(EdgeState.OFFLINE, conn))
                raise

    async def _serve(self, client: aiomqtt.Client, conn: str) -> None:
        self._flow.reset()  # a new connection: everything unacked is due again
        self._entries.clear()
        # "online" first on every connect (the server closes its edge-offline alert and resends
        # state on it); a degraded outbox then says "disk_full" in the drain loop's first round.
        self._reported = EdgeState.ONLINE
        status_topic, status_payload = self._status(self._reported, conn)
        await client.publish(status_topic, status_payload, qos=1, retain=True)
        base = Topic(self._site_id, self._edge_id, TopicKind.ACK)
        await client.subscribe(str(base), qos=1)
        await client.subscribe(str(replace(base, kind=TopicKind.CMD)), qos=1)
        reraise_if_cancelling()
        _LOGGER.info("connected to %s:%d as %s", self._mqtt.host, self._mqtt.port, conn)
        self.state, self.error = BrokerState.CONNECTED, None
        self._connected_at_s, self.down_since = self._clock(), None
        self.connected.set()
        await first_failure(self._drain(client, conn), self._receive(client))

    async def _drain(self, client: aiomqtt.Client, conn: str) -> None:
        """Keep the window full, alerts first; publish again only what is overdue."""
        while True:
            self._wake.clear()
            self._outbox.commit_acks()
            if self._outbox.degraded:
                self._outbox.flush()
            if self.edge_state is not self._reported:
                self._reported = self.edge_state
                _LOGGER.warning("edge status: %s", self._reported.value)
                topic, payload = self._status(self._reported, conn)
                await client.publish(topic, payload, qos=1, retain=True)
                reraise_if_cancelling()
            batch = self._next_batch()
            if batch:
                # Then wait: acks wake this loop once half the window is free (and every new
                # message at once), so the next batch is a big one, not a trickle of small ones.
                await self._publish(client, batch)
            now_s = self._clock()
            deadline_s = self._flow.next_deadline_s()
            wait_s = IDLE_WAKE_S if deadline_s is None else min(deadline_s - now_s, IDLE_WAKE_S)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # arrives as the event fires, and the edge then hangs on SIGTERM (gh-86296).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait_s, 0.0)):
                    await self._wake.wait()

    def _next_batch(self) -> list[OutboxEntry]:
        """What to publish now: overdue messages, then new ones while the window has room."""
        now_s = self._clock()
        batch = [
            self._entries[f.msg_id] for f in self._flow.overdue(now_s) if f.msg_id in self._entries
        ]
        routine_room = self._flow.free(alert=False)
        skip = self._flow.ids()
        if routine_room > 0:
            # Alerts come first and take a slot of either kind, so this many is always allowed.
            batch += self._outbox.due(float("inf"), limit=routine_room, skip=skip)
        elif (alert_room := self._flow.free(alert=True)) > 0:
            batch += self._outbox.due(
                float("inf"), limit=alert_room, skip=skip, priority=Priority.ALERT
            )
        return batch

    async def _publish(self, client: aiomqtt.Client, batch: list[OutboxEntry]) -> None:
        """Publish a batch at once (pipelined: all in flight together) and wait for the PUBACKs."""
        sent_at = self._now()
        now_s = self._clock()
        jobs = []
        for entry in batch:
            envelope = replace(entry.envelope, sent_at=sent_at)
            self._entries[envelope.msg_id] = entry
            self._flow.sent(envelope.msg_id, now_s, alert=entry.priority is Priority.ALERT)
            jobs.append(client.publish(str(envelope.topic), encode_envelope(envelope), qos=1))
        tasks = [asyncio.ensure_future(job) for job in jobs]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        reraise_if_cancelling()
        self.published += len(batch)
        self._outbox.record_attempts(entry.envelope.msg_id for entry in batch)

    def _ack(self, msg_id: str) -> None:
        self.acks_received += 1
        self._flow.acked(msg_id, self._clock())
        self._entries.pop(msg_id, None)
        self._outbox.ack(msg_id)
        if self._flow.free(alert=False) >= self._flow.window // 2:
            # Refill once half the window is free: big batches, so one transaction (fsync)
            # deletes many acked rows and counts many publishes. New messages wake at once.
            self._wake.set()

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
                self._log.warning("rejected message on %s: %s", message.topic, error)
                continue
            if isinstance(envelope.body, AckBody):
                self._ack(envelope.body.of)
            elif isinstance(envelope.body, CommandBody) and self._on_command is not None:
                try:
                    await self._on_command(envelope)
                except Exception:  # a bad command must not take the link down
                    self._log.exception("command %s failed", envelope.body.command)
