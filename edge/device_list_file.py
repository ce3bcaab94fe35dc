"""The server's last device list, kept on disk: a restart without the broker still runs it (shell).

An edge the panel manages is told its devices by a retained ``devices`` command. If the edge
restarts while the broker is unreachable, the TOML's devices (often none) would run until the
broker is back: residents enrolled in the panel would go unwatched. So every list applied is
also written here, atomically, and read back at start-up; the broker's retained copy still
replaces it on connect. A missing or unreadable file means "no list yet" (logged).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from firmware_bridge.errors import WireError
from firmware_bridge.wire import (
    Command,
    CommandBody,
    DeviceEntry,
    Envelope,
    decode_envelope,
    encode_envelope,
)

_LOGGER = logging.getLogger(__name__)


def write_list(path: Path, envelope: Envelope) -> None:
    """Keep ``envelope`` (a ``devices`` command) as the last list; failures are logged."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(encode_envelope(envelope))
        os.replace(temporary, path)  # atomic: a crash leaves the old list or the new one
    except (OSError, WireError):
        _LOGGER.exception("could not keep the device list in %s", path)


def read_list(path: Path) -> tuple[DeviceEntry, ...] | None:
    """The last list kept, or None when there is none (or it cannot be read)."""
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        _LOGGER.error("could not read the kept device list %s: %s", path, error)  # noqa: TRY400
        return None
    try:
        body = decode_envelope(payload).body
    except WireError as error:
        _LOGGER.error("ignored the kept device list %s: %s", path, error)  # noqa: TRY400
        return None
    if not isinstance(body, CommandBody) or body.command != Command.DEVICES:
        _LOGGER.error("ignored %s: not a device list", path)
        return None
    return body.devices
