"""Normal but irregular breathing with gestures (talking) is never slowed breathing, while
breathing that really slowed is, movement or not (issue 12: seeds that used to page)."""

from __future__ import annotations

import pytest

from edge.detector import EventKind
from edge.detector.rate import RateWindow
from simulators.physiology import Episode, EpisodeKind, Posture, SubjectParams

from .simulated import simulate

_RD = EventKind.RESPIRATORY_DEPRESSION


def test_rate_window_skips_intervals_across_movement_and_counts_the_interruption() -> None:
    w = RateWindow(60.0, 5)
    for t in (0.0, 6.0, 12.0, 18.0):
        w.good()
        w.add(t)
    w.interrupt(21.0)  # a gesture hides the breath at 24 s
    for t in (30.0, 36.0, 42.0):
        w.good()
        w.add(t)
    # Intervals within runs are all 6 s: 10/min, not the 12 s across the gesture.
    assert w.window_rate_bpm == pytest.approx(10.0)
    assert w.breaths == 7
    assert w.interruptions == 1
    w.trim(81.5)  # the window now starts after the gesture
    assert w.interruptions == 0
    assert w.breaths == 3


@pytest.mark.parametrize("seed", [7, 9, 11, 13])
def test_talking_with_gestures_never_raises_slowed_breathing(seed: int) -> None:
    # Seeds 7, 9 and 11 paged: gestures hid breaths, and intervals across them (9-13 s)
    # made talking at 10-14/min count as 6-8/min.
    events, _ = simulate(
        [Episode(EpisodeKind.TALKING, 120.0, 360.0)],
        600.0,
        params=SubjectParams(posture=Posture.SITTING),
        seed=seed,
    )
    assert _RD not in {e.kind for e in events}


def test_slow_normal_breather_with_fidgets_is_not_slowed_breathing() -> None:
    # Seed 16 paged at 10/min: two brief fidgets each hid a breath.
    events, _ = simulate([], 600.0, params=SubjectParams(rate_bpm=10.0, depth=1.3), seed=16)
    assert _RD not in {e.kind for e in events}


@pytest.mark.parametrize("seed", [0, 1])
def test_slowed_breathing_with_movement_is_still_reported(seed: int) -> None:
    slowed = {"rate_x": 6.5 / 14.0, "depth_x": 1.0}
    events, _ = simulate(
        [
            Episode(EpisodeKind.HYPOVENTILATION, 120.0, 300.0, params=slowed),
            Episode(EpisodeKind.MOVEMENT, 250.0, 6.0),
        ],
        460.0,
        seed=seed,
    )
    raised = [e for e in events if e.kind is _RD]
    assert raised
    assert 120.0 < raised[0].t_s < 420.0
