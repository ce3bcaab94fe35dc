"""The edge config keys of the check-in and consent: defaults, and refusals that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from edge.config import EdgeConfigError, config_from_mapping
from edge.consent import ConsentState

BASE: dict[str, Any] = {"site": "hostel-1", "edge": "pi-1"}
WEARABLE: dict[str, Any] = {"id": "w-1", "role": "wearable", "link": "virtual"}


def test_checkin_config_defaults() -> None:
    config = config_from_mapping({**BASE, "devices": [WEARABLE]})
    assert config.checkin_s == 20.0
    assert config.default_consent is ConsentState.ACTIVE
    virtual = config.devices[0].virtual
    assert virtual is not None
    assert (virtual.answers_checkin, virtual.answer_delay_s) == (True, 5.0)
    assert config_from_mapping({**BASE, "checkin_s": 0}).checkin_s == 0.0
    paused = config_from_mapping({**BASE, "consent_default": "paused"})
    assert paused.default_consent is ConsentState.PAUSED


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"checkin_s": -1}, "checkin_s"),
        ({"checkin_s": 301}, "checkin_s"),
        ({"checkin_s": "soon"}, "checkin_s"),
        ({"consent_default": "withdrawn"}, "consent_default"),
        (
            {"devices": [{**WEARABLE, "virtual": {"answer_delay_s": -2}}]},
            "devices.0.virtual.answer_delay_s",
        ),
    ],
)
def test_checkin_config_refuses_bad_values(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(EdgeConfigError) as caught:
        config_from_mapping({**BASE, **extra})
    assert caught.value.key == key
