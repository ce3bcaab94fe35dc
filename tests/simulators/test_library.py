"""The named physiology presets tell the story their names promise."""

from __future__ import annotations

import pytest

from firmware_bridge.samples import Channel
from simulators.library import LIBRARY, Preset
from simulators.physiology import Label, simulate

APNOEA_PRESETS = {"abrupt_apnoea", "gradual_overdose", "naloxone_recovery"}


def test_library_has_the_promised_presets() -> None:
    assert set(LIBRARY) >= {
        "normal_rest",
        "gradual_overdose",
        "abrupt_apnoea",
        "naloxone_recovery",
        "breath_hold",
        "talking",
        "sleep",
        "phone_still",
        "shower",
        "sensor_removed",
        "sensor_swapped",
    }
    assert list(LIBRARY) == sorted(LIBRARY)
    for name, entry in LIBRARY.items():
        assert entry.name == name
        assert entry.summary
        assert isinstance(entry.build(), Preset)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_library_preset_story(name: str) -> None:
    entry = LIBRARY[name]
    params, episodes = entry.build()
    recording = simulate(params, episodes, entry.duration_s, seed=1)
    causes = {a.cause for a in recording.apnoea_intervals}
    labels = set(recording.labels.tolist())
    if name in APNOEA_PRESETS:
        assert Label.APNOEA in causes
        assert min(recording.wearable[Channel.SPO2].values) < 90.0
    else:
        assert Label.APNOEA not in causes
    if name == "naloxone_recovery":
        assert Label.RECOVERY in labels
        assert all(a.end_s is not None for a in recording.apnoea_intervals)
    if name == "breath_hold":
        assert causes == {Label.BREATH_HOLD}
    if name in {"shower", "sensor_removed", "sensor_swapped"}:
        assert Label.OFF_BODY in labels
    if name == "gradual_overdose":
        assert Label.SLOWED in labels
