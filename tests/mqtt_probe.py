"""A small synchronous MQTT client for tests: publish, and collect what arrives on a filter."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class MqttProbe:
    """A paho client on its own network thread that records every message it receives."""

    def __init__(self, host: str, port: int, *subscriptions: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._subscriptions = subscriptions
        self._connected = threading.Event()
        self._unacked: set[int] = set()
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        # Connected and subscribed: whatever is published after this returns reaches the probe
        # (connected alone was not enough on a loaded machine: the broker had not yet read the
        # SUBSCRIBE when the server's message arrived).
        if not self._connected.wait(30):
            message = f"could not connect to {host}:{port} and subscribe to {subscriptions}"
            raise TimeoutError(message)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        if not self._subscriptions:
            self._connected.set()
            return
        with self._cond:
            for topic in self._subscriptions:
                _, mid = client.subscribe(topic, qos=1)
                if mid is not None:
                    self._unacked.add(mid)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: object,
        properties: object,
    ) -> None:
        with self._cond:
            self._unacked.discard(mid)
            if not self._unacked:
                self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish with QoS 1 and wait for the broker's PUBACK."""
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, bytes, bool]]:
        """Wait until ``count`` messages arrived (or time ran out) and return all so far."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.messages) < count and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return list(self.messages)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttProbe:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def wait_until(predicate: object, timeout_s: float = 20.0, interval_s: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is truthy or the time runs out; return its last verdict."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():  # type: ignore[operator]
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
