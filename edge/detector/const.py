"""Default detector parameters, each with its unit and the reason for its value (pure).

Sources are cited by the short names used in ``shared/reference/detection.md`` (section numbers
in brackets). :class:`edge.detector.settings.DetectorSettings` takes its defaults from here.
"""

from __future__ import annotations

from typing import Final

# --- Signal conditioning -------------------------------------------------------------------------
INTERNAL_FS_HZ: Final = 25.0
"""Respiration channels are decimated towards this rate: breathing is < 1 Hz, and 25 Hz is the
internal rate recommended for respiration-like channels [2.7]; it keeps CPU low on a Pi."""
RESP_BAND_LOW_HZ: Final = 0.05
"""Band-pass low edge: 0.05 Hz keeps breathing down to 3/min, as needed to see slowed breathing
[2.3 step 1: "for RR >= 3 bpm use a 0.05 Hz low cut"]."""
RESP_BAND_HIGH_HZ: Final = 1.0
"""Band-pass high edge: 1 Hz = 60 breaths/min, above any resting rate [2.3, 2.7]."""
ACC_BAND_HIGH_HZ: Final = 0.6
"""The chest accelerometer's band stops at 0.6 Hz (36 breaths/min, -3 dB; resting rates are
12-20/min and the detector looks for slowed breathing), not 1 Hz: its breathing signal is a few
mg against white sensor noise, whose in-band part falls with the bandwidth (0.22 instead of 0.29
of the per-axis noise at 25 Hz), and the 1-1.3 Hz cardiac micro-motion is kept out. Noise then
passes the 7-sigma breath floor 0.08 times a minute instead of 0.18. Chosen on the tuning
split."""
FILTER_ORDER: Final = 2
"""Butterworth low-pass order: second order keeps the group delay at breathing rates to about
1-2 s [2.7]. The high-pass edge is first order (see ``filters.design_bandpass``)."""
ANTI_ALIAS_FRACTION: Final = 0.4
"""Anti-alias cut-off before decimating, as a fraction of the internal rate: 10 Hz at 25 Hz,
below its 12.5 Hz Nyquist."""

