"""Detector settings: one frozen, validated value built from defaults or a plain mapping (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from edge.detector import const
from edge.detector.errors import SettingsError


def _num(default: float, low: float, high: float, *, integer: bool = False) -> Any:
    """A numeric setting with inclusive bounds, checked in ``__post_init__``."""
    return field(default=default, metadata={"low": low, "high": high, "integer": integer})


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """All tunable numbers of the detector; defaults and reasons live in :mod:`.const`.

    Durations are seconds (``_s``), rates per minute (``_bpm``), accelerations g (``_g``),
    saturations percent (``_pct``), frequencies hertz (``_hz``).
    """

    internal_fs_hz: float = _num(const.INTERNAL_FS_HZ, 4.0, 200.0)
    resp_band_low_hz: float = _num(const.RESP_BAND_LOW_HZ, 0.01, 0.5)
    resp_band_high_hz: float = _num(const.RESP_BAND_HIGH_HZ, 0.2, 2.0)
    filter_order: int = _num(const.FILTER_ORDER, 1, 4, integer=True)
    rel_amp: float = _num(const.REL_AMP, 0.05, 0.9)
    baseline_breaths: int = _num(const.BASELINE_BREATHS, 3, 100, integer=True)
    bootstrap_s: float = _num(const.BOOTSTRAP_S, 3.0, 120.0)
    rate_breaths: int = _num(const.RATE_BREATHS, 2, 30, integer=True)
    rate_window_s: float = _num(const.RATE_WINDOW_S, 20.0, 300.0)
    recovery_breaths: int = _num(const.RECOVERY_BREATHS, 1, 20, integer=True)
    recovery_amp: float = _num(const.RECOVERY_AMP, 0.1, 1.0)
    min_acc_breath_g: float = _num(const.MIN_ACC_BREATH_G, 0.0, 0.05)
    apnoea_wearable_s: float = _num(const.APNOEA_WEARABLE_S, 5.0, 120.0)
    apnoea_radar_s: float = _num(const.APNOEA_RADAR_S, 5.0, 120.0)
    pause_s: float = _num(const.PAUSE_S, 2.0, 60.0)
    gross_motion_g: float = _num(const.GROSS_MOTION_G, 0.001, 2.0)
    rd_warning_bpm: float = _num(const.RD_WARNING_BPM, 1.0, 30.0)
    rd_critical_bpm: float = _num(const.RD_CRITICAL_BPM, 0.5, 30.0)
    rd_min_coverage: float = _num(const.RD_MIN_COVERAGE, 0.1, 1.0)
    spo2_warning_pct: float = _num(const.SPO2_WARNING_PCT, 50.0, 100.0)
    spo2_critical_pct: float = _num(const.SPO2_CRITICAL_PCT, 40.0, 100.0)
    spo2_hold_s: float = _num(const.SPO2_HOLD_S, 1.0, 600.0)
    spo2_min_valid_pct: float = _num(const.SPO2_MIN_VALID_PCT, 0.0, 90.0)
    spo2_drop_pct: float = _num(const.SPO2_DROP_PCT, 0.5, 30.0)
    stillness_g: float = _num(const.STILLNESS_G, 0.0005, 1.0)
    stillness_s: float = _num(const.STILLNESS_S, 5.0, 3600.0)
    stillness_context_s: float = _num(const.STILLNESS_CONTEXT_S, 0.0, 86400.0)
    radar_motion_threshold: float = _num(const.RADAR_MOTION_THRESHOLD, 0.0, 1e9)
    occupancy_s: float = _num(const.OCCUPANCY_S, 10.0, 86400.0)
    vacancy_s: float = _num(const.VACANCY_S, 1.0, 600.0)
    no_signal_s: float = _num(const.NO_SIGNAL_S, 2.0, 3600.0)
    gap_s: float = _num(const.GAP_S, 0.1, 60.0)
    min_coverage: float = _num(const.MIN_COVERAGE, 0.1, 1.0)
    max_channel_lag_s: float = _num(const.MAX_CHANNEL_LAG_S, 1.0, 3600.0)
    acc_full_scale_g: float = _num(const.ACC_FULL_SCALE_G, 1.0, 64.0)
    baseline_period_s: float = _num(const.BASELINE_PERIOD_S, 30.0, 3600.0)

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            integer = bool(spec.metadata["integer"])
            if isinstance(value, bool) or not isinstance(value, int | float):
                reason = f"must be a number, got {type(value).__name__}"
                raise SettingsError(spec.name, reason)
            if integer and not isinstance(value, int):
                reason = f"must be an integer, got {value!r}"
                raise SettingsError(spec.name, reason)
            if not math.isfinite(value):
                reason = f"must be finite, got {value!r}"
                raise SettingsError(spec.name, reason)
            low, high = spec.metadata["low"], spec.metadata["high"]
            if not low <= value <= high:
                reason = f"must be between {low} and {high}, got {value!r}"
                raise SettingsError(spec.name, reason)
        self._check_relations()

    def _check_relations(self) -> None:
        if self.resp_band_low_hz >= self.resp_band_high_hz:
            raise SettingsError("resp_band_low_hz", "must be below resp_band_high_hz")
        if self.resp_band_high_hz >= self.internal_fs_hz / 2:
            raise SettingsError("resp_band_high_hz", "must be below half of internal_fs_hz")
        if self.rd_critical_bpm > self.rd_warning_bpm:
            raise SettingsError("rd_critical_bpm", "must not exceed rd_warning_bpm")
        if self.spo2_critical_pct > self.spo2_warning_pct:
            raise SettingsError("spo2_critical_pct", "must not exceed spo2_warning_pct")
        if self.stillness_g > self.gross_motion_g:
            raise SettingsError("stillness_g", "must not exceed gross_motion_g")
        if self.pause_s > self.apnoea_wearable_s:
            raise SettingsError("pause_s", "must not exceed apnoea_wearable_s")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> DetectorSettings:
        """Build settings from a plain mapping (e.g. a config file section).

        Missing keys take their defaults; integers are accepted for float settings.

        Raises:
            SettingsError: naming the first unknown, mistyped or out-of-range key.
        """
        known = {spec.name: spec for spec in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                reason = f"unknown setting; known settings are {', '.join(sorted(known))}"
                raise SettingsError(str(key), reason)
            integer = bool(known[key].metadata["integer"])
            if isinstance(value, int) and not isinstance(value, bool) and not integer:
                value = float(value)
            values[key] = value
        return cls(**values)

    def to_mapping(self) -> dict[str, float | int]:
        """Return the settings as a plain dict, the inverse of :meth:`from_mapping`."""
        return asdict(self)
