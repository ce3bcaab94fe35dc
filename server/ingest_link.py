"""Ingest's MQTT connections: client settings, the reconnect loop, refusals for good (shell).

The server holds two connections to the broker (issue 15): the routine one reads device reports
and edge status and sends acks and commands; the alert one reads alerts and alert updates and
acks them, and does nothing else, so an alert never queues behind routine messages in the
broker's queue for the server, in the socket, or in the client library. Each reconnects on its
own with the same policy; refused credentials stop both for good.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Final, cast

import aiomqtt
import paho.mqtt.client as paho
from aiomqtt.exceptions import MqttConnectError

from server.config import MqttConfig
from server.errors import PermanentFailure
from server.mqtt_tls import ALERTS_IDENTITY, SERVER_IDENTITY
from server.supervisor import failures_after, restart_delay_s

_LOGGER = logging.getLogger(__name__)

CLIENT_ID: Final = SERVER_IDENTITY
"""Stable id + persistent session: the broker queues events for us while we restart."""

ALERTS_CLIENT_ID: Final = ALERTS_IDENTITY
"""The alert connection's id (and, with TLS, its certificate's CN): a persistent session of its
own, so alerts sent while the server restarts wait for it in the broker."""

RECONNECT_MAX_S: Final = 15.0
"""Cap on the reconnect backoff."""

REFUSED_CONNECT_CODES: Final = frozenset({4, 5, 134, 135, 138, 140})
"""CONNACK codes that retrying cannot fix: bad user name or password, not authorised, banned,
bad authentication method (MQTT 3.1.1 section 3.2.2.3; MQTT 5.0 section 3.2.2.2)."""

NETWORK_TIMEOUT_S: Final = 10.0
"""Upper bound on one broker operation."""

KEEPALIVE_S: Final = 30
"""MQTT keepalive of both connections."""

ACK_WINDOW: Final = 100
"""QoS 1 publishes (acks) in flight at once, as many as the broker lets one client have
(``max_inflight_messages 100``), not paho's 20: a batch's acks share round trips. Not more:
paho reads as many packets per wake-up as it has messages queued, which would stall the loop."""

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


def reraise_if_cancelling() -> None:
    """aiomqtt can turn a cancellation into an MqttError while it disconnects; never retry then."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def make_client(
    mqtt: MqttConfig,
    identifier: str,
    tls: ssl.SSLContext | None,
    queue: asyncio.Queue[aiomqtt.Message] | None = None,
) -> aiomqtt.Client:
    """One of ingest's clients: persistent session, no Nagle, the ack window; ``queue`` is where
    received messages go (aiomqtt's own FIFO if None)."""
    extra: dict[str, object] = {}
    if queue is not None:
        extra["queue_type"] = cast("type[asyncio.Queue[aiomqtt.Message]]", lambda maxsize=0: queue)
    client = aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        identifier=identifier,
        username=mqtt.username,
        password=mqtt.password,
        tls_context=tls,
        clean_session=False,
        keepalive=KEEPALIVE_S,
        timeout=NETWORK_TIMEOUT_S,
        socket_options=[_NODELAY],
        max_inflight_messages=ACK_WINDOW,
        **extra,  # type: ignore[arg-type]
    )
    # A batch's acks are in flight together by design: no warning per publish beyond 10.
    client.pending_calls_threshold = ACK_WINDOW
    return client


def settle_disconnect(client: aiomqtt.Client) -> None:
    """Read the disconnect error aiomqtt stored for a connection that ended outside its message
    loop (aiomqtt 2.x reads it only there), so asyncio never logs "Future exception was never
    retrieved" when the client is collected; the session's own error path has already logged
    why the connection ended."""
    future = client._disconnected  # aiomqtt 2.x: set when the broker drops the connection
    if future.done() and not future.cancelled():
        error = future.exception()
        if error is not None:
            _LOGGER.debug("connection %s ended: %s", client.identifier, error)


def publish_at_once(client: aiomqtt.Client, topic: str, payload: bytes) -> None:
    """Queue a QoS 0 publish and return; the loop writes every queued packet in its next turn.

    aiomqtt's ``publish`` waits until each QoS 0 packet is written, one loop turn each, so a
    batch's acks went out one per turn (a quarter of ingest's time at saturation). This hands
    the packet to the paho client aiomqtt wraps, as aiomqtt's own ``publish`` does, without the
    wait.

    Raises:
        aiomqtt.MqttCodeError: the client is not connected.
    """
    info = client._client.publish(topic, payload, qos=0)  # aiomqtt 2.x: its paho client
    if info.rc != paho.MQTT_ERR_SUCCESS:
        raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")


async def keep_connected(name: str, session: Callable[[], Awaitable[None]]) -> None:
    """Run ``session`` until cancelled, reconnecting with a backoff that resets after a healthy
    session.

    Raises:
        PermanentFailure: the broker refused our credentials; retrying would not help.
    """
    failures = 0
    while True:
        started = time.monotonic()
        try:
            await session()
        except aiomqtt.MqttError as error:
            reraise_if_cancelling()
            reason = refused_for_good(error)
            if reason is not None:
                _LOGGER.error("%s stops: %s", name, reason)  # noqa: TRY400 - the reason says it all
                raise PermanentFailure(name, reason) from error
            failures = failures_after(failures, time.monotonic() - started)
            delay = reconnect_delay_s(failures)
            _LOGGER.warning(
                "%s: broker connection lost (%s); retrying in %.1f s", name, error, delay
            )
            await asyncio.sleep(delay)


async def first_failure(*jobs: Awaitable[None]) -> None:
    """Run ``jobs`` together; when one ends or fails, cancel and await the rest, then re-raise
    its error itself (not an ExceptionGroup), so the supervisor can classify it."""
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
