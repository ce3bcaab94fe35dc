"""The publisher's MQTT link: client settings, the reconnect backoff, refusals for good (shell).

How :class:`edge.publisher.Publisher` reaches the broker: where it is and who we are to it, the
client every (re)connect opens (keepalive, Will, in-flight window), the offline notice on a clean
stop, how long to wait before the next attempt, and which refusals no retry can fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.reasoncodes import ReasonCode

from edge.supervisor import BackoffPolicy, backoff_delay_s

_LOGGER = logging.getLogger(__name__)

RECONNECT_POLICY: Final = BackoffPolicy(base_s=0.5, cap_s=15.0, healthy_after_s=30.0)
"""Reconnect backoff: quick after a blip, at most 15 s so alerts wait little; a connection that
stayed up 30 s was healthy, so the next loss starts again from half a second."""

KEEPALIVE_S: Final = 15
"""MQTT keepalive: the broker fires our Last Will ~1.5-2.5x this after we go silent."""

NETWORK_TIMEOUT_S: Final = 10.0
"""Upper bound on any single broker operation (connect, publish, subscribe)."""

STOP_NOTICE_TIMEOUT_S: Final = 2.0
"""How long a stopping edge waits to mark itself offline: a stop must not hang on a dead broker
(the broker's Will covers that case once the keepalive runs out)."""

_NODELAY: Final = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

AUTH_REFUSALS: Final = frozenset({4, 5, 134, 135, 138, 140})
"""CONNACK codes that retrying cannot fix: MQTT 3.1.1 4 (bad user name or password) and 5 (not
authorised); MQTT 5 0x86, 0x87, 0x8A (banned) and 0x8C (bad authentication method)."""


class BrokerState(StrEnum):
    """The publisher's link to the broker, as the health file reports it."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    AUTH_FAILED = "auth_failed"
    """The broker refused our credentials: not retried until the edge is restarted."""


class BrokerAuthError(Exception):
    """The broker refused the edge's credentials; a permanent failure.

    Attributes:
        code: the CONNACK reason code.
    """

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"the broker refused the edge's credentials (CONNACK {code})")


def reraise_if_cancelling() -> None:
    """Raise CancelledError if this task was cancelled but an await swallowed it.

    aiomqtt can turn a cancellation into an MqttError while it disconnects, and on Python 3.11
    its ``asyncio.wait_for`` for a PUBACK or SUBACK swallows a cancellation that arrives as the
    ack does (gh-86296): the edge then never stops on SIGTERM. Called after those awaits.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def refusal_code(error: BaseException) -> int | None:
    """The CONNACK code if ``error`` is the broker refusing our credentials, else None."""
    if not isinstance(error, aiomqtt.MqttCodeError):
        return None
    rc = error.rc
    code = rc.value if isinstance(rc, ReasonCode) else rc
    if isinstance(error, MqttConnectError) and code in AUTH_REFUSALS:
        return int(code)
    return None


def failures_after(failures: int, up_s: float | None) -> int:
    """Failures in a row, counting this one; a connection that was up for the healthy period
    (``up_s``; None if it never connected) starts the count, and so the backoff, afresh."""
    if up_s is not None and up_s >= RECONNECT_POLICY.healthy_after_s:
        return 1
    return failures + 1


def reconnect_delay_s(failures: int, jitter: float = 0.0, cap_s: float | None = None) -> float:
    """Seconds to wait after ``failures`` consecutive failed connections (capped doubling;
    ``cap_s`` replaces the default cap, see ``[mqtt] reconnect_max_s``)."""
    policy = RECONNECT_POLICY if cap_s is None else replace(RECONNECT_POLICY, cap_s=cap_s)
    return backoff_delay_s(max(failures - 1, 0), policy, jitter)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where the broker is and who we are to it."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None
    """Client TLS (CA + this edge's certificate); None: plain MQTT (loopback demo, tests)."""
    reconnect_max_s: float = RECONNECT_POLICY.cap_s
    """The longest wait between reconnect attempts."""


@contextlib.asynccontextmanager
async def connect(
    mqtt: MqttSettings, site_id: str, edge_id: str, will: tuple[str, bytes], in_flight: int
) -> AsyncIterator[aiomqtt.Client]:
    """One connection of edge ``edge_id`` at ``site_id``, disconnected when the block ends.

    Args:
        mqtt: broker address and credentials.
        site_id: this edge's site.
        edge_id: this edge's id.
        will: topic and payload of the Last Will, published (QoS 1, retained) by the broker
            if this connection dies.
        in_flight: how many QoS 1 publishes may await their PUBACK at once.
    """
    client = aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        identifier=f"odart-edge-{site_id}-{edge_id}",
        username=mqtt.username,
        password=mqtt.password,
        tls_context=mqtt.tls,
        keepalive=KEEPALIVE_S,
        timeout=NETWORK_TIMEOUT_S,
        will=aiomqtt.Will(*will, qos=1, retain=True),
        socket_options=[_NODELAY],
        max_inflight_messages=in_flight,
    )
    # A full window is many publishes awaiting their PUBACK at once, by design.
    client.pending_calls_threshold = in_flight
    try:
        async with client:
            yield client
    finally:
        # aiomqtt 2.x keeps a drop's error for its message loop alone; a drop met elsewhere
        # (a subscribe timing out) would be logged as "never retrieved" when collected.
        dropped = client._disconnected
        if dropped.done() and not dropped.cancelled() and dropped.exception() is not None:
            _LOGGER.debug("connection ended: %s", dropped.exception())


async def say_offline(client: aiomqtt.Client, topic: str, payload: bytes) -> None:
    """On a clean stop, mark the edge offline: a clean DISCONNECT never fires the Will, and
    a retained ``online`` would hide that nobody is being watched."""
    try:
        async with asyncio.timeout(STOP_NOTICE_TIMEOUT_S):
            await client.publish(topic, payload, qos=1, retain=True)
    except (aiomqtt.MqttError, TimeoutError) as error:
        _LOGGER.warning("could not mark the edge offline on stop: %s", error)
