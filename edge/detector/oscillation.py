"""The accelerometer's oscillation check: breathing movement under the breath floor (pure).

Is the chest still moving with breathing that the breath trigger does not count, and has
movement it could see stopped?

Each second the stream hands over the energy along the breathing axis in ``OSC_LOW_HZ``-
``OSC_HIGH_HZ`` and the noise energy across it. Over the last ``OSC_WINDOW_S`` seconds that start
``OSC_AFTER_S`` after the trigger's last confirmed extreme, their ratio says whether breathing
movement is there however small each breath (``OSC_BREATHING_X``), and a run of still windows
after clear movement (``OSC_STILL_X`` after ``OSC_SEEN_X``) says that it stopped.
"""

from __future__ import annotations

import statistics
from collections import deque

from edge.detector import const

NOISE_WINDOW_S = 30
"""Seconds of noise readings across the axis whose median is the reference energy."""


class OscillationCheck:
    """Streaming state of the oscillation check for one accelerometer channel."""

    def __init__(self) -> None:
        self._window: deque[tuple[float, float, int]] = deque(maxlen=const.OSC_WINDOW_S)
        self._noise: deque[float] = deque(maxlen=NOISE_WINDOW_S)
        self.reset()

    def reset(self) -> None:
        """Forget the window and the movement seen (after a gap or artefact); the noise
        reference is kept."""
        self._window.clear()
        self._seen_t: float | None = None  # last second whose window showed clear movement
        self._settled = 0  # good seconds since the last gap or movement
        self._quiet_from: float | None = None  # start of the current still windows

    def ratio(
        self, osc: tuple[float, float | None, int] | None, t_end: float, after_s: float
    ) -> tuple[float | None, float]:
        """Take one good second's ``(along, across per direction, samples)`` energies (across
        None when the chest moved: it does not feed the noise reference), or None if the
        stream measured none; return the energy along the breathing axis over the
        window's seconds that start at ``after_s`` or later (movement the trigger has not
        already counted), over the noise across it (the median of the last
        ``NOISE_WINDOW_S`` seconds), and the start of the seconds used. None with fewer than
        ``OSC_MIN_S`` of them."""
        if osc is None:
            self._window.clear()
            return None, t_end
        self._settled += 1
        along, across, n = osc
        if n <= 0:
            return None, t_end
        self._window.append((t_end - 1.0, along, n))
        if across is not None:
            self._noise.append(across / n)
        used = [(t0, a, k) for t0, a, k in self._window if t0 >= after_s]
        noise = statistics.median(self._noise) if self._noise else 0.0
        if len(used) < const.OSC_MIN_S or noise <= 0.0:
            return None, t_end
        energy = sum(a for _, a, _ in used) / sum(k for _, _, k in used)
        return energy / noise, used[0][0]

    def stopped(self, ratio: float | None, start: float, t_end: float) -> float | None:
        """Start of the still windows that followed clear breathing movement without a gap,
        or None. A run starts at a window under ``OSC_STILL_X`` and lasts while the windows
        stay under ``OSC_BREATHING_X`` (hysteresis: noise around the entry level must not
        flap the channel between a pause and "not measurable")."""
        if ratio is None or ratio >= const.OSC_BREATHING_X:
            self._quiet_from = None
            settled = self._settled >= const.OSC_SETTLED_S
            if ratio is not None and ratio >= const.OSC_SEEN_X and settled:
                self._seen_t = t_end
            return None
        if self._quiet_from is None:
            if ratio >= const.OSC_STILL_X:
                return None
            self._quiet_from = start
        seen = self._seen_t
        if seen is None or self._quiet_from - seen > const.OSC_WINDOW_S:
            return None
        return self._quiet_from
