"""Decoded messages to samples with units: NaN for "no reading", never 0."""

from __future__ import annotations

import math

import pytest

from firmware_bridge import (
    AccelSamples,
    ButtonEvent,
    ButtonPress,
    HeartRateMeasurement,
    PlxContinuous,
    PmdDataFrame,
    PmdMeasurementType,
    SFloat,
    SFloatSpecial,
    SpO2PulseRate,
    decode_heart_rate,
    decode_ld2410,
    decode_mr60bha1,
    message_samples,
)
from firmware_bridge.samples import Channel


def test_samples_heart_rate_spec_example_becomes_one_hr_sample() -> None:
    (block,) = message_samples("w1", decode_heart_rate(bytes.fromhex("16485503")), 5.0)
    assert (block.channel, block.t0_s, block.values) == (Channel.HR, 5.0, (72.0,))


def test_samples_heart_rate_without_contact_is_nan() -> None:
    message = HeartRateMeasurement(0, contact_supported=True, contact_detected=False)
    (block,) = message_samples("w1", message, 5.0)
    assert math.isnan(block.values[0])


def test_samples_plx_nan_is_no_reading_not_zero() -> None:
    nan = SFloat.from_special(SFloatSpecial.NAN)
    message = PlxContinuous(SpO2PulseRate(nan, SFloat(72)))
    spo2, hr = message_samples("ox1", message, 1.0)
    assert spo2.channel is Channel.SPO2
    assert math.isnan(spo2.values[0])
    assert hr.values == (72.0,)


def test_samples_accelerometer_frame_ends_at_arrival_in_g() -> None:
    message = AccelSamples(7, 0, 25, ((0, -12, 1000), (1, -11, 999)))
    x, y, z = message_samples("w1", message, 10.0)
    assert [b.channel for b in (x, y, z)] == [Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z]
    assert z.values == pytest.approx((1.0, 0.999))
    assert z.fs_hz == 25.0
    assert z.end_s == pytest.approx(10.0)


def test_samples_button_press_carries_no_samples() -> None:
    assert message_samples("w1", ButtonEvent(1, 0, ButtonPress.LONG), 1.0) == []


def test_samples_polar_acc_needs_the_stream_rate() -> None:
    frame = PmdDataFrame(PmdMeasurementType.ACC, 0, 1, ((0, 20, 1000), (1, 21, 999)))
    assert message_samples("h10", frame, 3.0) == []
    x, _, z = message_samples("h10", frame, 3.0, fs_hz=25.0)
    assert x.values == pytest.approx((0.0, 0.001))
    assert z.end_s == pytest.approx(3.0)
    ecg = PmdDataFrame(PmdMeasurementType.ECG, 0, 0, ((100,),))
    assert message_samples("h10", ecg, 3.0, fs_hz=130.0) == []


def test_samples_radar_frames_have_units_and_times() -> None:
    heart = decode_mr60bha1(bytes.fromhex("5359850200014 87C5443".replace(" ", "")))
    (hr,) = message_samples("radar-1", heart, 12.0)
    assert (hr.channel, hr.t0_s, hr.values) == (Channel.HR, 12.0, (72.0,))
    breath = decode_mr60bha1(bytes.fromhex("535981050005808284828 0BF5443".replace(" ", "")))
    (resp,) = message_samples("radar-1", breath, 12.0)
    assert (resp.channel, resp.fs_hz, resp.values) == (Channel.RESP, 5.0, (0.0, 2.0, 4.0, 2.0, 0.0))
    assert resp.end_s == pytest.approx(12.0)
    reset = decode_mr60bha1(bytes.fromhex("5359010200010FBF5443"))
    assert message_samples("radar-1", reset, 1.0) == []
    report = decode_ld2410(bytes.fromhex("F4F3F2F10D0002AA025100000000003B005500F8F7F6F5"))
    presence, motion = message_samples("radar-2", report, 3.0)
    assert (presence.channel, presence.values, motion.channel) == (
        Channel.PRESENCE,
        (1.0,),
        Channel.MOTION,
    )
