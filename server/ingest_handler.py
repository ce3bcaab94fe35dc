"""Ingest's handling of messages: check each, store it, commit, then ack it (shell).

The connections in :mod:`server.ingest` read the broker; they hand each alert or alert update to
:meth:`Handler.handle` and each batch of routine messages (device reports, edge status) to
:meth:`Handler.handle_batch`, with the client to ack on. Every outcome is counted in
:attr:`Handler.counts`, which is :attr:`server.ingest.Ingest.counts`, and logged through the
log ingest gives it, so the lines keep ingest's logger and its budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Final

import aiomqtt

from firmware_bridge.errors import WireError
from firmware_bridge.log_budget import BudgetedLog
from firmware_bridge.wire import (
    AckBody,
    AlertBody,
    AlertUpdate,
    DeviceBody,
    EdgeState,
    Envelope,
    IdMinter,
    MessageKind,
    StatusBody,
    UpdateBody,
    decode_message,
    encode_envelope,
)
from server.domain.admission import ACKED_REFUSALS, REFUSAL_TEXTS, Owner, refusal
from server.domain.alerts import Alert, alert_from_envelope
from server.health import Health
from server.ingest_link import publish_at_once
from server.ingest_queue import SLICE_S
from server.live import LiveHub
from server.store.db import BatchLost, Store


def _is_full(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


class Handler:
    """Checks, stores and acks the messages ingest reads; no message's failure escapes it.

    Args:
        store: the rows: written, committed, and only then acked.
        hub: told when an edge's state changes, for open panels.
        admit: takes a new alert (stored, with its lifecycle, and paged); False if it was not new.
        on_update: takes an edge's update to one of its alerts.
        now: wall clock: when a message was stored, and the acks' times.
        sites: the configured sites' ids; a message from any other is refused.
        log: where lines about single messages go (ingest's logger, under a budget).
        minter: mints the acks' message ids (ingest's, shared with its commands).
        on_store_error: told when a message could not be stored (and so was not acked).
        health: told of device and edge changes; None tells no one.
        gate: whether a message about a resident may be stored (consent); None stores all.
        gate_batch: entered around a batch of routine messages (the gate remembers verdicts).
        on_edge_online: awaited with (site, edge) when an edge comes online.
    """

    def __init__(
        self,
        store: Store,
        hub: LiveHub,
        admit: Callable[[Alert], bool],
        on_update: Callable[[str, AlertUpdate], bool],
        now: Callable[[], datetime],
        *,
        sites: Collection[str],
        log: BudgetedLog,
        minter: IdMinter,
        on_store_error: Callable[[sqlite3.Error], None],
        health: Health | None = None,
        gate: Callable[[Envelope], bool] | None = None,
        gate_batch: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
        on_edge_online: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._sites = frozenset(sites)
        self._log = log
        """Lines about single messages: a flood of bad ones is counted, not logged line by line."""
        self._health = health
        self._gate = gate
        self._gate_batch = gate_batch or contextlib.nullcontext
        self._on_edge_online = on_edge_online
        self._store = store
        self._hub = hub
        self._admit = admit
        self._on_update = on_update
        self._now = now
        self._minter = minter
        self._on_store_error = on_store_error
        self.counts: Counter[str] = Counter()

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
        self.count("refused", "store_full" if _is_full(error) else "store_error")
        self._log.error(
            "message on %s not stored (%s); not acked, the edge resends it",
            loggable(topic),
            error,
        )
        self._on_store_error(error)

    def _failed(self, topic: str, error: Exception) -> None:
        # Not _LOGGER.exception: an exception's text may quote the payload, which the log
        # must never hold. The type and the line that raised are enough to find the bug.
        self.count("failed", type(error).__name__)
        where = traceback.extract_tb(error.__traceback__)[-1]
        self._log.error(
            "message on %s not handled: %s at %s:%s in %s (not acked; the edge resends it)",
            loggable(topic),
            type(error).__name__,
            where.filename,
            where.lineno,
            where.name,
        )

    def count(self, outcome: str, reason: str) -> None:
        """Count one message's ``outcome``, in all and by ``reason``."""
        self.counts[outcome] += 1
        self.counts[f"{outcome}.{reason}"] += 1

    def _decode(self, topic: str, payload: object) -> Envelope | None:
        """The message's envelope, or None (counted, logged) if it breaks the wire contract."""
        if not isinstance(payload, bytes | bytearray):
            self.count("rejected", "not_bytes")
            self._log.warning("rejected message on %s: payload is not bytes", loggable(topic))
            return None
        try:
            return decode_message(topic, bytes(payload))
        except WireError as error:
            self.count("rejected", "topic" if error.field == "topic" else "malformed")
            self._log.warning("rejected message on %s: %s", loggable(topic), error)
            return None

    def _screen(self, envelope: Envelope) -> bool | None:
        """None if the message may be applied; else whether to ack it unapplied (refused)."""
        owner = None
        if isinstance(envelope.body, UpdateBody):
            found = self._store.alert_owner(envelope.body.of)
            owner = None if found is None else Owner(*found)
        refused = refusal(envelope, self._sites, owner)
        if refused is not None:
            self.count("refused", refused.value)
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
                self.count("rejected", "wrong_type")
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
                    body.state.value,
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
                if body.state is EdgeState.ONLINE:
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
                        self.count("failed", "batch_lost")
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
            self.count("failed", "batch_lost")
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


def loggable(topic: str) -> str:
    """A received topic, safe to put in a log line (quoted, no raw newlines, bounded)."""
    return repr(topic[:_LOGGABLE_TOPIC_CHARS])
