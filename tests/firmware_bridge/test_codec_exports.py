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

# Every public name defined in a private codec module, plus the codec constants: pinned.
CODEC_NAMES = {
    "AccelSamples",
    "AlertLevel",
    "BatteryLevel",
    "ButtonEvent",
    "ButtonPress",
    "Codec",
    "ContactReport",
    "DeviceSensorStatus",
    "DoorState",
    "FrameBuffer",
    "FrameSpec",
    "FramerStats",
    "GattDateTime",
    "HeartRateMeasurement",
    "LD2410_SPEC",
    "Ld2410Command",
    "Ld2410Engineering",
    "Ld2410Report",
    "MR60BHA1_SPEC",
    "MeasurementStatus",
    "Mr60Frame",
    "Mr60Quantity",
    "Mr60Reading",
    "PlxContinuous",
    "PlxSpotCheck",
    "PmdCommand",
    "PmdDataFrame",
    "PmdFeatures",
    "PmdMeasurementType",
    "PmdOpCode",
    "PmdResponse",
    "PmdSetting",
    "PmdSettingType",
    "PmdStatus",
    "ReportType",
    "SFloat",
    "SFloatSpecial",
    "SensorContact",
    "SpO2PulseRate",
    "TargetState",
    "WearableMessageType",
    "compress_blocks",
    "crc16_ccitt_false",
    "decode_alert_level",
    "decode_battery_level",
    "decode_contact",
    "decode_heart_rate",
    "decode_ld2410",
    "decode_message",
    "decode_mr60bha1",
    "decode_plx_continuous",
    "decode_plx_spot_check",
    "decode_pmd_control",
    "decode_pmd_data",
    "decode_sfloat",
    "decode_wearable",
    "door_from_gpio",
    "encode_alert_level",
    "encode_battery_level",
    "encode_contact",
    "encode_heart_rate",
    "encode_ld2410",
    "encode_message",
    "encode_mr60bha1",
    "encode_plx_continuous",
    "encode_plx_spot_check",
    "encode_pmd_control",
    "encode_pmd_data",
    "encode_sfloat",
    "encode_wearable",
    "frames_dropped",
    "message_samples",
    "message_to_json",
    "polar_ns_to_unix_s",
    "read_mr60bha1",
    "unix_s_to_polar_ns",
    "CODECS",
    "KINDS",
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
