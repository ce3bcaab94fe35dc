"""The breath tracker's output: what one second of a respiration signal says (pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BreathSecond:
    """What one second of respiration signal says about breathing.

    Attributes:
        good: the second was usable (data present, no motion or artefact, baseline known).
        breaths: breaths confirmed in this second.
        strong_breaths: of those, breaths that reached the recovery amplitude.
        last_breath_s: time of the most recent breath's peak, or None.
        quiet_since_s: start of the current stretch of good signal without respiratory movement
            (the last confirmed peak or trough), or None while the signal is not good.
        rate_bpm: breath-by-breath rate (60 / median of recent intervals), or None.
        count_rate_bpm: breaths counted in the rate window scaled to a minute, or None if the
            window is not covered well enough by good signal.
        amplitude: current baseline breath amplitude (peak to trough) in signal units, or None.
        noisy: the baseline breath is too close to the noise floor for the channel to be
            trusted either way ("breathing not measurable").
        window_rate_bpm: 60 / median interval of the breaths in the rate window (at least
            ``RD_MIN_BREATHS`` of them), or None: slowed breathing, unlike an apnoea, keeps
            breathing at long intervals.
        noise: noise standard deviation in the breathing band (signal units), or None.
        floor: smallest swing that can count as a breath (signal units).
        ripple: peak-to-peak of the fast (cardiac) ripple that the trigger stays above
            (``RIPPLE_X`` times it, up to the normal hysteresis), or None without the guard.
        interruptions: times the rate window's good signal was cut by movement or a gap;
            each may have hidden a breath, and no interval spanning one is in the rates.
        osc_ratio: energy along the breathing axis over the last ``OSC_WINDOW_S`` seconds
            over the noise energy across it (accelerometer), or None: at
            ``OSC_BREATHING_X`` or more the chest is still moving with breathing, however
            small each breath.
        uncounted_s: the last time (end of the second) the oscillation check saw breathing
            movement the trigger had not counted, or None: breaths are being missed, so a low
            count then says nothing about the rate.
    """

    good: bool
    breaths: int
    strong_breaths: int
    last_breath_s: float | None
    quiet_since_s: float | None
    rate_bpm: float | None
    count_rate_bpm: float | None
    amplitude: float | None
    noisy: bool = False
    window_rate_bpm: float | None = None
    noise: float | None = None
    floor: float = 0.0
    ripple: float | None = None
    interruptions: int = 0
    osc_ratio: float | None = None
    uncounted_s: float | None = None

    @property
    def snr(self) -> float | None:
        """Baseline breath over the in-band noise standard deviation, or None."""
        if self.amplitude is None or not self.noise:
            return None
        return self.amplitude / self.noise
