"""Pairing the detector's "cannot see breathing" warnings with their recoveries (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firmware_bridge.wire import AlertKind, Severity, TextValue
from server.domain.alerts import Alert
from server.domain.lifecycle import Outcome
from server.domain.signal import answered, recovery_outcome, stretches, visibility, window

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
_ids = iter(range(1, 1000))


def _alert(
    kind: AlertKind,
    at_s: float,
    onset_s: float | None = None,
    participant: str = "p-0001",
    site: str = "hostel-1",
    **evidence: TextValue,
) -> Alert:
    detected = T0 + timedelta(seconds=at_s)
    return Alert(
        alert_id=f"A{next(_ids):05d}",
        site_id=site,
        edge_id="pi-1",
        kind=kind,
        severity=Severity.WARNING if kind is AlertKind.NO_SIGNAL else Severity.INFO,
        detected_at=detected,
        onset_at=T0 + timedelta(seconds=at_s if onset_s is None else onset_s),
        stored_at=detected,
        participant_id=participant,
        evidence=dict(evidence),
    )


def warning(at_s: float, onset_s: float, source: str = "wearable", **kw: str) -> Alert:
    return _alert(AlertKind.NO_SIGNAL, at_s, onset_s, source=source, reason="noisy", **kw)


def recovery(at_s: float, onset_s: float, source: str = "wearable", **kw: str) -> Alert:
    return _alert(AlertKind.RECOVERED, at_s, onset_s, cleared="no_signal", source=source, **kw)


def test_a_warning_lasts_from_its_onset_until_breathing_was_seen_again() -> None:
    # Raised at 100 s for a channel unusable since 90 s; seen again from 400 s, told at 460 s.
    (stretch,) = stretches([recovery(460, 400), warning(100, 90)])
    assert (stretch.start, stretch.end) == (T0 + timedelta(seconds=90), T0 + timedelta(seconds=400))


def test_a_recovery_ends_only_its_own_sources_warning() -> None:
    found = stretches([warning(100, 90), recovery(300, 250, source="radar")])
    assert [(s.source, s.end) for s in found] == [("wearable", None)]


def test_a_second_warning_while_one_stands_is_the_same_stretch() -> None:
    # An edge restarted mid-warning and raised it again: one stretch, from the first onset.
    found = stretches([warning(100, 90), warning(700, 690), recovery(900, 850)])
    assert [(s.start, s.end) for s in found] == [
        (T0 + timedelta(seconds=90), T0 + timedelta(seconds=850))
    ]


def test_a_recovery_of_an_apnoea_or_with_nothing_standing_ends_nothing() -> None:
    apnoea_over = _alert(AlertKind.RECOVERED, 200, 190, cleared="apnoea", source="wearable")
    found = stretches([recovery(50, 40), warning(100, 90), apnoea_over])
    assert [s.end for s in found] == [None]
    assert answered(apnoea_over, [warning(100, 90)]) == []


def test_answered_takes_the_same_resident_site_and_source_raised_before() -> None:
    mine = warning(100, 90)
    others = [
        warning(100, 90, participant="p-0002"),
        warning(100, 90, site="hostel-2"),
        warning(100, 90, source="radar"),
        warning(600, 590),  # raised after the recovery was detected
    ]
    assert answered(recovery(500, 400), [mine, *others]) == [mine]


def test_visibility_clips_to_the_window_and_says_what_stands_now() -> None:
    found = stretches(
        [
            warning(-3600, -7200),  # began before the window, ended in it
            recovery(1800, 1200),
            warning(5000, 4800, source="radar"),  # still standing at the end
        ]
    )
    start, end = window(T0 + timedelta(seconds=7200), hours=2)
    seen = visibility(found, start, end)
    assert seen.blind_s == {"wearable": 1200.0, "radar": 2400.0}
    assert seen.blind_pct("radar") == pytest.approx(100 * 2400 / 7200)
    assert (seen.stretches, seen.longest_s) == (2, 2400.0)
    assert seen.blind_now == {"radar": T0 + timedelta(seconds=4800)}


def test_visibility_of_nothing_is_nothing_and_an_empty_window_is_refused() -> None:
    seen = visibility([], T0, T0 + timedelta(hours=24))
    assert (seen.blind_s, seen.stretches, seen.blind_pct("wearable")) == ({}, 0, 0.0)
    with pytest.raises(ValueError, match="must end after"):
        visibility([], T0, T0)


def test_a_recovery_is_closed_with_what_it_says_ended() -> None:
    ended = {
        cleared: recovery_outcome(_alert(AlertKind.RECOVERED, 0, cleared=cleared)).value
        for cleared in ("no_signal", "apnoea", "stillness", "prolonged_occupancy", "made_up")
    }
    assert ended == {
        "no_signal": "reconnected",
        "apnoea": "breathing_restored",
        "stillness": "occupant_ok",
        "prolonged_occupancy": "space_empty",
        "made_up": "other",
    }
    assert recovery_outcome(_alert(AlertKind.RECOVERED, 0)) is Outcome.OTHER
