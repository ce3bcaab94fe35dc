"""Settings: defaults, validation with the key named, and the plain-mapping round trip."""

from __future__ import annotations

import dataclasses

import pytest

from edge.detector import DetectorSettings, SettingsError


def test_settings_defaults_match_the_issue() -> None:
    s = DetectorSettings()
    assert s.apnoea_wearable_s == 15.0
    assert s.apnoea_radar_s == 20.0
    assert (s.rd_warning_bpm, s.rd_critical_bpm, s.rate_window_s) == (8.0, 6.0, 60.0)
    assert (s.spo2_warning_pct, s.spo2_critical_pct, s.spo2_hold_s) == (90.0, 85.0, 15.0)
    assert s.occupancy_s == 20 * 60


def test_settings_round_trip_through_a_mapping() -> None:
    s = DetectorSettings.from_mapping({"apnoea_wearable_s": 20, "baseline_breaths": 10})
    assert s.apnoea_wearable_s == 20.0
    assert isinstance(s.apnoea_wearable_s, float)
    assert DetectorSettings.from_mapping(s.to_mapping()) == s


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"apnoea_wearable_s": -1.0}, "apnoea_wearable_s", "between"),
        ({"apnoea_wearable_s": "15"}, "apnoea_wearable_s", "number"),
        ({"apnoea_wearable_s": True}, "apnoea_wearable_s", "number"),
        ({"apnoea_wearable_s": float("nan")}, "apnoea_wearable_s", "finite"),
        ({"baseline_breaths": 15.5}, "baseline_breaths", "integer"),
        ({"apnoea_seconds": 15.0}, "apnoea_seconds", "unknown"),
        ({"rd_critical_bpm": 9.0}, "rd_critical_bpm", "rd_warning_bpm"),
        ({"spo2_critical_pct": 95.0}, "spo2_critical_pct", "spo2_warning_pct"),
        ({"resp_band_low_hz": 0.4, "resp_band_high_hz": 0.3}, "resp_band_low_hz", "below"),
    ],
)
def test_settings_reject_bad_values_naming_the_key(
    data: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(SettingsError) as info:
        DetectorSettings.from_mapping(data)
    assert info.value.key == key
    assert words in info.value.reason
    assert key in str(info.value)


def test_settings_are_frozen() -> None:
    s = DetectorSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.apnoea_wearable_s = 1.0  # type: ignore[misc]


def test_settings_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="apnoea_radar_s"):
        DetectorSettings(apnoea_radar_s=0.0)
