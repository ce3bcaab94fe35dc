"""Numbers behind the physiology simulator, each with its unit and its reason (pure, no logic).

``detection.md`` is ``shared/reference/detection.md``, the project's physiology and threshold notes.
Where a number is a modelling choice rather than a measured value, the comment says so.
"""

from __future__ import annotations

from typing import Final

# --- Sampling -------------------------------------------------------------------------------

WAVEFORM_FS_HZ: Final = 25.0
"""Default rate of resp and accelerometer: detection.md section 2.7 (internal rate 25 Hz)."""
RADAR_FS_HZ: Final = 20.0
"""Default radar breathing-waveform rate: detection.md section 2.7 (radar waveform 10-20 Hz)."""
VITALS_FS_HZ: Final = 1.0
"""Rate of HR, SpO2, presence, motion and door: oximeters report every 1 s (detection.md 1.2,
Owlet).
"""
TIME_EPS_S: Final = 1e-9
"""Slack when turning a float end time into a sample count, so 10 x 0.1 s equals 1 s."""

# --- Breathing ------------------------------------------------------------------------------

INSP_FRACTION: Final = 0.38
"""Inspiration share of a quiet breath; I:E is about 1:1.5-1:2 at rest (textbook respiratory
physiology).
"""
EXP_FRACTION: Final = 0.47
"""Active expiration share; the rest of the cycle is the end-expiratory pause (modelling choice)."""
BREATH_PERIOD_CV: Final = 0.12
"""Breath-to-breath period variability at rest; quiet-breathing CV is about 10-20 % in adults."""
BREATH_DEPTH_CV: Final = 0.10
"""Breath-to-breath tidal-volume variability at rest, same literature range as the period."""
RATE_WANDER_CV: Final = 0.02
"""Slow drift of the breathing rate around its set value, 2 % (modelling choice, small next to
the breath-to-breath CV so the spectral peak stays within 0.5/min of the set rate)."""
RATE_WANDER_TAU_S: Final = 30.0
"""Correlation time of that drift: half a minute, like the slow waves of resting ventilation."""
PERIOD_MIN_X: Final = 0.3
"""No breath is shorter than 30 % of the nominal period (guard against negative periods)."""
SIGHS_PER_MIN: Final = 0.2
"""Spontaneous sighs: about 12 per hour at rest (sigh physiology reviews), so 0.2 per minute."""
SIGH_DEPTH_X: Final = 2.5
"""A sigh is two to three tidal volumes; 2.5x is the middle of that range."""
POST_SIGH_PAUSE_X: Final = 1.0
"""Post-sigh pause as a multiple of the breath period: a short pause that stays below 10 s."""
SHORT_PAUSE_MAX_S: Final = 8.0
"""Benign pauses are capped below the 10 s AASM apnoea rule (detection.md 1.2) unless forced."""
SLOWED_RATE_BPM: Final = 8.0
"""Label threshold for "slowed": < 8/min is the common hospital cut-off (detection.md 1.2)."""
APNOEA_MIN_S: Final = 10.0
"""A pause is an apnoea interval in the truth once it lasts 10 s: AASM rule (detection.md 1.2)."""
MIN_RATE_BPM: Final = 1.0
"""Lowest rate the generator will draw; below it a breath would last a minute (guard, not
physiology).
"""

# --- Episodes -------------------------------------------------------------------------------

