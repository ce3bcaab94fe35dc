"""Field checks shared by the wire contract's values: ids, ULIDs, timestamps, evidence (pure).

Each check raises :class:`~firmware_bridge.errors.WireError` naming the field and a reason that
is safe to log (it never echoes the value). Patterns are applied with ``fullmatch``: ``$`` alone
would let ``"pi-1\n"`` through.
"""

from __future__ import annotations

import json
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

EARLIEST_UTC: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""No real reading is older than the Unix epoch: every clock we read and every ULID counts from
it, and a Raspberry Pi that has not synchronised its clock yet starts there, not earlier."""

LATEST_UTC: Final = datetime(3000, 1, 1, tzinfo=UTC)
"""A later time is a broken clock. Far enough that no working clock reaches it, and far enough
below year 9999 that the server can add a retention period or a day to any stored time, and
write it with a four-digit year, without overflowing."""

MAX_JSON_DEPTH: Final = 8
"""The envelope nests four deep (envelope, body, the device list, one device); eight leaves room
for a new body while keeping ``json``'s recursion (its limit is about 1000 frames) far away."""

MAX_EXACT_INT: Final = 2**53
"""Integers beyond this cannot be represented exactly as floats (IEEE 754 double), so a number
field could overflow or silently round when the server converts it; no reading is that large."""

TextValue: TypeAlias = str | float | int | bool | None
_E = TypeVar("_E", bound=StrEnum)


def format_utc(moment: datetime) -> str:
    """``2026-11-22T16:35:59.123Z``: UTC, millisecond precision, a four-digit year, as on the wire.

    Raises:
        WireError: ``moment`` is naive or outside :data:`EARLIEST_UTC` .. :data:`LATEST_UTC`.
    """
    utc = _checked_utc("timestamp", moment)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def parse_utc(text: str, name: str = "timestamp") -> datetime:
    """Read a wire timestamp; it must name its zone (``Z`` or an offset) and be in range.

    Raises:
        WireError: not an ISO 8601 string with a zone, or outside
            :data:`EARLIEST_UTC` .. :data:`LATEST_UTC` once converted to UTC.
    """
    if not isinstance(text, str) or len(text) > 40:
        raise WireError(name, "must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WireError(name, "must be an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise WireError(name, "must carry a time zone (use Z for UTC)")
    return _checked_utc(name, moment)


def _checked_utc(name: str, moment: object) -> datetime:
    """``moment`` in UTC, if it is aware and in the sane range; else :class:`WireError`."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise WireError(name, "must be a time-zone-aware datetime")
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):  # 0001-01-01T00:00:00+14:00 has no UTC time
        raise WireError(name, "out of range") from None
    if not EARLIEST_UTC <= utc < LATEST_UTC:
        reason = f"must be from {EARLIEST_UTC.year} up to {LATEST_UTC.year} (UTC)"
        raise WireError(name, reason)
    return utc


def load_json(payload: bytes) -> object:
    """Parse one wire payload: UTF-8 JSON, nested at most :data:`MAX_JSON_DEPTH` deep.

    NaN, Infinity, a float that overflows (``1e400``) and an integer beyond
    :data:`MAX_EXACT_INT` are refused, as is any nesting too deep to be ours, before ``json``
    recurses into it.

    Raises:
        WireError: with field ``payload`` and the reason.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("payload", "not UTF-8") from None
    if _json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise WireError("payload", f"nested deeper than {MAX_JSON_DEPTH}")
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_exact_int,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError:
        raise WireError("payload", "not JSON") from None


_JSON_STRUCTURE: Final = re.compile(r'[\[\]{}"\\]')
"""The only characters that open or close a level or a string, or escape inside one."""


def _json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (text need not be valid)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than it opens: the usual case, counted in C
    depth = 0
    in_string = False
    skip = -1  # the index of a character escaped by a backslash
    for match in _JSON_STRUCTURE.finditer(text):
        index = match.start()
        if index == skip:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip = index + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise WireError("payload", "a number is too large")
    return value


def _exact_int(text: str) -> int:
    if len(text) > len(str(MAX_EXACT_INT)) + 1:  # + 1: the sign
        raise WireError("payload", "an integer is too large")
    value = int(text)
    if abs(value) > MAX_EXACT_INT:
        raise WireError("payload", "an integer is too large")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object, refused when a key repeats: parsers disagree on which value wins."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise WireError("payload", "a key repeats in one object")
    return document


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


def _optional_bool(document: Mapping[str, object], key: str) -> bool | None:
    value = document.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise WireError(f"body.{key}", "must be true or false")


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise WireError(name, "must be 1-64 characters of a-z, 0-9, _ and -, starting alphanumeric")


def _check_ulid(name: str, value: object) -> None:
    if not isinstance(value, str) or not ULID_PATTERN.fullmatch(value):
        raise WireError(name, "must be a 26-character ULID")


def _check_utc(name: str, value: object) -> None:
    _checked_utc(name, value)


def key_name(key: object) -> str:
    """A peer's key, fit to name in an error: itself if it is a short id, else ``?``."""
    return key if isinstance(key, str) and ID_PATTERN.fullmatch(key) else "?"


def _check_evidence(evidence: Mapping[str, object], name: str, limit: int) -> None:
    if len(evidence) > limit:
        raise WireError(name, f"more than {limit} items")
    for key, value in evidence.items():
        if not isinstance(key, str) or not ID_PATTERN.fullmatch(key):
            raise WireError(name, "keys must be short lower-case names")
        if isinstance(value, float) and not math.isfinite(value):
            raise WireError(f"{name}.{key}", "must be finite (use null for no reading)")
        if isinstance(value, str) and len(value) > 64:
            raise WireError(f"{name}.{key}", "text longer than 64 characters")
        if isinstance(value, str) and not value.isprintable():
            raise WireError(f"{name}.{key}", "text with control or unpaired characters")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise WireError(f"{name}.{key}", "must be a scalar (number, text, true/false or null)")