NOISE_BAND_LOW_HZ: Final = 2.0
"""Above 2 Hz a respiration channel holds no breathing (and little cardiac power): what is there
is sensor noise, used to set the smallest swing that can count as a breath."""
NOISE_SWING_K: Final = 7.0
"""A breath must swing >= 7 noise standard deviations (in the breathing band): band-limited
Gaussian noise swings that far peak to trough only rarely, and a false breath needs two such
swings in a row (a rise, then a fall)."""
MIN_SNR: Final = 2.5
"""A channel can tell apnoea from shallow breathing only if a breath well under half its
baseline would still clear the smallest believable swing: a baseline under 2.5x that swing is
"breathing not measurable", which claims neither breathing nor its absence (otherwise breathing
that fell below the noise floor would be paged as apnoea). Chosen on the tuning split."""
ACC_MIN_SNR: Final = 1.75
"""The chest accelerometer's ``MIN_SNR``: its floor is the measured in-band noise across the
breathing axis, so a baseline breath 1.75 floors (about 12 noise standard deviations) clears it
with margin; 2.5 made most 5-15 mg breathers (the usual resting tilt) "not measurable" although
their breaths stand 10-20 noise standard deviations clear. Shallow breaths under the floor are
then not told from apnoea; noise posing as breaths is caught by ``CLEAR_BREATH_X`` instead.
Chosen on the tuning split."""
CLEAR_BREATH_X: Final = 1.3
"""Accelerometer: a channel whose only swings for a pause's length (``PAUSE_S``) stayed under
1.3 floors is "not measurable": that is what a marginal channel shows when breathing stops (noise
swings just past the floor of 7 noise standard deviations), and those swings would otherwise keep
resetting the pause clock (an apnoea with no event at all). Chosen on the tuning split."""
NOISY_EXIT_X: Final = 1.25
"""Hysteresis: a not-measurable channel is measurable again only at 1.25x the entry ratio, so a
channel near the boundary does not flap between warning and recovered."""
NOISY_WARN_S: Final = 10.0
"""Breathing that sank into the noise floor is reported as not measurable after 10 s (the AASM
pause length [1.2]), sooner than an apnoea would be called (15 s), so an apnoea hidden by noise
is never silent. Other signal loss waits ``no_signal_s``."""
NO_SIGNAL_CLEAR_S: Final = 60.0
"""A standing "no signal" or "not measurable" warning clears only after a minute of usable signal
(recovered from when it became usable): a channel flickering at its noise floor is one warning
for staff, not one per flicker. It never holds back an apnoea call, which reads the channel."""
SETTLED_X: Final = 0.5
"""An accelerometer second has settled after movement when its movement is under half the
gross-motion threshold (10 mg; sensor noise of 3 mg rms reads about 5 mg): only then are the
filters restarted and the breathing axis learnt, so a movement's tail never steers the axis."""
POSTURE_CHANGE_RAD: Final = 0.15
"""A still second whose mean acceleration turned by more than 0.15 rad (about 150 mg) from the
previous still second is a new posture: breathing tilts the chest by only 2-40 mg [2.4 note]."""
AXIS_LEARN_X: Final = 2.0
"""Accelerometer: a second teaches the breathing axis only if its energy along the axis is at
least twice the noise energy per direction across it (or while the axis is new): during a pause
the axis stays where breathing put it instead of turning towards the noise's largest direction."""
OSC_LOW_HZ: Final = 0.15
"""Accelerometer: the oscillation check sees the breathing band above 0.15 Hz (9/min; second
order), so the slow decay of the filters after the last breath, which is below it, does not read
as movement while breathing has stopped."""
OSC_HIGH_HZ: Final = 0.5
"""...and below 0.5 Hz (30/min; second order, on top of the breathing band's 0.6 Hz): the chest's
seismocardiographic micro-motion (about 1 mg at the heart rate, 0.8 Hz and up) stays out, and
with it a beating heart's energy during an apnoea."""
OSC_WINDOW_S: Final = 10
"""Seconds of signal over which the oscillation check compares energy along the breathing axis
with the noise across it: two to three resting breaths."""
OSC_AFTER_S: Final = 8.0
"""...counting only seconds that start 8 s or more after the trigger's last confirmed peak or
trough: what the trigger has counted needs no second opinion, and the filters' decay after a
breath (3 s was not enough on a 15-40 mg breather) is over by then."""
OSC_MIN_S: Final = 5
"""...and only once there are at least 5 such seconds."""
OSC_STILL_X: Final = 1.5
"""...and under 1.5x is a still chest. A channel too noisy to count breaths one by one ("not
measurable") whose chest showed breathing movement and then went still, with no window between,
runs an apnoea clock from the first still window: the movement it could see has stopped."""
OSC_SEEN_X: Final = 8.0
"""...provided the movement before was clear: 8x the noise energy or more, so that going still
means its energy fell by more than nine tenths, not that shallow breathing sank into the noise.
Chosen on the tuning split (10 missed more apnoeas on noisy sensors, 6 paged noise)."""
OSC_SETTLED_S: Final = 30
"""...and seen after 30 s of usable signal since the last movement or gap: what the chest does
just after moving (settling, a few deep breaths) says nothing about how well its breathing can be
seen, and breathing often goes on shallower then (issue 12, failure mode 1)."""
OSC_BREATHING_X: Final = 3.0
"""Accelerometer: energy along the breathing axis (above ``OSC_LOW_HZ``, over ``OSC_WINDOW_S``)
at 3x or more the noise energy measured across it is breathing movement, even when no single
swing clears the breath floor (shallow breathing at 20-30 % of before, 3-4 noise standard
deviations peak to trough, after movement). Band-limited noise alone reaches it in well under 1 %
of windows, so a real apnoea is not held back. Chosen on the tuning split."""
TYPICAL_BREATH_HZ: Final = 0.25
"""15 breaths/min, where the filters' group delay is evaluated to time-stamp filtered samples."""