OVERDOSE_FINAL_RATE_BPM: Final = 4.0
"""Rate at the end of a gradual overdose ramp; PRODIGY counts RR <= 5/min (detection.md 1.1)."""
OVERDOSE_FINAL_DEPTH_X: Final = 0.45
"""Tidal volume falls with the rate under opioids; about half at the end is a modelling choice."""
OVERDOSE_FINAL_CV: Final = 0.35
"""Opioid breathing grows irregular (ataxic) before it stops; CV 0.35 at the end (modelling
choice).
"""
NALOXONE_DELAY_S: Final = 60.0
"""Time from naloxone to the first breath; IV acts within about a minute, IM/IN take longer (not
verified).
"""
RECOVERY_S: Final = 120.0
"""Default length of the post-naloxone recovery phase, tachypnoea settling back (modelling choice).
"""
RECOVERY_RATE_X: Final = 1.5
"""Breathing is fast after naloxone (precipitated withdrawal, CO2 washout): 1.5x baseline at first.
"""
RECOVERY_HR_BPM: Final = 25.0
"""Withdrawal tachycardia right after naloxone, decaying over the recovery phase (modelling
choice).
"""
GASP_BREATHS: Final = 3
"""First breaths after a rescue are gasps: a few, then ordinary fast breathing."""
GASP_DEPTH_X: Final = 2.5
"""Gasp depth, like a sigh: two to three tidal volumes."""
GASP_PERIOD_S: Final = 2.5
"""Period of a gasp: quick big breaths, about 24/min."""
RECOVERY_BREATH_DEPTH_X: Final = 1.8
"""The breath after a voluntary breath-hold is deep (modelling choice within the sigh range)."""
BREATH_HOLD_MIN_S: Final = 5.0
"""Shortest breath-hold episode accepted; shorter ones are ordinary pauses."""
BREATH_HOLD_MAX_S: Final = 90.0
"""Longest breath-hold accepted; untrained adults manage 30-90 s on room air."""
TALK_PERIOD_CV: Final = 0.40
"""Speech breathing is irregular: quick inspirations and long, variable phrases (modelling choice).
"""
TALK_INSP_FRACTION: Final = 0.15
"""Speech inspirations are short, about 10-20 % of the cycle (speech-breathing literature)."""
TALK_PAUSE_PROB: Final = 0.12
"""Chance that a speech breath is followed by a pause (listening, thinking)."""
TALK_PAUSE_MAX_S: Final = 6.0
"""Longest such pause, kept under the 10 s apnoea rule so talking is a confounder, not an apnoea."""
SLEEP_RATE_X: Final = 0.88
"""Non-REM sleep breathing is a little slower and very regular (modelling choice)."""
SLEEP_PERIOD_CV: Final = 0.05
"""Non-REM breathing period CV is much lower than awake (modelling choice)."""
SLEEP_SIGHS_PER_MIN: Final = 0.05
"""Sighs are rarer in stable non-REM sleep, a few per hour (modelling choice)."""
SLEEP_PAUSE_PROB: Final = 0.01
"""Brief central pauses in sleep (after a sigh or an arousal): about 7 an hour, all under 8 s,
so a detector must not call them apnoeas (modelling choice)."""
SLEEP_DEPTH_X: Final = 1.1
"""Slightly larger tidal swings in sleep on a chest sensor (modelling choice)."""
SLEEP_HR_BPM: Final = -8.0
"""Heart rate falls several beats per minute in non-REM sleep."""
STILL_DEPTH_X: Final = 0.85
"""Sitting hunched over a phone gives shallower chest excursion (modelling choice)."""
SHALLOW_DEPTH_X: Final = 0.25
"""A hypoventilation episode breathes at a quarter of the usual depth by default: a hypopnoea
(AASM: a >= 30 % drop) well short of an apnoea (a >= 90 % drop) [detection.md 1.2]."""
SHOWER_RATE_X: Final = 1.15
"""Standing in a warm shower raises breathing a little (modelling choice)."""
SWAP_HANDLING_S: Final = 10.0
"""A swapped sensor is off-body for this long while it changes hands (modelling choice)."""
OXIMETER_ACQUIRE_S: Final = 12.0
"""After the sensor goes back on, SpO2/HR read NaN: Owlet start-up 10-15 s (detection.md 1.2)."""
HANDLING_G: Final = 0.35
"""Acceleration of taking a sensor off or putting it on, a brisk hand movement (modelling choice).
"""

# --- Motion ---------------------------------------------------------------------------------

