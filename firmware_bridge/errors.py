"""The one exception tree of :mod:`firmware_bridge` (pure).

::

    FirmwareBridgeError            anything this package raises on purpose
    ├── WireError                  an MQTT topic or JSON envelope that breaks the wire contract
    └── (codec errors are added below FirmwareBridgeError by the device codecs)

Every error carries inspectable fields; the message is built before raising.
"""

from __future__ import annotations


class FirmwareBridgeError(Exception):
    """Root of every error :mod:`firmware_bridge` raises on purpose."""


class WireError(FirmwareBridgeError):
    """A topic or envelope that breaks the edge-server wire contract.

    Attributes:
        field: the offending field (``"topic"``, ``"payload"``, or an envelope key).
        reason: a short, human-readable reason, safe to log (it never echoes payload values).
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        message = f"{field}: {reason}"
        super().__init__(message)
