"""Exceptions raised by the streaming detector (pure).

The tree::

    DetectorError                 root: anything this package raises on purpose
    ├── SettingsError             a setting is missing, unknown, of the wrong type or out of range
    └── InputError                the caller fed data the detector cannot use (peer sent garbage)

Both leaves also derive from :class:`ValueError`, so callers that only know the standard library
still catch them.
"""

from __future__ import annotations


class DetectorError(Exception):
    """Root of every error the detector raises on purpose."""


class SettingsError(DetectorError, ValueError):
    """A detector setting is invalid.

    Attributes:
        key: the offending setting's name.
        reason: why it was rejected, in words.
    """

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        message = f"detector setting {key!r}: {reason}"
        super().__init__(message)


class InputError(DetectorError, ValueError):
    """Input samples or columns the detector cannot use.

    Attributes:
        reason: why the input was rejected, in words.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