MOTION_PER_MIN_REST: Final = 0.5
"""Fidgets while awake at rest: one every two minutes or so (modelling choice)."""
MOTION_PER_MIN_SLEEP: Final = 0.07
"""Body movements in sleep: a few per hour (actigraphy literature)."""
MOTION_PER_MIN_STILL: Final = 0.1
"""Someone absorbed in a phone barely moves the trunk (modelling choice)."""
MOTION_PER_MIN_TALK: Final = 2.0
"""Gestures while talking (modelling choice)."""
MOTION_PER_MIN_ACTIVE: Final = 20.0
"""Movement episode (walking about, agitation): a burst every few seconds (modelling choice)."""
MOTION_G_REST: Final = 0.08
"""Peak amplitude of a fidget; slow walking has per-second std 0.15-0.23 g (detection.md 2.4)."""
MOTION_G_ACTIVE: Final = 0.25
"""Peak amplitude of an active burst, in the slow-walking range of detection.md 2.4."""
MOTION_AMP_MIN_X: Final = 0.5
"""A burst's peak is uniform between 0.5x and 1.5x the activity's typical amplitude."""
MOTION_MIN_S: Final = 1.0
"""Shortest motion burst."""
MOTION_MAX_S: Final = 4.0
"""Longest motion burst; bursts are windowed so their edges are smooth."""
MOTION_FREQ_MIN_HZ: Final = 0.8
"""Lowest component of a burst: body movements sit around 1-3 Hz."""
MOTION_FREQ_MAX_HZ: Final = 3.0
"""Highest component of a burst."""
MOTION_COMPONENTS: Final = 3
"""Sinusoids per axis in a burst: enough to look irregular, cheap to evaluate."""
MOTION_RESP_X: Final = 1.5
"""Motion artefact on the resp channel per g of movement, in depth units (modelling choice)."""

# --- Accelerometer --------------------------------------------------------------------------

SITTING_RECLINE_RAD: Final = 0.35
"""Trunk reclined about 20 degrees when sitting in a chair (modelling choice)."""
TILT_RAD_PER_DEPTH: Final = 0.012
"""Chest tilt per unit depth: 12 mg at rest, inside the 5-20 mg breathing tilt (detection.md 2.4).
"""
CARDIAC_G: Final = 0.001
"""Seismocardiographic micro-motion on the chest, about 1 mg (detection.md 2.5 uses its absence)."""
ACC_NOISE_G: Final = 0.002
"""Accelerometer white noise per axis; still-lying std|a| is 0.007-0.013 g (detection.md 2.4)."""
TILT_RANGE_G: Final = (0.0005, 0.1)
"""Breathing tilt per depth a sensor may be given: below 0.5 mg nothing is measurable, above
100 mg the chest would be heaving."""
ACC_NOISE_RANGE_G: Final = (0.0, 0.05)
"""Accelerometer noise a sensor may be given, g rms per axis."""
ACC_LSB_RANGE_G: Final = (0.0, 0.05)
"""Quantisation steps a sensor may be given, g."""
NOISE_TAPS_RANGE: Final = (1.0, 8.0)
"""Noise colouring: averaging over 1 (white) to 8 samples."""
POSTURE_TRANSITION_S: Final = 2.0
"""Time to roll over or sit up; the gravity vector turns over this long."""

# --- Respiration channel --------------------------------------------------------------------

RESP_NOISE: Final = 0.02
"""White noise on the resp channel, 2 % of a resting breath (modelling choice)."""
RESP_CARDIAC: Final = 0.015
"""Cardiogenic oscillation on the resp channel, small and above the breathing band."""

# --- Oxygen and heart -----------------------------------------------------------------------

HILL_P50_MMHG: Final = 26.8
"""Oxygen tension at 50 % haemoglobin saturation (standard adult dissociation curve)."""
HILL_N: Final = 2.7
"""Hill coefficient of the dissociation curve (Severinghaus approximation range)."""
PAO2_ROOM_AIR_MAX_MMHG: Final = 105.0
"""Highest resting PaO2 on room air (healthy young adult 90-105 mmHg); higher readings come
from the curve's gain, not from extra oxygen in store, so 99 % does not buy a longer apnoea."""
PAO2_FLOOR_MMHG: Final = 20.0
"""Arterial O2 tends towards mixed-venous tension in prolonged apnoea (modelling choice)."""
PAO2_MAX_RISE_MMHG: Final = 10.0
"""Hyperventilation on room air raises PAO2 only modestly above baseline (alveolar gas equation)."""
HYPOVENT_MMHG: Final = 50.0
"""PAO2 loss per unit of 1/ventilation - 1: PaCO2 40/v over R 0.8 (alveolar gas equation)."""
O2_FALL_TAU_S: Final = 65.0
"""PaO2 fall time constant; with the delay below, SpO2 < 90 % ~1 min after apnoea (detection.md
1.3).
"""
O2_RISE_TAU_S: Final = 8.0
"""PaO2 rises within a few breaths once ventilation returns (modelling choice)."""
VENT_FLOOR: Final = 1e-3
"""Smallest ventilation ratio used, so 1/ventilation stays finite in apnoea (guard)."""
VENT_TAU_S: Final = 5.0
"""Smoothing of ventilation so the pause inside each breath does not count as hypoventilation."""
SPO2_DELAY_S: Final = 15
"""Lung-to-finger circulation plus 2-4 s oximeter averaging (detection.md 1.2), whole seconds."""
SPO2_NOISE_PCT: Final = 0.4
"""Reading noise before rounding to whole percent (pulse oximeters report integers)."""
SPO2_MAX_INPUT_PCT: Final = 99.5
"""Baseline saturations above this map to the same PaO2; the curve is flat there."""
RSA_BPM: Final = 3.0
"""Respiratory sinus arrhythmia, +-3 bpm per unit depth: a young adult's 5-10 bpm swing."""
HR_DRIFT_BPM: Final = 2.0
"""Slow heart-rate wander, standard deviation of a 1 Hz AR(1) process (modelling choice)."""
HR_DRIFT_TAU_S: Final = 60.0
"""Correlation time of the heart-rate wander (modelling choice)."""
HR_NOISE_BPM: Final = 0.5
"""Beat-detection jitter of the reported heart rate."""
HYPOXIC_SPO2_PCT: Final = 85.0
"""Below this saturation the heart slows (hypoxic bradycardia; modelling choice on PRODIGY's 85 %).
"""
HYPOXIC_BPM_PER_PCT: Final = 0.5
"""Heart-rate fall per percent of saturation below the hypoxic threshold (modelling choice)."""
HR_MIN_BPM: Final = 20.0
"""Floor of the simulated heart rate, so the cardiac phase keeps moving (guard)."""

