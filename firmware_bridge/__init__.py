"""Byte-exact device codecs and the edge-server wire contract (pure, standard library only)."""

from firmware_bridge.errors import FirmwareBridgeError, WireError
from firmware_bridge.samples import Channel, SampleBlock

__all__ = [
    "Channel",
    "FirmwareBridgeError",
    "SampleBlock",
    "WireError",
]
