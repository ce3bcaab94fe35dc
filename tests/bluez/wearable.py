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
import functools
from collections.abc import Callable
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
    AlertLevel,
    BatteryLevel,
    ButtonEvent,
    ButtonPress,
    HeartRateMeasurement,
    PlxContinuous,
    PmdCommand,
    PmdDataFrame,
    PmdMeasurementType,
    PmdOpCode,
    PmdResponse,
    PmdStatus,
    SFloat,
    SpO2PulseRate,
    decode_alert_level,
    decode_pmd_control,
    encode_battery_level,
    encode_heart_rate,
    encode_plx_continuous,
    encode_pmd_control,
    encode_pmd_data,
    encode_wearable,
)
from firmware_bridge._wearable import DATA_CHAR_UUID, SERVICE_UUID
from simulators.physiology import PhysiologyStream

HRS_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HRM_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BAS_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
IAS_UUID = "00001802-0000-1000-8000-00805f9b34fb"
ALERT_LEVEL_UUID = "00002a06-0000-1000-8000-00805f9b34fb"
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
# The emulated firmware notifies at 10 Hz: fast enough for quick tests, slow enough for 2 cores.
NOTIFY_PERIOD_S = 0.1
ACC_FS_HZ = 25
ACC_SAMPLES_PER_FRAME = 3
BPM = 72
BATTERY_PCT = 87

ArrayOfStr = Annotated[list[str], DBusSignature("as")]


class _Advertisement(ServiceInterface):
    def __init__(self, name: str, uuids: list[str]) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self._name = name
        self._uuids = uuids

    @dbus_method()
    def Release(self):
        return None

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> DBusStr:
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> ArrayOfStr:
        return self._uuids

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
    def __init__(
        self,
        uuid: str,
        service_path: str,
        flags: list[str],
        value: bytes,
        on_write: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._on_write = on_write
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
        if self._on_write is not None:
            self._on_write(self.value)

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
    """A wearable on adapter ``hci{adapter_index}``; ``start`` appears, ``stop`` vanishes.

    With ``answer_after_s`` set, its wearer presses the button that long after the central
    writes a non-zero Alert Level (the check-in's buzz), as the ODART firmware reports it.
    """

    def __init__(
        self,
        bus_address: str,
        adapter_index: int,
        name: str = "ODART-W1",
        *,
        answer_after_s: float | None = None,
    ) -> None:
        self.bus_address = bus_address
        self.answer_after_s = answer_after_s
        self.presses = 0
        self.adapter_path = f"/org/bluez/hci{adapter_index}"
        self.app_path = f"/org/odart/wearable{adapter_index}"
        self.name = name
        self.seq = 0
        self.frames_sent = 0
        self.paused = False
        self.t_ms = 0
        self._bus: MessageBus | None = None
        self._task: asyncio.Task[None] | None = None
        self._chars: dict[str, _Characteristic] = {}

    advertised_uuids = (SERVICE_UUID, HRS_UUID)

    def characteristics(self) -> list[tuple[str, str, list[str], bytes]]:
        """``(service UUID, characteristic UUID, flags, initial value)`` of the GATT table."""
        battery = encode_battery_level(BatteryLevel(BATTERY_PCT))
        return [
            (HRS_UUID, HRM_UUID, ["notify"], b""),
            (BAS_UUID, BATTERY_UUID, ["read", "notify"], battery),
            (SERVICE_UUID, DATA_CHAR_UUID, ["notify"], b""),
            (IAS_UUID, ALERT_LEVEL_UUID, ["write-without-response"], b"\x00"),
        ]

    def on_write(self, uuid: str, value: bytes) -> None:
        """A central wrote ``value`` to characteristic ``uuid``: a buzz may be answered."""
        if uuid != ALERT_LEVEL_UUID or self.answer_after_s is None:
            return
        if decode_alert_level(value) is not AlertLevel.NO_ALERT:
            asyncio.get_running_loop().call_later(self.answer_after_s, self.press)

    def press(self, kind: ButtonPress = ButtonPress.SHORT) -> None:
        """The wearer presses the button: one button frame on the data characteristic."""
        self._chars[DATA_CHAR_UUID].notify(encode_wearable(ButtonEvent(self.seq, self.t_ms, kind)))
        self.seq = (self.seq + 1) % 0x10000
        self.presses += 1

    async def start(self) -> None:
        bus = await MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM).connect()
        self._bus = bus
        chars = self.characteristics()
        services = {
            uuid: f"service{i}" for i, uuid in enumerate(dict.fromkeys(c[0] for c in chars))
        }
        for uuid, name in services.items():
            bus.export(f"{self.app_path}/{name}", _Service(uuid))
        for index, (service_uuid, uuid, flags, value) in enumerate(chars):
            service_path = f"{self.app_path}/{services[service_uuid]}"
            char = _Characteristic(
                uuid, service_path, flags, value, functools.partial(self.on_write, uuid)
            )
            bus.export(f"{service_path}/char{index}", char)
            self._chars[uuid] = char
        advertisement = _Advertisement(self.name, list(self.advertised_uuids))
        bus.export(f"{self.app_path}/advertisement0", advertisement)
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
        while True:
            await asyncio.sleep(NOTIFY_PERIOD_S)
            if not self.paused:
                self.tick()

    def tick(self) -> None:
        """Send one period's notifications."""
        self._chars[HRM_UUID].notify(
            encode_heart_rate(
                HeartRateMeasurement(BPM, contact_supported=True, contact_detected=True)
            )
        )
        samples = tuple((0, -12, 1000 + k) for k in range(ACC_SAMPLES_PER_FRAME))
        frame = AccelSamples(self.seq, self.t_ms, ACC_FS_HZ, samples)
        self._chars[DATA_CHAR_UUID].notify(encode_wearable(frame))
        if self._chars[DATA_CHAR_UUID].notifying:  # seq counts frames actually sent
            self.frames_sent += 1
            self.seq = (self.seq + 1) % 0x10000
        self.t_ms += 1000 * ACC_SAMPLES_PER_FRAME // ACC_FS_HZ

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