# --- Breath detection ----------------------------------------------------------------------------
REL_AMP: Final = 0.25
"""A breath counts when its peak-to-trough swing is >= this fraction of the baseline amplitude;
0.2-0.3 recommended, 0.25 used in the prototype that found 20/20 injected apnoeas [2.3]."""
LONG_BREATHS: Final = 60
"""Long-term amplitude reference: the median of the last 60 breaths (several minutes), which a
gradual overdose's shrinking breaths cannot drag down as fast as the 15-breath baseline."""
LONG_FLOOR: Final = 0.1
"""A swing under 10 % of the long-term breath amplitude is never a breath: AASM scores an apnoea
at a >= 90 % drop in airflow [1.2], so this is the residual an apnoea may still show."""
ARTEFACT_X: Final = 3.0
"""A swing more than 3x the long-term breath amplitude (a movement artefact) counts as movement
but stays out of the baseline, and enters the long-term history as 3x: a run of artefacts cannot
lift the baseline, and only minutes of deeper breathing move the long-term reference (a sigh is
2-3 tidal volumes, so sighs still count)."""
FAST_BREATHS: Final = 3
"""The baseline is never more than FAST_X times the median of the last three breaths: three
breaths (10-20 s) is how quickly it must follow breathing that became shallow."""
FAST_X: Final = 2.0
"""With breaths at 20-30 % of before, 2x their median puts the hysteresis (``rel_amp`` x
baseline) at 10-15 % of before: they are counted again after three of them."""
SHALLOW_FLOOR: Final = 0.1
"""After the relax time without a confirmed extreme, a swing of 10 % of the baseline counts:
AASM scores an apnoea only at a >= 90 % drop [1.2], so anything larger is (shallow) breathing."""
CARDIAC_LOW_HZ: Final = 1.0
"""Cardiogenic oscillation rides on a respiration signal at the heart rate, 1 Hz (60/min) or
more at rest; the band-pass (1 Hz, second order) lets it through at half or more of its size.
Its peak-to-peak is read from each second's second difference as if it were at 1 Hz, which
over-reads a faster heart (the safe side) and reads breathing at 15/min as ~6 % of its swing."""
RIPPLE_X: Final = 1.25
"""The trigger's hysteresis stays 1.25x above that ripple's peak-to-peak, whatever the relax:
during a pause a relaxed trigger (10 % of the baseline) would otherwise count a heartbeat's
ripple, larger than that on some belts, as breaths at 60-90/min, and the baseline would follow
them down into "not measurable" instead of an apnoea call."""
RELAX_MIN_S: Final = 4.0
"""The trigger relaxes after 4 s without a confirmed peak or trough: a resting half-breath
(peak to trough) lasts 1.5-2.5 s at 12-20/min, so normal breathing never reaches it."""
RELAX_HALF_X: Final = 1.5
"""...or after 1.5 typical half-breaths (the median time between the last confirmed peaks and
troughs) when breathing is slow, so slow breaths are not split at cardiac ripple."""
RELAX_RAMP_S: Final = 4.0
"""The relaxed hysteresis is reached over 4 s (a linear ramp), not at once: a slow breath's long
slope is not cut at a wiggle just after the relax time."""
RELAX_MAX_S: Final = 7.0
"""...but never later than 7 s, so that (with the ramp) breaths at 20 % of the baseline are
counted about 10 s into a pause, before the 15 s apnoea threshold."""
BOOT_WINDOW_S: Final = 4
"""The first baseline is the median peak-to-trough range of 4 s windows over ``bootstrap_s``: a
whole breath at 15/min or faster, and robust to a second of handling at the start."""
BASELINE_BREATHS: Final = 15
"""Baseline amplitude = median of this many recent breaths (about a minute) [2.3 step 3]."""
BOOTSTRAP_S: Final = 10.0
"""Seconds of good signal used to seed the baseline amplitude before any breath is accepted:
at least two breaths even at 12/min."""
RATE_BREATHS: Final = 5
"""Breath-by-breath rate = 60 / median of the last five inter-breath intervals [2.7]."""
RATE_WINDOW_S: Final = 60.0
"""Rate window for respiratory depression: 60 s holds six breaths even at 6/min [2.2]."""
RECOVERY_BREATHS: Final = 3
"""An apnoea clears only after this many breaths at >= RECOVERY_AMP of baseline [2.6]."""
RECOVERY_AMP: Final = 0.5
"""Fraction of the baseline amplitude a recovery breath must reach [2.3 step 5, 2.6]."""
RECOVERY_MOVING_S: Final = 5
"""An apnoea also clears after 5 s in a row of clear breathing movement on the accelerometer's
oscillation check (``OSC_SEEN_X``, over its 10 s window: about 15 s of breathing), for a chest
whose breaths are too small against its noise to be counted as three strong breaths."""
MIN_ACC_BREATH_G: Final = 0.0005
"""Smallest chest-accelerometer breath swing believed (0.5 mg): breathing tilt is 5-20 mg, a
MEMS accelerometer's noise is about 1 mg rms, so a baseline below this is noise [2.4 note]."""