# --- Validation bounds of a subject ---------------------------------------------------------

RATE_RANGE_BPM: Final = (4.0, 40.0)
"""Resting breathing rates a subject may have: bradypnoea to marked tachypnoea."""
DEPTH_RANGE: Final = (0.2, 3.0)
"""Relative tidal volume, 1.0 = a typical resting breath (about 0.5 L)."""
HR_RANGE_BPM: Final = (30.0, 200.0)
"""Resting heart rates a subject may have: athletes to tachycardia."""
SPO2_RANGE_PCT: Final = (80.0, 100.0)
"""Baseline saturations accepted; below 80 % the subject is already in trouble."""

# --- Off-body -------------------------------------------------------------------------------

OFF_BODY_GRAVITY_G: Final = (0.03, -0.02, 0.9993)
"""A sensor left on a table reads ~1 g, slightly tilted (tables are rarely level), never exactly
supine.
"""
HANDLING_S: Final = 2.0
"""Taking the sensor off or putting it on moves it for about two seconds (modelling choice)."""
HANDLING_FREQS_HZ: Final = (1.3, 1.9, 2.3)
"""Per-axis frequencies of the handling movement, in the 1-3 Hz band of body movement."""

# --- Room radar and door --------------------------------------------------------------------

RADAR_MM_PER_DEPTH: Final = 5.0
"""Chest-wall displacement of a resting breath seen by radar: 4-12 mm is typical (modelling
choice).
"""
RADAR_NOISE_MM: Final = 0.25
"""Phase noise of the radar breathing waveform, a few percent of a breath (modelling choice)."""
RADAR_MOTION_MM_PER_G: Final = 40.0
"""Body movement swamps the breathing waveform: tens of mm per g of trunk motion (modelling
choice).
"""
SHOWER_NOISE_MM: Final = 6.0
"""Falling water is broadband clutter larger than a breath, so the radar cannot see breathing."""
RADAR_ABSENT_HOLD_S: Final = 5.0
"""Presence lingers after the person leaves: LD2410's default "no-one duration" is 5 s."""
MOTION_ENERGY_PER_G: Final = 250.0
"""Radar moving-target energy (0-100 scale, as LD2410 reports) per g of trunk movement."""
STILL_ENERGY: Final = 3.0
"""Moving energy of a still, breathing person: breathing alone barely registers as motion."""
SHOWER_ENERGY: Final = 60.0
"""Moving energy from running water and a person washing: high and steady (modelling choice)."""
ENERGY_NOISE: Final = 1.5
"""Per-second jitter of the reported energy."""
ENERGY_MAX: Final = 100.0
"""LD2410 energies are percentages."""
ENERGY_SUBSAMPLES: Final = 10
"""Movement is probed this many times per second to compute the 1 Hz energy."""
DOOR_OPEN_S: Final = 3.0
"""The door stays open this long when someone walks through (modelling choice)."""
