"""Door-contact links: a GPIO reed switch (gpiozero) and zigbee2mqtt sensors (aiomqtt) (shell).

Both yield :data:`~firmware_bridge.samples.Channel.DOOR` samples (1.0 open, 0.0 closed) on every
change and repeat the current state every ``report_period_s``, so the detector always has a
fresh door reading; a zigbee2mqtt sensor reported offline or silent too long stops the repeats
and becomes a device fault. Decoding is pure and lives in :mod:`firmware_bridge`
(``door_from_gpio``, ``decode_contact``: ``contact: true`` means closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import aiomqtt

from edge.device_config import DEFAULT_SILENCE_TIMEOUT_S
from edge.device_config import Z2M_BASE_TOPIC as DEVICE_Z2M_BASE_TOPIC
from edge.supervisor import BackoffPolicy, LinkLost, supervise
from edge.transport import DeviceStatus, LinkEvent
from firmware_bridge import DoorState, FrameError, decode_contact, door_from_gpio
from firmware_bridge.log_budget import BudgetedLog
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import DeviceState

_LOGGER = logging.getLogger(__name__)

# Repeat the door state once a second: the detector's door rule works on 1 s steps.
DEFAULT_REPORT_PERIOD_S: Final = 1.0
# Reed switches bounce for a few ms; 50 ms debounce (gpiozero's bounce_time) hides it.
REED_BOUNCE_S: Final = 0.05
# Every MQTT await is bounded; a loopback or LAN broker answers in milliseconds.
MQTT_TIMEOUT_S: Final = 10.0
# zigbee2mqtt's base topic (its ``mqtt.base_topic`` default).
Z2M_BASE_TOPIC: Final = DEVICE_Z2M_BASE_TOPIC
# zigbee2mqtt publishes each device's availability, retained, to ``<device topic>/availability``.
AVAILABILITY_SUFFIX: Final = "availability"


def door_sample(device_id: str, state: DoorState, t_s: float, period_s: float) -> SampleBlock:
    """One door reading as a sample block (pure)."""
    return SampleBlock(device_id, Channel.DOOR, t_s, 1.0 / period_s, (state.value,))


class GpioDoorLink:
    """A :class:`~edge.transport.DeviceLink` for a reed switch on a GPIO pin (to GND, pull-up)."""

    def __init__(
        self,
        device_id: str,
        pin: int | str,
        *,
        pin_factory: Any = None,
        closed_level_high: bool = False,
        report_period_s: float = DEFAULT_REPORT_PERIOD_S,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Describe the link; ``pin_factory`` is gpiozero's (``None`` = the Pi's default)."""
        self.device_id = device_id
        self.pin = pin
        self._pin_factory = pin_factory
        self._closed_level_high = closed_level_high
        self.report_period_s = report_period_s
        self._policy = policy
        self._clock = clock
        self._jitter = jitter

    def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield the door state on every change and every ``report_period_s``.

        A pin that cannot be opened (no GPIO on this machine, pin busy, lgpio missing) is a
        ``disconnected`` door, retried with backoff; it never stops the edge.
        """
        return supervise(
            self.device_id,
            self._session,
            policy=self._policy,
            clock=self._clock,
            jitter=self._jitter,
        )

    async def _session(self) -> AsyncIterator[LinkEvent]:
        from gpiozero import DigitalInputDevice, GPIOZeroError  # type: ignore[import-untyped]

        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        try:
            # pull_up=True: a closed reed pulls the pin to ground.
            device = DigitalInputDevice(
                self.pin, pull_up=True, bounce_time=REED_BOUNCE_S, pin_factory=self._pin_factory
            )
        except (GPIOZeroError, OSError, ImportError, RuntimeError) as exc:
            message = f"cannot open GPIO pin {self.pin}: {exc.__class__.__name__}: {exc}"
            raise LinkLost(message) from exc

        def on_edge() -> None:  # gpiozero calls this from its own thread
            loop.call_soon_threadsafe(changed.set)

        device.when_activated = on_edge
        device.when_deactivated = on_edge
        try:
            yield DeviceStatus(self.device_id, DeviceState.CONNECTED, self._clock())
            while True:
                # value 1 = active = pulled low with pull_up=True; raw level high = not active
                level_high = not device.value
                state = door_from_gpio(level_high, closed_level_high=self._closed_level_high)
                yield door_sample(self.device_id, state, self._clock(), self.report_period_s)
                changed.clear()
                try:
                    async with asyncio.timeout(self.report_period_s):
                        await changed.wait()
                except TimeoutError:
                    pass
        finally:
            device.close()


class Zigbee2MqttDoorLink:
    """A :class:`~edge.transport.DeviceLink` for a zigbee2mqtt contact sensor.

    The last door state is repeated only while the sensor is known to be alive: when its
    ``<topic>/availability`` says ``offline`` the link reports ``disconnected``, and when nothing
    has come for ``silence_timeout_s`` it reports ``no_data``; either way the repeats stop until
    the sensor reports again, so a dead sensor is a device fault, never a door frozen shut.
    """

    def __init__(
        self,
        device_id: str,
        topic: str,
        *,
        host: str,
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        report_period_s: float = DEFAULT_REPORT_PERIOD_S,
        silence_timeout_s: float = DEFAULT_SILENCE_TIMEOUT_S,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Describe the link; nothing connects until :meth:`stream` runs.

        ``tls`` is a client context for a TLS broker. Mosquitto set up by ``odart broker config``
        gives each certificate one connection (its CN is the client id), so this link must not
        share the edge publisher's certificate on the same broker: use zigbee2mqtt's own broker.
        """
        self.device_id = device_id
        self.topic = topic
        self.availability_topic = f"{topic}/{AVAILABILITY_SUFFIX}"
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self._tls = tls
        self.report_period_s = report_period_s
        self.silence_timeout_s = silence_timeout_s
        self._policy = policy
        self._clock = clock
        self._jitter = jitter
        self.battery_pct: int | None = None
        self.bad_messages = 0
        self._log = BudgetedLog(_LOGGER)
        self.state = DeviceState.DISCONNECTED
        """The sensor's state as last reported by this link."""

    def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield door samples and statuses until cancelled, reconnecting to the broker."""
        return supervise(
            self.device_id,
            self._session,
            policy=self._policy,
            clock=self._clock,
            jitter=self._jitter,
        )

    def _status(self, state: DeviceState) -> DeviceStatus:
        self.state = state
        return DeviceStatus(self.device_id, state, self._clock(), battery_pct=self.battery_pct)

    async def _session(self) -> AsyncIterator[LinkEvent]:
        try:
            async with aiomqtt.Client(
                self.host,
                self.port,
                username=self._username,
                password=self._password,
                tls_context=self._tls,
                timeout=MQTT_TIMEOUT_S,
            ) as client:
                async with asyncio.timeout(MQTT_TIMEOUT_S):
                    await client.subscribe(self.topic, qos=1)
                    await client.subscribe(self.availability_topic, qos=1)
                yield self._status(DeviceState.CONNECTED)
                async for event in self._receive(aiter(client.messages)):
                    yield event
        except aiomqtt.MqttError as exc:
            message_text = f"broker: {exc.__class__.__name__}"
            raise LinkLost(message_text) from exc

    async def _receive(self, messages: AsyncIterator[aiomqtt.Message]) -> AsyncIterator[LinkEvent]:
        door: DoorState | None = None
        heard_s = self._clock()
        while True:
            silent_for_s = self._clock() - heard_s
            wait_s = min(self.report_period_s, max(self.silence_timeout_s - silent_for_s, 0.0))
            try:
                async with asyncio.timeout(wait_s):
                    message = await anext(messages)
            except TimeoutError:
                if self._clock() - heard_s >= self.silence_timeout_s:
                    if self.state is DeviceState.CONNECTED:
                        _LOGGER.warning(
                            "device %s: silent for %.0f s", self.device_id, self.silence_timeout_s
                        )
                        door = None
                        yield self._status(DeviceState.NO_DATA)
                elif door is not None and self.state is DeviceState.CONNECTED:
                    yield self._sample(door)  # repeat the last known state
                continue
            if message.topic.matches(self.availability_topic):
                online = self._availability(message.payload)
                if online is False and self.state is not DeviceState.DISCONNECTED:
                    _LOGGER.warning("device %s: zigbee2mqtt reports it offline", self.device_id)
                    door = None
                    yield self._status(DeviceState.DISCONNECTED)
                elif online and self.state is DeviceState.DISCONNECTED:
                    yield self._status(DeviceState.CONNECTED)
                continue
            events = self._handle(message.payload)
            if events:
                heard_s = self._clock()
                if self.state is not DeviceState.CONNECTED:
                    yield self._status(DeviceState.CONNECTED)
            for event in events:
                if isinstance(event, SampleBlock):
                    door = DoorState(event.values[0])
                yield event

    def _availability(self, payload: object) -> bool | None:
        """``True`` online, ``False`` offline, ``None`` unreadable (counted).

        zigbee2mqtt >= 1.34 sends ``{"state": "online"}``; older ones (``legacy_availability``)
        the bare word.
        """
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        state: object = text.strip()
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # nested too deep: a bad message, not a lost link
            document = None
        if isinstance(document, dict):
            state = document.get("state")
        if state in ("online", "offline"):
            return state == "online"
        self.bad_messages += 1
        self._log.warning("device %s: ignored availability message", self.device_id)
        return None

    def _sample(self, state: DoorState) -> SampleBlock:
        return door_sample(self.device_id, state, self._clock(), self.report_period_s)

    def _handle(self, payload: object) -> list[LinkEvent]:
        if not isinstance(payload, bytes | str):
            self.bad_messages += 1
            return []
        try:
            report = decode_contact(payload)
        except FrameError as error:
            self.bad_messages += 1
            self._log.warning("device %s: ignored zigbee2mqtt message: %s", self.device_id, error)
            return []
        events: list[LinkEvent] = []
        if report.battery_pct is not None and report.battery_pct != self.battery_pct:
            self.battery_pct = report.battery_pct
            events.append(self._status(DeviceState.CONNECTED))
        if report.door is not None:
            events.append(self._sample(report.door))
        return events