# --- Apnoea --------------------------------------------------------------------------------------
APNOEA_WEARABLE_S: Final = 15.0
"""No breath for 15 s on a wearable: the UW injector's trigger (Chan 2021) and the alarm tier in
[2.6]; leaves the budget to reach a responder in ~25 s, before SpO2 < 90 % at ~60 s [1.3]."""
APNOEA_RADAR_S: Final = 20.0
"""Radar alone is noisier (subject can leave the beam), so it waits 20 s [2.3 step 5, 2.6]."""
PAUSE_S: Final = 10.0
"""A breathing pause worth noting (AASM apnoea >= 10 s) [1.2]: a second channel that has been
quiet this long agrees with an apnoea call (reported as ``agreement``)."""
GROSS_MOTION_G: Final = 0.02
"""Per-second std of |a| above 0.02 g is gross motion: breath detection is void then [2.3, 2.7];
quiet sitting has a median of 0.014 g, slow walking 0.15-0.23 g (SisFall) [3]."""

# --- Respiratory depression ----------------------------------------------------------------------
RD_WARNING_BPM: Final = 8.0
"""Alert tier: RR <= 8/min over 60 s; < 8 is the common hospital cut-off [1.2]."""
RD_CRITICAL_BPM: Final = 6.0
"""Alarm tier: RR <= 6/min over 60 s [1.2 recommendation, 2.6]."""
SPECTRAL_TRUST: Final = 0.5
"""The spectral rate is trusted when at least half of the breathing band's power sits in its
peak: regular breathing. A clear peak above the slowed-breathing threshold then vetoes a
slowed-breathing call made from counting (missed shallow breaths) [2.2, Karlen 2013]."""
SPECTRAL_MARGIN_BPM: Final = 2.0
"""The spectral peak must be this far above the warning rate to veto: one bin of a 60 s window
is 1 breath/min, so 2/min is beyond resolution and jitter."""
RD_CLEAR_MARGIN_BPM: Final = 4.0
"""Hysteresis: slowed breathing clears only at warning + 4/min (12/min by default, a normal
resting rate [2.6]) and only once the spectrum no longer shows a clear peak at <= 8/min; the
spectral path raises only while the count is under it, so breathing whose count is normal
(shallow breathing after an artefact, whose step leaves low-frequency power) never raises it."""
RD_MIN_HOLD_S: Final = 60.0
"""A slowed-breathing alert stands for at least one rate window (60 s) before it may clear,
so one slowed stretch raises one alert and not a flapping series."""
RD_MIN_BREATHS: Final = 4
"""Slowed breathing needs at least four breaths (three intervals) in the 60 s window, so that
one long pause among them (an apnoea that has just ended) cannot be the median interval; 6-7/min
gives six or seven, and fewer than four a minute is an apnoea, which the apnoea rule reports."""
RD_MIN_COVERAGE: Final = 0.9
"""Fraction of the 60 s rate window that must be good signal for a rate to be believed."""

