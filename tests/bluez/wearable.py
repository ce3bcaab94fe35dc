"""An emulated ODART chest wearable: a GATT peripheral on the real BlueZ peripheral API (test-only).

It registers, on its own adapter, a GATT application (Heart Rate, Battery and the ODART wearable
service) with ``org.bluez.GattManager1.RegisterApplication`` and an LE advertisement with
``org.bluez.LEAdvertisingManager1.RegisterAdvertisement``, exactly as firmware-less Linux
peripherals do against bluetoothd. Every notification is built with firmware_bridge's encoders,
so the bytes on the emulated air are the bytes real firmware sends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
)
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_method, dbus_property

from firmware_bridge import (
    AccelSamples,
    BatteryLevel,
    HeartRateMeasurement,
    encode_battery_level,
    encode_heart_rate,
    encode_wearable,
)
from firmware_bridge._wearable import DATA_CHAR_UUID, SERVICE_UUID

HRS_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HRM_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BAS_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
IAS_UUID = "00001802-0000-1000-8000-00805f9b34fb"
ALERT_LEVEL_UUID = "00002a06-0000-1000-8000-00805f9b34fb"
# The emulated firmware notifies at 10 Hz: fast enough for quick tests, slow enough for 2 cores.
NOTIFY_PERIOD_S = 0.1
ACC_FS_HZ = 25
ACC_SAMPLES_PER_FRAME = 3
BPM = 72
BATTERY_PCT = 87

ArrayOfStr = Annotated[list[str], DBusSignature("as")]


class _Advertisement(ServiceInterface):
    def __init__(self, name: str) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self._name = name

    @dbus_method()
    def Release(self):
        return None

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> DBusStr:
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> ArrayOfStr:
        return [SERVICE_UUID, HRS_UUID]

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> DBusStr:
        return self._name

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> DBusBool:
        return True


class _Service(ServiceInterface):
    def __init__(self, uuid: str) -> None:
        super().__init__("org.bluez.GattService1")
        self._uuid = uuid

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:
        return True


class _Characteristic(ServiceInterface):
    def __init__(self, uuid: str, service_path: str, flags: list[str], value: bytes) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self.uuid = uuid
        self._service_path = service_path
        self._flags = flags
        self.value = value
        self.notifying = False
        self.writes: list[bytes] = []

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        return self.value

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict):
        self.value = bytes(value)
        self.writes.append(self.value)

    @dbus_method()
    def StartNotify(self):
        self.notifying = True
        self.emit_properties_changed({"Notifying": True})

    @dbus_method()
    def StopNotify(self):
        self.notifying = False
        self.emit_properties_changed({"Notifying": False})

    @dbus_method()
    def Confirm(self):
        return None

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:
        return self._service_path

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> ArrayOfStr:
        return self._flags

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:
        return self.notifying

    def notify(self, value: bytes) -> None:
        self.value = value
        if self.notifying:
            self.emit_properties_changed({"Value": value})


class EmulatedWearable:
    """A wearable on adapter ``hci{adapter_index}``; ``start`` appears, ``stop`` vanishes."""

    def __init__(self, bus_address: str, adapter_index: int, name: str = "ODART-W1") -> None:
        self.bus_address = bus_address
        self.adapter_path = f"/org/bluez/hci{adapter_index}"
        self.app_path = f"/org/odart/wearable{adapter_index}"
        self.name = name
        self.seq = 0
        self.frames_sent = 0
        self.paused = False
        self._bus: MessageBus | None = None
        self._task: asyncio.Task[None] | None = None
        self._chars: dict[str, _Characteristic] = {}

    async def start(self) -> None:
        bus = await MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM).connect()
        self._bus = bus
        services = {
            HRS_UUID: "service0",
            BAS_UUID: "service1",
            SERVICE_UUID: "service2",
            IAS_UUID: "service3",
        }
        chars = [
            (HRS_UUID, HRM_UUID, ["notify"], b""),
            (
                BAS_UUID,
                BATTERY_UUID,
                ["read", "notify"],
                encode_battery_level(BatteryLevel(BATTERY_PCT)),
            ),
            (SERVICE_UUID, DATA_CHAR_UUID, ["notify"], b""),
            (IAS_UUID, ALERT_LEVEL_UUID, ["write-without-response"], b"\x00"),
        ]
        for uuid, name in services.items():
            bus.export(f"{self.app_path}/{name}", _Service(uuid))
        for index, (service_uuid, uuid, flags, value) in enumerate(chars):
            service_path = f"{self.app_path}/{services[service_uuid]}"
            char = _Characteristic(uuid, service_path, flags, value)
            bus.export(f"{service_path}/char{index}", char)
            self._chars[uuid] = char
        bus.export(f"{self.app_path}/advertisement0", _Advertisement(self.name))
        adapter = await self._interface(self.adapter_path, "org.bluez.GattManager1")
        await adapter.call_register_application(self.app_path, {})
        adv = await self._interface(self.adapter_path, "org.bluez.LEAdvertisingManager1")
        await adv.call_register_advertisement(f"{self.app_path}/advertisement0", {})
        self._task = asyncio.create_task(self._notify_loop())

    async def _interface(self, path: str, name: str) -> Any:
        assert self._bus is not None
        introspection = await self._bus.introspect("org.bluez", path)
        proxy = self._bus.get_proxy_object("org.bluez", path, introspection)
        return proxy.get_interface(name)

    @property
    def alerts(self) -> list[bytes]:
        """Alert Level values the central wrote to the Immediate Alert service."""
        char = self._chars.get(ALERT_LEVEL_UUID)
        return [] if char is None else char.writes

    def pause(self, paused: bool = True) -> None:
        """Stay connected but stop notifying (a hung firmware), or resume."""
        self.paused = paused

    async def _notify_loop(self) -> None:
        t_ms = 0
        while True:
            await asyncio.sleep(NOTIFY_PERIOD_S)
            if self.paused:
                continue
            self._chars[HRM_UUID].notify(
                encode_heart_rate(
                    HeartRateMeasurement(BPM, contact_supported=True, contact_detected=True)
                )
            )
            samples = tuple((0, -12, 1000 + k) for k in range(ACC_SAMPLES_PER_FRAME))
            frame = AccelSamples(self.seq, t_ms, ACC_FS_HZ, samples)
            self._chars[DATA_CHAR_UUID].notify(encode_wearable(frame))
            if self._chars[DATA_CHAR_UUID].notifying:  # seq counts frames actually sent
                self.frames_sent += 1
                self.seq = (self.seq + 1) % 0x10000
            t_ms += 1000 * ACC_SAMPLES_PER_FRAME // ACC_FS_HZ

    async def stop(self) -> None:
        """Vanish: stop notifying and drop off the bus (BlueZoo drops the app and advertisement)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._bus is not None:
            self._bus.disconnect()
            with contextlib.suppress(Exception):
                await self._bus.wait_for_disconnect()
            self._bus = None
        self._chars.clear()