class EmulatedPolarH10(EmulatedWearable):
    """A Polar H10: heart rate, battery, and PMD accelerometer streaming after a START command.

    The control point answers START with an indication ``F0 02 <type> 00 00`` and then the data
    characteristic streams raw ACC frames (frame type 1, 3 x int16 mG), as the H10 does.
    """

    advertised_uuids = (HRS_UUID,)

    def __init__(self, bus_address: str, adapter_index: int, name: str = "Polar H10 ABCD") -> None:
        super().__init__(bus_address, adapter_index, name)
        self.commands: list[bytes] = []
        self.streaming = False

    def characteristics(self) -> list[tuple[str, str, list[str], bytes]]:
        battery = encode_battery_level(BatteryLevel(BATTERY_PCT))
        return [
            (HRS_UUID, HRM_UUID, ["notify"], b""),
            (BAS_UUID, BATTERY_UUID, ["read"], battery),
            (PMD_SERVICE_UUID, PMD_CONTROL_UUID, ["read", "write", "indicate"], b"\x0f\x05\x00"),
            (PMD_SERVICE_UUID, PMD_DATA_UUID, ["notify"], b""),
        ]

    def on_write(self, uuid: str, value: bytes) -> None:
        if uuid != PMD_CONTROL_UUID:
            return
        self.commands.append(value)
        command = decode_pmd_control(value)
        assert isinstance(command, PmdCommand)
        reply = PmdResponse(command.op, command.measurement, PmdStatus.SUCCESS)
        self._chars[PMD_CONTROL_UUID].notify(encode_pmd_control(reply))
        self.streaming = command.op is PmdOpCode.START

    def tick(self) -> None:
        self._chars[HRM_UUID].notify(encode_heart_rate(HeartRateMeasurement(BPM)))
        data = self._chars[PMD_DATA_UUID]
        if self.streaming and data.notifying:
            self.t_ms += 100
            samples = ((0, 20, 1000), (1, 21, 999), (2, 22, 998))
            frame = PmdDataFrame(PmdMeasurementType.ACC, self.t_ms * 10**6, 1, samples)
            data.notify(encode_pmd_data(frame))

    async def stop(self) -> None:
        self.streaming = False  # a sensor forgets its streams when the link goes
        await super().stop()