# --- Desaturation --------------------------------------------------------------------------------
SPO2_WARNING_PCT: Final = 90.0
"""Hypoxaemia is SpO2 < 90 % (PaO2 ~ 60 mmHg) [1.2]."""
SPO2_CRITICAL_PCT: Final = 85.0
"""SpO2 <= 85 % is PRODIGY's respiratory-depression criterion [1.1, 2.6]."""
SPO2_HOLD_S: Final = 15.0
"""Low SpO2 must last 15 s: oximeters average 2-16 s and glitch briefly [1.2, 2.7]."""
SPO2_MIN_VALID_PCT: Final = 50.0
"""Readings below 50 % are treated as artefact: oximeters are unreliable below ~70 % and a
reading that low on a wrist sensor is almost always low perfusion or motion [1.2]."""
SPO2_DROP_PCT: Final = 4.0
"""A fall of >= 4 points from the personal baseline corroborates a respiratory event [2.7]."""

# --- Stillness and occupancy ---------------------------------------------------------------------
STILLNESS_G: Final = 0.015
"""Per-second std of |a| below 0.015 g is "still": lying after a fall measures 0.007-0.013 g
(SisFall) [2.4]."""
STILLNESS_S: Final = 60.0
"""Stillness counts once sustained for 60 s [2.4, 2.7]."""
STILLNESS_CONTEXT_S: Final = 600.0
"""Stillness within 10 min of a door event is worth a warning (SIF/Brave logic) [2.6 WATCH]."""
RADAR_MOTION_THRESHOLD: Final = 15.0
"""Radar motion above this counts as gross motion. On the LD2410's 0-100 moving-target energy a
still, breathing person reads about 3 and trunk movement adds roughly 250 per g, so 15 is about
0.05 g of movement; a device that reports a 0/1 flag should set 0.5."""
OCCUPANCY_S: Final = 1200.0
"""Prolonged occupancy of a room: 20 minutes (Brave uses a set occupancy time; the issue's
default) [1.1]."""
VACANCY_S: Final = 10.0
"""Presence must be absent this long before an occupancy ends (radar presence flickers)."""

# --- Signal availability -------------------------------------------------------------------------
NO_SIGNAL_S: Final = 30.0
"""A wearable or radar without usable signal this long raises ``no_signal``: longer than a BLE
reconnect, short enough that a removed sensor cannot hide an overdose for long [2.5, 2.6]."""
GAP_S: Final = 2.0
"""A packet gap over 2 s is "no data" and restarts the channel's filters [2.5]."""
MIN_COVERAGE: Final = 0.8
"""A second is usable when at least 80 % of its samples are present."""
MAX_CHANNEL_LAG_S: Final = 10.0
"""A silent channel stops holding back decisions once other channels are this far ahead."""
ACC_FULL_SCALE_G: Final = 8.0
"""Accelerometer full scale (+-8 g, a common wearable setting)."""
CLIP_FRACTION: Final = 0.99
"""A sample at 99 % of full scale is clipped: the sensor saturated and its breathing is lost."""
FLAG_ON: Final = 0.5
"""Presence and door channels are 1.0 / 0.0 flags; at or above one half counts as on."""
FS_TOLERANCE: Final = 0.01
"""Block rates within 1 % of a stream's rate are the same rate (a link may derive the rate from
timestamps); a larger change restarts the stream's filters."""
JITTER_SAMPLES: Final = 0.5
"""Block start times within half a sample of the expected one are the same timeline (clock
jitter), beyond it samples are missing (padded) or repeated (dropped)."""
BASELINE_PERIOD_S: Final = 300.0
"""The personal SpO2 baseline is taken over the first 5 minutes [2.7 "personal 5 min baseline"];
the breath-amplitude baseline is the running median of recent breaths (``baseline_breaths``)."""
