"""Typed reads from a parsed scenario table, failing with the file, dotted key and reason (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

__all__ = ["Fields", "ScenarioError"]


class ScenarioError(ValueError):
    """A scenario file is malformed or inconsistent.

    Attributes:
        source: the file (or other source) at fault.
        key: the dotted key at fault, e.g. ``timeline.2.event``.
        reason: why it was refused.
    """

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        message = f"{source}: {key}: {reason}"
        super().__init__(message)


class Fields:
    """One table of a scenario, read key by key; every failure names ``source`` and the key."""

    def __init__(self, data: Mapping[str, Any], source: str, path: str) -> None:
        self._data = data
        self.source = source
        self.path = path

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, reason: str) -> NoReturn:
        """Raise :class:`ScenarioError` for ``key`` of this table."""
        raise ScenarioError(self.source, self._key(key), reason)

    def only(self, allowed: set[str]) -> None:
        """Refuse keys outside ``allowed`` (a typo must not silently do nothing)."""
        for key in self._data:
            if key not in allowed:
                self.fail(key, f"unknown key; allowed: {', '.join(sorted(allowed))}")

    def _get(self, key: str, default: object) -> object:
        if key in self._data:
            return self._data[key]
        if default is None:
            self.fail(key, "required")
        return default

    def text(self, key: str, default: str | None = None) -> str:
        """A non-empty string."""
        value = self._get(key, default)
        if not isinstance(value, str) or not value:
            self.fail(key, "must be a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        """A string, or ``None`` when absent."""
        return self.text(key) if key in self._data else None

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float = -math.inf,
        high: float = math.inf,
    ) -> float:
        """A finite number within ``[low, high]``."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, "must be a number")
        if not (math.isfinite(value) and low <= value <= high):
            self.fail(key, f"must be within [{low:g}, {high:g}], got {value!r}")
        return float(value)

    def optional_number(
        self, key: str, *, low: float = -math.inf, high: float = math.inf
    ) -> float | None:
        """A number within ``[low, high]``, or ``None`` when absent."""
        return self.number(key, low=low, high=high) if key in self._data else None

    def flag(self, key: str, *, default: bool) -> bool:
        """A boolean."""
        value = self._data.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return value

    def table(self, key: str) -> Mapping[str, Any]:
        """A sub-table as a plain mapping of numbers (empty when absent)."""
        value = self._data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
        for name, item in value.items():
            if isinstance(item, bool) or not isinstance(item, int | float | list):
                self.fail(f"{key}.{name}", "must be a number or a list of numbers")
        return value

    def sub(self, key: str) -> Fields:
        """A sub-table to read in turn (empty when absent)."""
        value = self._data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
        return Fields(value, self.source, self._key(key))

    def rows(self, key: str) -> Iterator[Fields]:
        """An array of tables (``[[key]]``), each to read in turn."""
        value = self._data.get(key, [])
        if not isinstance(value, list):
            self.fail(key, "must be an array of tables ([[...]])")
        for index, row in enumerate(value):
            if not isinstance(row, dict):
                self.fail(f"{key}.{index}", "must be a table")
            yield Fields(row, self.source, self._key(f"{key}.{index}"))
