"""The codec table: decode and encode any device message by kind, and render it as JSON (pure).

``decode_message("heart_rate", b"\\x16\\x48\\x55\\x03")`` picks the codec from a kind table, as h11
picks handlers from its state table; ``encode_message`` picks it from the message's type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntFlag
from typing import Any, Final

from firmware_bridge._gatt import (
    AlertLevel,
    BatteryLevel,
    HeartRateMeasurement,
    decode_alert_level,
    decode_battery_level,
    decode_heart_rate,
    encode_alert_level,
    encode_battery_level,
    encode_heart_rate,
)
from firmware_bridge._ld2410 import Ld2410Command, Ld2410Report, decode_ld2410, encode_ld2410
from firmware_bridge._mr60bha1 import Mr60Frame, decode_mr60bha1, encode_mr60bha1, read_mr60bha1
from firmware_bridge._plx import (
    PlxContinuous,
    PlxSpotCheck,
    decode_plx_continuous,
    decode_plx_spot_check,
    encode_plx_continuous,
    encode_plx_spot_check,
)
from firmware_bridge._polar_control import (
    PmdCommand,
    PmdFeatures,
    PmdResponse,
    decode_pmd_control,
    encode_pmd_control,
)
from firmware_bridge._polar_data import PmdDataFrame, decode_pmd_data, encode_pmd_data
from firmware_bridge._sfloat import SFloat
from firmware_bridge._wearable import AccelSamples, ButtonEvent, decode_wearable, encode_wearable


@dataclass(frozen=True, slots=True)
class Codec:
    """One entry of the codec table.

    Attributes:
        kind: the name used by ``odart decode`` and in errors.
        decode: whole message bytes to a message object.
        encode: a message object back to bytes.
        message_types: the message classes this codec encodes.
    """

    kind: str
    decode: Callable[[bytes], object]
    encode: Callable[[Any], bytes]
    message_types: tuple[type, ...]


CODECS: Final = {
    codec.kind: codec
    for codec in (
        Codec("heart_rate", decode_heart_rate, encode_heart_rate, (HeartRateMeasurement,)),
        Codec("plx_continuous", decode_plx_continuous, encode_plx_continuous, (PlxContinuous,)),
        Codec("plx_spot_check", decode_plx_spot_check, encode_plx_spot_check, (PlxSpotCheck,)),
        Codec("battery_level", decode_battery_level, encode_battery_level, (BatteryLevel,)),
        Codec("alert_level", decode_alert_level, encode_alert_level, (AlertLevel,)),
        Codec("polar_pmd", decode_pmd_data, encode_pmd_data, (PmdDataFrame,)),
        Codec(
            "polar_pmd_control",
            decode_pmd_control,
            encode_pmd_control,
            (PmdCommand, PmdResponse, PmdFeatures),
        ),
        Codec("odart_wearable", decode_wearable, encode_wearable, (AccelSamples, ButtonEvent)),
        Codec("mr60bha1", decode_mr60bha1, encode_mr60bha1, (Mr60Frame,)),
        Codec("ld2410", decode_ld2410, encode_ld2410, (Ld2410Report, Ld2410Command)),
    )
}
"""Every codec by kind; ``polar_pmd`` is the data characteristic, ``polar_pmd_control`` the CP."""

KINDS: Final = tuple(sorted(CODECS))


def decode_message(kind: str, data: bytes) -> object:
    """Decode ``data`` with the codec named ``kind``.

    Raises:
        KeyError: ``kind`` is not in :data:`KINDS` (a bug of the caller, not of the peer).
        FrameError: the bytes are not a valid message of that kind.
    """
    return CODECS[kind].decode(data)


def encode_message(message: object) -> bytes:
    """Encode any message object a codec in :data:`CODECS` produced.

    Raises:
        TypeError: no codec encodes this type.
    """
    for codec in CODECS.values():
        if isinstance(message, codec.message_types):
            return codec.encode(message)
    error = f"no codec encodes {type(message).__name__}"
    raise TypeError(error)


def message_to_json(message: object) -> dict[str, object]:
    """Render a decoded message as a JSON object (what ``odart decode`` prints)."""
    if isinstance(message, AlertLevel):
        return {"type": "AlertLevel", "level": message.name.lower(), "value": int(message)}
    rendered = to_jsonable(message)
    assert isinstance(rendered, dict)  # every other codec returns a dataclass
    return rendered


def to_jsonable(value: object) -> object:
    """Render a message as JSON-ready data: enums by name, bytes as hex, SFLOATs with a value."""
    if isinstance(value, SFloat):
        special = value.special
        return {
            "mantissa": value.mantissa,
            "exponent": value.exponent,
            "value": value.value,
            "special": None if special is None else special.name.lower(),
        }
    if isinstance(value, IntFlag):
        names = [flag.name.lower() for flag in type(value) if flag in value and flag.name]
        return {"raw": int(value), "flags": names}
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [to_jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {"type": type(value).__name__}
        for field in dataclasses.fields(value):
            out[field.name] = to_jsonable(getattr(value, field.name))
        out.update(_derived(value))
        return out
    return value


def _derived(message: object) -> dict[str, object]:
    """Computed fields worth showing next to the raw ones."""
    if isinstance(message, HeartRateMeasurement):
        return {"contact": message.contact.value, "rr_intervals_s": list(message.rr_intervals_s)}
    if isinstance(message, PmdDataFrame):
        return {"unix_time_s": message.unix_time_s}
    if isinstance(message, Mr60Frame):
        reading = read_mr60bha1(message)
        return {"reading": to_jsonable(reading)}
    if isinstance(message, PmdResponse):
        return {"ok": message.ok}
    if isinstance(message, PmdFeatures):
        return {"measurements": sorted(m.name.lower() for m in message.measurements)}
    return {}
