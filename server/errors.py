"""The one exception tree of :mod:`server`.

::

    ServerError               anything the server raises on purpose
    ├── ConfigError           the settings file is missing, malformed or invalid (start-up stops)
    ├── StoreError            the database refused a write the server needed
    │   ├── StoreFull         ... because its disk is full (ingest stops acking until it is not)
    │   └── BackupFailed      a backup could not be written or did not pass its integrity check
    └── PermanentFailure      a background loop met a fault retrying cannot fix (bad credentials)

Peer garbage (a malformed MQTT payload) is a :class:`firmware_bridge.WireError`, logged and
counted at ingest, never one of these.
"""

from __future__ import annotations


class ServerError(Exception):
    """Root of every error the server raises on purpose."""


class ConfigError(ServerError):
    """A setting is missing or invalid.

    Attributes:
        key: the dotted key (or file) at fault.
        reason: why it was refused.
    """

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        message = f"config {key}: {reason}"
        super().__init__(message)


class StoreError(ServerError):
    """The database refused a write the server needed."""


class StoreFull(StoreError):
    """SQLite answered "database or disk is full": nothing new can be stored until space returns."""


class BackupFailed(StoreError):
    """A database backup could not be made, or the copy failed ``PRAGMA integrity_check``.

    Attributes:
        target: the backup file that was being written.
        reason: what went wrong.
    """

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        message = f"backup to {target}: {reason}"
        super().__init__(message)


class PermanentFailure(ServerError):
    """A background loop stopped for good: retrying would not help (bad broker credentials).

    Attributes:
        component: the loop that stopped (``ingest``).
        reason: what an operator must fix.
    """

    def __init__(self, component: str, reason: str) -> None:
        self.component = component
        self.reason = reason
        message = f"{component}: {reason}"
        super().__init__(message)
