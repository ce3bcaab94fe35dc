"""The codec part of firmware_bridge's public surface, and its error tree."""

from __future__ import annotations

import firmware_bridge
from firmware_bridge import (
    BadChecksum,
    FirmwareBridgeError,
    FrameError,
    MalformedFrame,
    TruncatedFrame,
    UnknownMessageType,
)

CODEC_NAMES = {
    "decode_message",
    "encode_message",
    "message_to_json",
    "KINDS",
    "CODECS",
    "FrameBuffer",
    "FrameSpec",
    "FramerStats",
    "MR60BHA1_SPEC",
    "LD2410_SPEC",
    "decode_heart_rate",
    "decode_plx_continuous",
    "decode_plx_spot_check",
    "decode_battery_level",
    "decode_alert_level",
    "decode_pmd_data",
    "decode_pmd_control",
    "decode_wearable",
    "decode_mr60bha1",
    "decode_ld2410",
    "decode_contact",
    "door_from_gpio",
    "SFloat",
    "decode_sfloat",
    "encode_sfloat",
}


def test_codec_exports_are_public_and_sorted() -> None:
    assert set(firmware_bridge.__all__) >= CODEC_NAMES
    for name in firmware_bridge.__all__:
        assert hasattr(firmware_bridge, name), name


def test_codec_errors_sit_under_frame_error() -> None:
    for error in (BadChecksum, MalformedFrame, TruncatedFrame, UnknownMessageType):
        assert issubclass(error, FrameError)
    assert issubclass(FrameError, FirmwareBridgeError)
    assert not issubclass(FrameError, ValueError)  # peer garbage is not our own bug


def test_codec_errors_carry_fields() -> None:
    error = BadChecksum("mr60bha1", 0xBF, 0xBE)
    assert (error.codec, error.expected, error.actual) == ("mr60bha1", 0xBF, 0xBE)
    truncated = TruncatedFrame("heart_rate", 3, 1)
    assert (truncated.needed, truncated.got) == (3, 1)
    assert UnknownMessageType("polar_pmd", 7).type_id == 7
