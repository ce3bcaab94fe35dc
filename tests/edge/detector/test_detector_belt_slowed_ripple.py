"""Slowed breathing whose breaths counting splits at their notches, normal breathing that must
never look slowed, and a belt whose heartbeat ripple must not pass for breathing in a pause
(issue 12)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.detector import DetectionEvent, Detector, EventKind

Arr = npt.NDArray[np.float64]
_FS = 25.0


def _breaths(rates: list[tuple[float, float]], *, notch: float = 0.0, seed: int = 0) -> Arr:
    """A belt: ``(seconds, rate_bpm)`` stretches of unit breaths, 1 % noise. ``notch`` dents
    the top of every other breath by that fraction (an M-shaped breath, as real breaths
    stretched three-fold show): a trigger counts those breaths twice."""
    rng = np.random.default_rng(seed)
    rate = np.concatenate([np.full(round(s * _FS), r) for s, r in rates])
    t = np.arange(rate.size) / _FS
    phase = np.cumsum(rate / 60.0 * (1 + 0.05 * np.sin(2 * np.pi * t / 37.0)) / _FS)
    within = phase % 1.0
    dent = notch * (np.floor(phase) % 2 == 0) * np.exp(-(((within - 0.5) / 0.08) ** 2))
    wave = 0.5 - 0.5 * np.cos(2 * np.pi * phase) - dent
    x: Arr = wave + rng.normal(0.0, 0.01, t.size)
    return x


def _events(x: Arr, kind: EventKind) -> tuple[list[DetectionEvent], list[DetectionEvent]]:
    """The events of ``kind`` and the ``recovered`` events that cleared it."""
    events = Detector().detect({"resp": x}, np.arange(x.size) / _FS)
    raised = [e for e in events if e.kind is kind]
    cleared = [
        e
        for e in events
        if e.kind is EventKind.RECOVERED and e.evidence.get("cleared") == str(kind)
    ]
    return raised, cleared


def test_notched_breathing_slowed_three_fold_raises_once_and_clears_once() -> None:
    # 18/min, then 150 s at 6.5/min (breaths 9.2 s apart, every other one M-shaped, so that
    # counting reads 9-11/min), then 18/min again.
    x = _breaths([(240.0, 18.0), (150.0, 6.5), (240.0, 18.0)], notch=0.5)
    raised, cleared = _events(x, EventKind.RESPIRATORY_DEPRESSION)
    assert raised, "slowed breathing was not reported"
    # One alert (a rise to critical may follow), all within the stretch and its 15 s grace.
    assert len(raised) <= 2
    assert len({e.severity for e in raised}) == len(raised)
    assert all(240.0 < e.t_s <= 405.0 for e in raised)
    # Cleared once, after the stretch ended, and never raised again.
    assert len(cleared) == 1
    assert cleared[0].t_s > 390.0
    assert all(e.t_s < cleared[0].t_s for e in raised)


def test_normal_breathing_never_raises_slowed_breathing() -> None:
    for rate_bpm in (10.0, 12.0, 16.0):
        for notch in (0.0, 0.5):
            x = _breaths([(600.0, rate_bpm)], notch=notch, seed=int(rate_bpm))
            raised, _ = _events(x, EventKind.RESPIRATORY_DEPRESSION)
            assert raised == [], (rate_bpm, notch)


def test_shallow_breathing_after_an_artefact_raises_neither_apnoea_nor_slowed_breathing() -> None:
    x = _breaths([(600.0, 15.0)], seed=3)
    t = np.arange(x.size) / _FS
    # Ten seconds of swings six times a breath and a shift of level, then breathing at 25 %.
    burst = (t >= 290.0) & (t < 300.0)
    x[burst] += 6.0 * np.sin(2 * np.pi * 0.7 * t[burst]) * np.sin(np.pi * (t[burst] - 290) / 10)
    after = t >= 300.0
    x[after] = 2.0 + 0.25 * x[after]
    x[burst] += 2.0 * (t[burst] - 290.0) / 10.0
    events = Detector().detect({"resp": x}, t)
    kinds = {e.kind for e in events}
    assert EventKind.APNOEA not in kinds
    assert EventKind.RESPIRATORY_DEPRESSION not in kinds


def _with_ripple(x: Arr, ripple_pp: float, stop_s: float, pause_s: float) -> tuple[Arr, float]:
    """Stop breathing at the first end of expiration after ``stop_s`` for ``pause_s``, and add
    a heartbeat's ripple (1.2 Hz, ``ripple_pp`` peak to peak) throughout. Returns the signal and
    the apnoea's onset."""
    i = round(stop_s * _FS)
    if pause_s > 0.0:
        i += int(np.argmin(x[i : i + round(8 * _FS)]))
        x = np.concatenate([x[:i], np.full(round(pause_s * _FS), x[i]), x[i:]])
    y = x
    t = np.arange(y.size) / _FS
    y = y + 0.5 * ripple_pp * np.sin(2 * np.pi * 1.2 * t)
    return y, i / _FS


def test_heartbeat_ripple_in_a_pause_is_not_counted_as_breathing() -> None:
    # A belt on which the heartbeat shows at a quarter of a breath's size (before the band-pass
    # halves it): a relaxed trigger counted the ripple as breaths at 72/min during the pause,
    # and the baseline followed them down into "breathing not measurable", with no apnoea call.
    x, onset = _with_ripple(_breaths([(300.0, 10.0)], seed=5), 0.25, 200.0, 40.0)
    events = Detector().detect({"resp": x}, np.arange(x.size) / _FS)
    apnoea = [e for e in events if e.kind is EventKind.APNOEA]
    assert len(apnoea) == 1
    assert 14.0 <= apnoea[0].t_s - onset <= 17.0
    assert EventKind.NO_SIGNAL not in {e.kind for e in events}


def test_heartbeat_ripple_alone_never_pages_a_breathing_person() -> None:
    x, _ = _with_ripple(_breaths([(600.0, 12.0)], notch=0.5, seed=6), 0.3, 0.0, 0.0)
    events = Detector().detect({"resp": x}, np.arange(x.size) / _FS)
    assert events == []
