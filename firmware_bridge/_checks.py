"""Field checks shared by the wire contract's values: ids, ULIDs, timestamps, evidence (pure).

Each check raises :class:`~firmware_bridge.errors.WireError` naming the field and a reason that
is safe to log (it never echoes the value).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, TypeAlias, TypeVar

from firmware_bridge.errors import WireError

ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""Site, edge, device and participant ids: lower-case, no MQTT wildcards or separators."""

ULID_PATTERN: Final = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
"""A 26-character ULID in Crockford base32 whose time part fits in 48 bits."""

TextValue: TypeAlias = str | float | int | bool | None
_E = TypeVar("_E", bound=StrEnum)


def format_utc(moment: datetime) -> str:
    """``2026-11-22T16:35:59.123Z``: UTC, millisecond precision, as on the wire."""
    _check_utc("timestamp", moment)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_utc(text: str, name: str = "timestamp") -> datetime:
    """Read a wire timestamp; it must name its zone (``Z`` or an offset)."""
    if not isinstance(text, str) or len(text) > 40:
        raise WireError(name, "must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WireError(name, "must be an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise WireError(name, "must carry a time zone (use Z for UTC)")
    return moment.astimezone(UTC)


def _reject_constant(name: str) -> float:
    raise WireError("payload", f"{name} is not valid JSON")


def _enum(enum: type[_E], value: object, name: str) -> _E:
    if not isinstance(value, str):
        raise WireError(name, "must be a string")
    try:
        return enum(value)
    except ValueError:
        expected = ", ".join(member.value for member in enum)
        raise WireError(name, f"unknown value; expected one of {expected}") from None


def _str(document: Mapping[str, object], key: str, name: str | None = None) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise WireError(name or key, "must be a string")
    return value


def _optional_str(document: Mapping[str, object], key: str, name: str | None = None) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    return _str(document, key, name)


def _optional_number(document: Mapping[str, object], key: str) -> float | None:
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"body.{key}", "must be a number")
    return float(value)


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise WireError(name, "must be 1-64 characters of a-z, 0-9, _ and -, starting alphanumeric")


def _check_ulid(name: str, value: object) -> None:
    if not isinstance(value, str) or not ULID_PATTERN.match(value):
        raise WireError(name, "must be a 26-character ULID")


def _check_utc(name: str, value: object) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise WireError(name, "must be a time-zone-aware datetime")


def _check_evidence(evidence: Mapping[str, object], name: str, limit: int) -> None:
    if len(evidence) > limit:
        raise WireError(name, f"more than {limit} items")
    for key, value in evidence.items():
        if not isinstance(key, str) or not ID_PATTERN.match(key):
            raise WireError(name, "keys must be short lower-case names")
        if isinstance(value, float) and not math.isfinite(value):
            raise WireError(f"{name}.{key}", "must be finite (use null for no reading)")
        if isinstance(value, str) and len(value) > 64:
            raise WireError(f"{name}.{key}", "text longer than 64 characters")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise WireError(f"{name}.{key}", "must be a scalar (number, text, true/false or null)")
