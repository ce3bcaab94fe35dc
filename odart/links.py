"""Builds the device links an edge config asks for, one device at a time (shell, composition root).

:func:`build_link` turns one ``[[devices]]`` entry into its link: BLE wearables by model
(:mod:`edge.ble`), UART radars (:mod:`edge.uart`), GPIO and zigbee2mqtt doors
(:mod:`edge.doors`), or a simulated device (:mod:`simulators`). Shared resources (the one BLE
scanner per adapter, the default broker) live in a :class:`LinkFactory`, so links can be built
and dropped while the agent runs. Kept here, not in ``edge``, so that the production agent does
not depend on the simulators; hardware libraries are imported only when a device needs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.config import DeviceConfig, EdgeConfig, EdgeConfigError, LinkKind, MqttConfig, Role
from edge.device_config import device_problem
from edge.notify_decode import NotificationLink, NotificationSource
from edge.transport import DeviceLink, LinkEvent
from simulators.physiology import Episode, EpisodeKind, PhysiologyStream, SubjectParams

if TYPE_CHECKING:
    from edge.ble import BleScanner

__all__ = ["FramedWearableLink", "LinkFactory", "SimClock", "build_link", "build_links"]


def _physiology(device: DeviceConfig, key: str) -> PhysiologyStream:
    virtual = device.virtual
    assert virtual is not None  # the config fills in a default for virtual links
    try:
        params = SubjectParams() if virtual.rate_bpm is None else SubjectParams(virtual.rate_bpm)
        episodes = [
            Episode(EpisodeKind(e.kind), e.start_s, e.duration_s, params=e.params)
            for e in virtual.episodes
        ]
    except (TypeError, ValueError) as error:
        raise EdgeConfigError(f"{key}.virtual", str(error)) from None
    return PhysiologyStream(params, episodes, np.random.default_rng(virtual.seed))


@dataclass
class LinkFactory:
    """What links of one edge share: the broker doors default to, the BLE adapter and scanner.

    Attributes:
        mqtt: the edge's broker; a zigbee2mqtt door without ``[devices.broker]`` uses it.
        ble_adapter: the BlueZ adapter every BLE link scans and connects on.
        speed: overrides every virtual device's pace (simulated seconds per second).
    """

    mqtt: MqttConfig = field(default_factory=MqttConfig)
    ble_adapter: str | None = None
    speed: float | None = None
    _scanner: BleScanner | None = None

    @classmethod
    def for_config(cls, config: EdgeConfig, *, speed: float | None = None) -> LinkFactory:
        """The factory for an edge config."""
        return cls(config.mqtt, config.ble.adapter, speed)

    @property
    def scanner(self) -> BleScanner:
        """The adapter's one scanner (made on first use)."""
        if self._scanner is None:
            from edge.ble import BleScanner

            self._scanner = BleScanner(adapter=self.ble_adapter)
        return self._scanner

    def build(
        self,
        device: DeviceConfig,
        *,
        key: str | None = None,
        occupant: PhysiologyStream | None = None,
    ) -> DeviceLink:
        """The link for one device.

        Args:
            device: the device's config.
            key: how errors name the device (``devices.<n>``; its id when left out).
            occupant: for a virtual radar or door, the physiology of the person in the room
                (a fresh one from its own seed otherwise).

        Raises:
            EdgeConfigError: the entry cannot be built, naming the key and the reason.
        """
        key = key or f"devices.{device.id}"
        problem = device_problem(device)
        if problem is not None:
            raise EdgeConfigError(f"{key}.{problem[0]}", problem[1])
        match device.link:
            case LinkKind.VIRTUAL:
                return self._virtual(device, key, occupant)
            case LinkKind.BLE:
                return self._ble(device)
            case LinkKind.UART:
                return _uart(device)
            case LinkKind.GPIO:
                return _gpio(device)
            case LinkKind.ZIGBEE2MQTT:
                return self._zigbee2mqtt(device)

    def _virtual(
        self, device: DeviceConfig, key: str, occupant: PhysiologyStream | None
    ) -> DeviceLink:
        from simulators.devices import VirtualRoom, VirtualWearable

        virtual = device.virtual
        assert virtual is not None  # the config fills in a default for virtual links
        pace = self.speed or virtual.speed
        if device.role is Role.WEARABLE and virtual.framed:
            from edge.notify_decode import DEFAULT_NO_DATA_TIMEOUT_S
            from simulators.framed import FramedWearable

            wearable = FramedWearable(
                device.id,
                occupant or _physiology(device, key),
                pace,
                seed=virtual.seed,
                answers_checkin=virtual.answers_checkin,
                answer_delay_s=virtual.answer_delay_s,
            )
            return FramedWearableLink(
                device.id,
                wearable,
                # The watchdog runs on the simulated clock: allow it the same wall-clock time as
                # a real wearable, so a busy event loop at high speed is not a "hung" device.
                no_data_timeout_s=DEFAULT_NO_DATA_TIMEOUT_S * pace,
                clock=SimClock(pace),
            )
        if device.role is Role.WEARABLE:
            return VirtualWearable(
                device.id,
                occupant or _physiology(device, key),
                pace,
                answers_checkin=virtual.answers_checkin,
                answer_delay_s=virtual.answer_delay_s,
            )
        stream = occupant or _physiology(device, key)
        return VirtualRoom(device.id, stream.room(), pace)

    def _ble(self, device: DeviceConfig) -> DeviceLink:
        from edge.ble import BleakDeviceLink
        from edge.notify_decode import DEFAULT_NO_DATA_TIMEOUT_S, PROFILES

        assert device.model is not None  # device_problem checked it
        assert device.address is not None
        return BleakDeviceLink(
            device.id,
            device.address,
            self.scanner,
            profile=PROFILES[device.model],
            no_data_timeout_s=device.no_data_timeout_s or DEFAULT_NO_DATA_TIMEOUT_S,
        )

    def _zigbee2mqtt(self, device: DeviceConfig) -> DeviceLink:
        from edge.doors import Zigbee2MqttDoorLink

        assert device.topic is not None  # device_problem
        broker = device.broker or self.mqtt
        return Zigbee2MqttDoorLink(
            device.id,
            topic=device.topic,
            host=broker.host,
            port=broker.port,
            username=broker.username,
            password=broker.password,
            silence_timeout_s=device.silence_timeout_s,
        )


