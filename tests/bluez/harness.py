"""Start a private D-Bus daemon and the patched BlueZoo on it (test-only, never the host's bus)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from dbus_fast import BusType, Message
from dbus_fast.aio import MessageBus

REPO_ROOT = Path(__file__).resolve().parents[2]
# Both start in well under a second on the 2-core CI machine; 15 s only bounds a broken setup.
STARTUP_TIMEOUT_S = 15.0


def dbus_daemon_path() -> str | None:
    """The dbus-daemon binary, if installed (Debian package dbus-daemon)."""
    return shutil.which("dbus-daemon")


class BluezStandIn:
    """A private bus at ``<tmp>/bus`` with BlueZoo owning ``org.bluez`` on it.

    Attributes:
        address: the D-Bus address; pass it as ``DBUS_SYSTEM_BUS_ADDRESS``.
    """

    def __init__(self, workdir: Path, adapters: list[str], scan_interval_s: int = 1) -> None:
        self._workdir = workdir
        self._adapters = adapters
        self._scan_interval_s = scan_interval_s
        self.address = f"unix:path={workdir / 'bus'}"
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BluezStandIn:
        daemon = dbus_daemon_path()
        assert daemon is not None
        with (self._workdir / "dbus.log").open("wb") as log:
            self._procs.append(
                subprocess.Popen(
                    [daemon, "--session", "--nofork", "--nopidfile", f"--address={self.address}"],
                    stdout=log,
                    stderr=log,
                )
            )
        self._wait_for(lambda: (self._workdir / "bus").exists(), "dbus-daemon socket")
        command = [
            sys.executable,
            "-m",
            "tests.bluez.bluezoo_patched",
            "--auto-enable",
            "--scan-interval",
            str(self._scan_interval_s),
        ]
        for address in self._adapters:
            command += ["-a", address]
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address}
        with (self._workdir / "bluezoo.log").open("wb") as log:
            self._procs.append(
                subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
            )
        self._wait_for(self._bluez_ready, "BlueZoo owning org.bluez")
        return self

    def _wait_for(self, ready: object, what: str) -> None:
        assert callable(ready)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not ready():
            for proc in self._procs:
                if proc.poll() is not None:
                    message = f"{what}: a helper exited with {proc.returncode}; see {self._workdir}"
                    raise RuntimeError(message)
            if time.monotonic() > deadline:
                message = f"timed out waiting for {what}; logs in {self._workdir}"
                raise TimeoutError(message)
            time.sleep(0.05)

    def _bluez_ready(self) -> bool:
        return asyncio.run(_has_owner(self.address, "org.bluez"))

    def log(self) -> str:
        """BlueZoo's log so far (for failure messages)."""
        return (self._workdir / "bluezoo.log").read_text(errors="replace")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in reversed(self._procs):
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


async def _has_owner(address: str, name: str) -> bool:
    bus = await MessageBus(bus_address=address, bus_type=BusType.SYSTEM).connect()
    try:
        reply = await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="NameHasOwner",
                signature="s",
                body=[name],
            )
        )
        return bool(reply and reply.body and reply.body[0])
    finally:
        bus.disconnect()


async def drop_link(address: str, adapter_index: int, device_address: str) -> None:
    """Make the central's connection to ``device_address`` drop, as a supervision timeout would.

    BlueZoo does not propagate a peripheral-side disconnect, so the fault is injected on the
    central's own view of the device (``/org/bluez/hciN/dev_XX_..``); bleak did not ask for it.
    """
    bus = await MessageBus(bus_address=address, bus_type=BusType.SYSTEM).connect()
    try:
        path = f"/org/bluez/hci{adapter_index}/dev_{device_address.replace(':', '_')}"
        await bus.call(
            Message(
                destination="org.bluez",
                path=path,
                interface="org.bluez.Device1",
                member="Disconnect",
            )
        )
    finally:
        bus.disconnect()
