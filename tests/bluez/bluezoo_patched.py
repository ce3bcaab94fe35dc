"""Run BlueZoo with the runtime fixes our BLE tests need (test-only; BlueZoo itself is unmodified).

BlueZoo 1.0.2 (Samsung, GPL-2.0) emulates BlueZ's D-Bus API. Three gaps matter for reconnect
tests (see shared/reference/ble.md §3.1), so this launcher patches them in memory and then runs
BlueZoo's own ``main()``:

1. ``Device.disconnect`` leaves the peer's GATT objects exported under the device, so the next
   ``Connect()`` fails with EEXIST. Real BlueZ removes them; the patch un-exports them and clears
   ``ServicesResolved``.
2. ...and it never tells the peripheral's GATT app to stop notifying, so after a reconnect
   ``StartNotify`` is skipped and no notifications flow. Real BlueZ stops notifications of an
   unbonded client on disconnect; the patch calls the app's ``StopNotify()``.
3. ``Connect()`` succeeds even when the peer has gone (no advertisement, no GATT application).
   A real controller fails the LE connection; the patch raises ``org.bluez.Error.Failed``
   ("Software caused connection abort").

Usage: ``python -m tests.bluez.bluezoo_patched --auto-enable --scan-interval 1 -a ADDR -a ADDR``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from bluezoo import bluezoo
from bluezoo.device import Device
from bluezoo.exceptions import DBusBluezFailedError
from bluezoo.gatt import GattCharacteristicClientLink

_original_connect = Device.connect
_original_disconnect = Device.disconnect


async def _connect(self: Any, uuid: str | None = None) -> None:
    peer = self.peer_adapter
    if self.is_le and not peer.advertisements and not peer.gatt_apps:
        # BlueZ's wording for ECONNABORTED; not "le-connection-abort-by-local", which bleak
        # answers by waiting for a Connected change that would never come here.
        message = "Software caused connection abort"
        raise DBusBluezFailedError(message)
    await _original_connect(self, uuid)


async def _disconnect(self: Any, uuid: str | None = None) -> None:
    await _original_disconnect(self, uuid)
    for link in list(self.services.values()):
        if isinstance(link, GattCharacteristicClientLink):
            link.client_props_changed_subscription.unsubscribe()
            with contextlib.suppress(Exception):  # the peripheral may be gone already
                if link.client.Notifying.get(False):
                    await link.client.StopNotify()
        with contextlib.suppress(KeyError):
            self.peer_adapter.mock.remove_object(link)
    self.services.clear()
    if self.services_resolved:
        await self.ServicesResolved.set_async(False)


Device.connect = _connect  # type: ignore[method-assign]
Device.disconnect = _disconnect  # type: ignore[method-assign]

if __name__ == "__main__":
    bluezoo.main()
