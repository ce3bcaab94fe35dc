"""Hypothesis properties: round trips, all SFLOAT codes, and decoders that are total."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import (
    KINDS,
    FrameError,
    PmdMeasurementType,
    SFloat,
    decode_contact,
    decode_message,
    decode_pmd_data,
    decode_sfloat,
    encode_message,
    encode_sfloat,
)
from tests.firmware_bridge import strategies as fbs


def test_sfloat_every_code_round_trips() -> None:
    for code in range(0x10000):
        value = decode_sfloat(code)
        assert encode_sfloat(value) == code
        if value.special is not None:
            assert value.value is None  # "no reading", never 0


@given(fbs.messages())
def test_codec_decode_inverts_encode(message: object) -> None:
    data = encode_message(message)
    kind = fbs.kind_of(message)
    decoded = decode_message(kind, data)
    assert decoded == message
    assert encode_message(decoded) == data


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.binary(max_size=64))
def test_codec_arbitrary_bytes_raise_only_frame_error(kind: str, data: bytes) -> None:
    try:
        message = decode_message(kind, data)
    except FrameError:
        return
    assert encode_message(message) is not None


@given(
    data=st.binary(max_size=48),
    channels=st.integers(1, 4),
    resolution=st.integers(1, 24),
)
def test_pmd_data_arbitrary_bytes_with_stream_settings_raise_only_frame_error(
    data: bytes, channels: int, resolution: int
) -> None:
    frame = bytes([PmdMeasurementType.ACC]) + bytes(8) + b"\x80" + data
    with contextlib.suppress(FrameError):
        decode_pmd_data(frame, channels=channels, resolution_bits=resolution)


@given(st.one_of(st.binary(max_size=64), st.text(max_size=64)))
def test_contact_arbitrary_payload_raises_only_frame_error(payload: bytes | str) -> None:
    with contextlib.suppress(FrameError):
        decode_contact(payload)


@given(st.integers(-2048, 2047), st.integers(-8, 7))
def test_sfloat_value_is_mantissa_times_power_of_ten(mantissa: int, exponent: int) -> None:
    value = SFloat(mantissa, exponent)
    if value.special is None:
        assert value.value == pytest.approx(mantissa * 10.0**exponent)
