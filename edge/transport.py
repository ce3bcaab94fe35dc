"""The device-link seam: what every wearable, radar or door link gives the edge agent (pure types).

A :class:`DeviceLink` is anything with a ``device_id`` and a ``stream()`` async generator that
yields decoded :class:`~firmware_bridge.samples.SampleBlock` values, :class:`DeviceStatus`
changes and the wearer's :class:`ButtonPress` until it is cancelled. A wearable that can buzz
its wearer is also a :class:`Buzzer`. BLE (:mod:`edge.ble`), UART radars (:mod:`edge.uart`), door
contacts (:mod:`edge.doors`) and the simulators' virtual devices all fit it. A link never raises
on a device misbehaving: it reports ``DISCONNECTED`` or ``NO_DATA`` and keeps trying, so a lost
device becomes "no data" for the detector, never a detection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from firmware_bridge import AlertLevel
from firmware_bridge.samples import ButtonPress, SampleBlock
from firmware_bridge.wire import DeviceState

__all__ = [
    "ButtonPress",
    "Buzzer",
    "DeviceLink",
    "DeviceStatus",
    "LinkEvent",
]

# Largest percentage a battery can report (GATT Battery Level 0x2A19).
_BATTERY_MAX_PCT = 100


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A change in a device's link health, battery or signal.

    Attributes:
        device_id: the enrolled device.
        state: the link state (the wire's :class:`~firmware_bridge.wire.DeviceState`).
        t_s: when it was observed, seconds on the edge's monotonic sample clock.
        battery_pct: last known battery charge, 0-100 %, or ``None`` if unknown.
        rssi_dbm: last advertised signal strength in dBm, or ``None`` if unknown or not radio.
        frames_dropped: frames lost so far according to sequence counters or framer counts.
    """

    device_id: str
    state: DeviceState
    t_s: float
    battery_pct: int | None = None
    rssi_dbm: int | None = None
    frames_dropped: int = 0

    def __post_init__(self) -> None:
        if not self.device_id:
            message = "device_id must not be empty"
            raise ValueError(message)
        if self.battery_pct is not None and not 0 <= self.battery_pct <= _BATTERY_MAX_PCT:
            message = f"battery_pct must be 0-100, got {self.battery_pct}"
            raise ValueError(message)
        if self.frames_dropped < 0:
            message = f"frames_dropped must not be negative, got {self.frames_dropped}"
            raise ValueError(message)

    @property
    def has_data(self) -> bool:
        """Only a connected link delivers data; anything else is "no data" for the detector."""
        return self.state is DeviceState.CONNECTED


LinkEvent = SampleBlock | DeviceStatus | ButtonPress
"""What a :class:`DeviceLink` yields."""


@runtime_checkable
class DeviceLink(Protocol):
    """One enrolled device, as the edge agent sees it.

    Attributes:
        device_id: the enrolled device's id (never a radio address in logs).
    """

    device_id: str

    def stream(self) -> AsyncIterator[LinkEvent]:
        """Yield sample blocks and status changes until cancelled.

        Implementations are async generators that reconnect on their own, yield a
        :class:`DeviceStatus` on every state change, and never end by themselves except on a
        permanent failure (which they raise).
        """
        ...


@runtime_checkable
class Buzzer(Protocol):
    """A device that can alert its wearer (vibrate, beep): the check-in's "are you OK?".

    Attributes:
        checkin_possible: whether this device can ask at all (a buzzer and a button to answer
            with); a wearable without them (a Polar H10) never holds a page back waiting.
    """

    @property
    def checkin_possible(self) -> bool:
        """Whether the device can ask its wearer and hear the answer."""
        ...

    async def alert(self, level: AlertLevel) -> bool:
        """Set the wearer alert to ``level`` (``NO_ALERT`` stops it).

        Returns:
            ``True`` if the device took it; ``False`` if it is not connected or cannot alert.
            Never raises for a device that misbehaves.
        """
        ...