class SimClock:
    """Simulated seconds since the link's stream started, paced ``pace`` times real time.

    A framed wearable's samples are stamped on it, so they share a time base with the virtual
    room started beside it (whose own clock also starts at zero with its stream).
    """

    def __init__(self, pace: float) -> None:
        self.pace = pace
        self._origin: float | None = None

    def restart(self) -> None:
        """Zero again at the next reading (the link's stream is starting)."""
        self._origin = None

    def __call__(self) -> float:
        now = asyncio.get_running_loop().time()
        if self._origin is None:
            self._origin = now
        return (now - self._origin) * self.pace


class FramedWearableLink(NotificationLink):
    """The decoding link of a simulated wearable, on a clock that starts with its stream."""

    def __init__(
        self, device_id: str, source: NotificationSource, *, clock: SimClock, **kwargs: Any
    ) -> None:
        super().__init__(device_id, source, clock=clock, **kwargs)
        self.sim_clock = clock

    def stream(self) -> AsyncIterator[LinkEvent]:
        """Start the simulated clock at zero, then stream as any wearable does."""
        self.sim_clock.restart()
        return super().stream()


def _uart(device: DeviceConfig) -> DeviceLink:
    from edge.uart import DEFAULT_NO_DATA_TIMEOUT_S, RadarKind, UartRadarLink

    assert device.model is not None  # device_problem checked it
    assert device.port is not None
    return UartRadarLink(
        device.id,
        device.port,
        RadarKind(device.model.value),
        baudrate=device.baud,
        no_data_timeout_s=device.no_data_timeout_s or DEFAULT_NO_DATA_TIMEOUT_S,
    )


def _gpio(device: DeviceConfig) -> DeviceLink:
    from edge.doors import GpioDoorLink

    assert device.pin is not None  # device_problem
    return GpioDoorLink(device.id, device.pin, closed_level_high=device.closed_level_high)


def build_link(
    device: DeviceConfig,
    factory: LinkFactory,
    *,
    key: str | None = None,
    occupant: PhysiologyStream | None = None,
) -> DeviceLink:
    """The link for one device (see :meth:`LinkFactory.build`)."""
    return factory.build(device, key=key, occupant=occupant)


def build_links(
    config: EdgeConfig, *, speed: float | None = None, factory: LinkFactory | None = None
) -> list[DeviceLink]:
    """One link per device assigned to a person; ``speed`` overrides every virtual device's pace.

    A person's virtual room devices follow the same simulated person as their virtual wearable.
    """
    factory = factory or LinkFactory.for_config(config, speed=speed)
    index_of = {device.id: index for index, device in enumerate(config.devices)}
    by_id = {device.id: device for device in config.devices}
    links: list[DeviceLink] = []
    for person in config.people:
        devices = sorted((by_id[d] for d in person.devices), key=lambda d: d.role != Role.WEARABLE)
        stream: PhysiologyStream | None = None
        for device in devices:
            key = f"devices.{index_of[device.id]}"
            if device.link is LinkKind.VIRTUAL and stream is None:
                stream = _physiology(device, key)
            occupant = stream if device.link is LinkKind.VIRTUAL else None
            links.append(factory.build(device, key=key, occupant=occupant))
    return links
