"""Edge cases of the codecs: values that check themselves, and each way bytes can be refused."""

from __future__ import annotations

import math

import pytest

from firmware_bridge import (
    AccelSamples,
    ContactReport,
    DoorState,
    FrameError,
    GattDateTime,
    HeartRateMeasurement,
    Ld2410Command,
    Ld2410Engineering,
    MalformedFrame,
    PmdCommand,
    PmdDataFrame,
    PmdMeasurementType,
    PmdOpCode,
    PmdSetting,
    PmdSettingType,
    SFloat,
    UnknownMessageType,
    compress_blocks,
    crc16_ccitt_false,
    decode_contact,
    decode_ld2410,
    decode_pmd_control,
    decode_pmd_data,
    decode_wearable,
    encode_contact,
    encode_ld2410,
    encode_message,
    polar_ns_to_unix_s,
    unix_s_to_polar_ns,
)
from firmware_bridge._reader import pack_u16

ACC = PmdMeasurementType.ACC


def _wearable(body: bytes) -> bytes:
    return body + pack_u16(crc16_ccitt_false(body))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", MalformedFrame),  # 0 Hz
        (b"\x01\x02\x00\x00\x00\x00\x00\x00\x09", MalformedFrame),  # unknown press code
        (b"\x01\x07\x00\x00\x00\x00\x00\x00\x01", UnknownMessageType),
        (b"\x01\x02\x00\x00\x00\x00\x00\x00\x01\x00", MalformedFrame),  # trailing byte
        (b"\x01\x01\x00\x00\x00\x00\x00\x00\x19\x00\x02\x00\x00", FrameError),  # short samples
    ],
)
def test_wearable_refuses_bad_bodies(body: bytes, error: type[FrameError]) -> None:
    with pytest.raises(error):
        decode_wearable(_wearable(body))


def test_wearable_values_check_themselves() -> None:
    with pytest.raises(ValueError, match="seq"):
        AccelSamples(70000, 0, 25, ())
    with pytest.raises(ValueError, match="acceleration"):
        AccelSamples(0, 0, 25, ((40000, 0, 0),))


def test_gatt_values_check_themselves() -> None:
    with pytest.raises(ValueError, match="bpm"):
        HeartRateMeasurement(300)
    with pytest.raises(ValueError, match="mantissa"):
        SFloat(4000)
    with pytest.raises(ValueError, match="month"):
        GattDateTime(2024, 300, 1, 0, 0, 0)


def test_pmd_frames_check_themselves() -> None:
    with pytest.raises(ValueError, match="values"):
        PmdDataFrame(ACC, 0, 1, ((1, 2),))
    with pytest.raises(ValueError, match="reference"):
        PmdDataFrame(ACC, 0, 0, (), compressed=True, resolution_bits=16)
    with pytest.raises(ValueError, match="reference sample"):
        PmdDataFrame(ACC, 0, 0, ((40000, 0, 0),), compressed=True, resolution_bits=16)
    with pytest.raises(ValueError, match="cover"):
        PmdDataFrame(ACC, 0, 0, ((0, 0, 0), (1, 1, 1)), compressed=True, resolution_bits=16)
    with pytest.raises(ValueError, match="does not fit"):
        PmdDataFrame(ACC, 0, 0, ((0, 0, 0), (9, 0, 0)), True, 16, delta_blocks=((2, 1),))


def test_pmd_delta_width_zero_repeats_the_reference() -> None:
    samples = ((5, 5, 5), (5, 5, 5), (5, 5, 5))
    frame = PmdDataFrame(ACC, 0, 0, samples, True, 16, ((0, 2),))
    assert decode_pmd_data(encode_message(frame)) == frame


def test_pmd_compress_blocks_picks_the_narrowest_width() -> None:
    samples = ((0,), (1,), (-1,), (100,))
    assert compress_blocks(samples, 2) == ((2, 2), (8, 1))  # deltas 1, -2 | 101


