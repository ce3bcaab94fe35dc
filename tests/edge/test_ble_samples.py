"""Notifications to samples with units: NaN for "no reading", never 0."""

from __future__ import annotations

import math

import pytest

from edge.ble import notification_samples
from firmware_bridge import (
    AccelSamples,
    ButtonEvent,
    ButtonPress,
    HeartRateMeasurement,
    PlxContinuous,
    SFloat,
    SFloatSpecial,
    SpO2PulseRate,
    decode_heart_rate,
)
from firmware_bridge.samples import Channel


def test_ble_heart_rate_spec_example_becomes_one_hr_sample() -> None:
    (block,) = notification_samples("w1", decode_heart_rate(bytes.fromhex("16485503")), 5.0)
    assert (block.channel, block.t0_s, block.values) == (Channel.HR, 5.0, (72.0,))


def test_ble_heart_rate_without_contact_is_nan() -> None:
    message = HeartRateMeasurement(0, contact_supported=True, contact_detected=False)
    (block,) = notification_samples("w1", message, 5.0)
    assert math.isnan(block.values[0])


def test_ble_plx_nan_is_no_reading_not_zero() -> None:
    nan = SFloat.from_special(SFloatSpecial.NAN)
    message = PlxContinuous(SpO2PulseRate(nan, SFloat(72)))
    spo2, hr = notification_samples("ox1", message, 1.0)
    assert spo2.channel is Channel.SPO2
    assert math.isnan(spo2.values[0])
    assert hr.values == (72.0,)


def test_ble_accelerometer_frame_ends_at_arrival_in_g() -> None:
    message = AccelSamples(7, 0, 25, ((0, -12, 1000), (1, -11, 999)))
    x, y, z = notification_samples("w1", message, 10.0)
    assert [b.channel for b in (x, y, z)] == [Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z]
    assert z.values == pytest.approx((1.0, 0.999))
    assert z.fs_hz == 25.0
    assert z.end_s == pytest.approx(10.0)


def test_ble_button_press_carries_no_samples() -> None:
    assert notification_samples("w1", ButtonEvent(1, 0, ButtonPress.LONG), 1.0) == []