class EmulatedHeartRateStrap(EmulatedWearable):
    """A standard heart-rate strap: Heart Rate and Battery services only, no buzzer or button."""

    advertised_uuids = (HRS_UUID,)

    def __init__(self, bus_address: str, adapter_index: int, name: str = "HRM-Dual") -> None:
        super().__init__(bus_address, adapter_index, name)

    def characteristics(self) -> list[tuple[str, str, list[str], bytes]]:
        battery = encode_battery_level(BatteryLevel(BATTERY_PCT))
        return [
            (HRS_UUID, HRM_UUID, ["notify"], b""),
            (BAS_UUID, BATTERY_UUID, ["read"], battery),
        ]

    def tick(self) -> None:
        self._chars[HRM_UUID].notify(encode_heart_rate(HeartRateMeasurement(BPM)))


class BreathingPolarH10(EmulatedPolarH10):
    """A Polar H10 on a simulated chest: PMD accelerometer frames from a physiology stream.

    The person's timeline starts when the central starts the PMD stream, so an episode at
    ``start_s`` happens that long after the edge began receiving, however long connecting took.
    """

    def __init__(self, bus_address: str, adapter_index: int, stream: PhysiologyStream) -> None:
        super().__init__(bus_address, adapter_index)
        self.physiology = stream
        self.frames = 0

    def tick(self) -> None:
        self._chars[HRM_UUID].notify(encode_heart_rate(HeartRateMeasurement(BPM)))
        data = self._chars[PMD_DATA_UUID]
        if not (self.streaming and data.notifying):
            return
        chunk = self.physiology.advance(NOTIFY_PERIOD_S)
        axes = (chunk.acc_x.values, chunk.acc_y.values, chunk.acc_z.values)
        samples = tuple(
            tuple(round(float(axis[k]) * 1000) for axis in axes) for k in range(len(axes[0]))
        )
        self.t_ms += round(NOTIFY_PERIOD_S * 1000)
        frame = PmdDataFrame(PmdMeasurementType.ACC, self.t_ms * 10**6, 1, samples)
        data.notify(encode_pmd_data(frame))
        self.frames += 1


PLXS_UUID = "00001822-0000-1000-8000-00805f9b34fb"
PLX_CONTINUOUS_UUID = "00002a5f-0000-1000-8000-00805f9b34fb"
SPO2_PCT = 97


class EmulatedOximeter(EmulatedWearable):
    """A standard pulse oximeter: PLX Continuous Measurement (0x2A5F) and Battery, nothing else."""

    advertised_uuids = (PLXS_UUID,)

    def __init__(self, bus_address: str, adapter_index: int, name: str = "Oximeter") -> None:
        super().__init__(bus_address, adapter_index, name)

    def characteristics(self) -> list[tuple[str, str, list[str], bytes]]:
        battery = encode_battery_level(BatteryLevel(BATTERY_PCT))
        return [
            (PLXS_UUID, PLX_CONTINUOUS_UUID, ["notify"], b""),
            (BAS_UUID, BATTERY_UUID, ["read"], battery),
        ]

    def tick(self) -> None:
        reading = SpO2PulseRate(SFloat(SPO2_PCT, 0), SFloat(BPM, 0))
        self._chars[PLX_CONTINUOUS_UUID].notify(encode_plx_continuous(PlxContinuous(reading)))