def test_pmd_compressed_frame_needs_stream_settings_for_unknown_types() -> None:
    frame = bytes([PmdMeasurementType.GYRO]) + bytes(8) + b"\x80" + bytes(6)
    with pytest.raises(UnknownMessageType):
        decode_pmd_data(frame)
    decoded = decode_pmd_data(frame, channels=3, resolution_bits=16)
    assert decoded.samples == ((0, 0, 0),)


def test_pmd_delta_width_above_32_bits_is_refused() -> None:
    frame = bytes([ACC]) + bytes(8) + b"\x80" + bytes(6) + b"\x21\x01" + bytes(13)
    with pytest.raises(MalformedFrame):
        decode_pmd_data(frame)


def test_pmd_polar_epoch_round_trips() -> None:
    assert polar_ns_to_unix_s(0) == 946_684_800
    assert unix_s_to_polar_ns(946_684_801.5) == 1_500_000_000


def test_pmd_control_edge_cases() -> None:
    factor = PmdSetting(PmdSettingType.FACTOR, (0x3F800000,))
    assert factor.factors == (1.0,)
    with pytest.raises(ValueError, match="only START"):
        PmdCommand(PmdOpCode.STOP, ACC, (factor,))
    with pytest.raises(UnknownMessageType):
        decode_pmd_control(b"\x01\x42")  # bit 6 of the type byte is not defined
    with pytest.raises(MalformedFrame):
        decode_pmd_control(b"\xf0\x02\x02\x00\x02")  # 'more' must be 0 or 1
    with pytest.raises(UnknownMessageType):
        decode_pmd_control(b"\x02\x02\x09\x01\x00")  # unknown setting type


@pytest.mark.parametrize(
    "hex_frame",
    [
        "F4F3F2F1 0D00 02 AA 07 5100 00 0000 00 3B00 5500 F8F7F6F5",  # target state 7
        "F4F3F2F1 0F00 01 AA 03 1E00 3C 2800 64 2800 09 08 5500 F8F7F6F5",  # gate 9
        "F4F3F2F1 0D00 02 AA 02 5100 00 0000 00 3B00 5501 F8F7F6F5",  # end marker
        "F4F3F2F1 0F00 01 AA 03 1E00 3C 2800 64 2800 00 00 01 02 F8F7F6F5",  # no end marker
        "F4F3F2F0 0D00 02 AA 02 5100 00 0000 00 3B00 5500 F8F7F6F5",  # unknown header
    ],
)
def test_ld2410_refuses_broken_reports(hex_frame: str) -> None:
    with pytest.raises(MalformedFrame):
        decode_ld2410(bytes.fromhex(hex_frame.replace(" ", "")))


def test_ld2410_values_check_themselves() -> None:
    assert Ld2410Command(0x01FF).is_ack
    assert not Ld2410Command(0x00FF).is_ack
    with pytest.raises(ValueError, match="extra"):
        Ld2410Engineering((0,), (0,), bytes(40))
    command = Ld2410Command(0x00FF, b"\x01\x00")
    assert decode_ld2410(encode_ld2410(command)) == command


@pytest.mark.parametrize(
    "payload",
    ['{"contact": "yes"}', '{"battery": 101}', '{"linkquality": true}', "[1, 2]", "{", b"\xff"],
)
def test_contact_refuses_bad_payloads(payload: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        decode_contact(payload)


def test_contact_round_trips_through_its_encoder() -> None:
    report = ContactReport(DoorState.OPEN, 97, 120, False)
    assert decode_contact(encode_contact(report)) == report
    assert encode_contact(ContactReport(DoorState.CLOSED)) == '{"contact":true}'


def test_codec_encode_rejects_foreign_objects() -> None:
    with pytest.raises(TypeError, match="no codec"):
        encode_message(math.pi)


def test_sfloat_special_constructor_and_gpio_door() -> None:
    from firmware_bridge import SFloatSpecial, door_from_gpio

    assert SFloat.from_special(SFloatSpecial.NRES).code == 0x0800
    assert door_from_gpio(False) is DoorState.CLOSED
    assert ContactReport(None).door is None
    assert decode_contact("{}") == ContactReport(None)
