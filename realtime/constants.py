"""Every tunable constant of the live recognizer, in one place, each with its unit.

The segmenter works on fixed frames of :data:`FRAME_MS` at the bundle's sample
rate, whatever the size of the incoming audio blocks, so its decisions do not
depend on the capture block size. Thresholds are in dB relative to the adaptive
noise floor (``*_DB``) or absolute, in dB relative to full scale (``*_DBFS``).
Segmenter values were checked on FSDD with the shipped bundle: ``recognize`` on the
300 official-test files matches classifying the trainer's own windows (0.993), and
the 3,000 recordings played as one stream, 300 ms apart, give 3,004 decisions
(2,987 right, in order); hangovers of 100 to 200 ms split them alike.
"""
from __future__ import annotations

# --- decision -------------------------------------------------------------
#: Default ``--threshold``: a window whose top probability is below it is a rejection (``?``).
DEFAULT_THRESHOLD = 0.5

# --- segmenter: analysis frames -------------------------------------------
#: Hop (and length) of the energy frames of the speech detector (ms).
FRAME_MS = 10.0

# --- segmenter: adaptive noise floor --------------------------------------
#: The noise floor never goes below this level (dBFS): digital silence is not a floor.
MIN_NOISE_FLOOR_DBFS = -70.0
#: The floor follows a quieter frame with this exponential time constant (ms): falls fast.
NOISE_FLOOR_FALL_TIME_CONSTANT_MS = 40.0
#: The floor climbs towards a louder frame at most this fast (dB/s): speech barely moves it.
NOISE_FLOOR_RISE_DB_PER_S = 4.0
#: Climb rate once a "speech" segment has lasted longer than :data:`MAX_SPEECH_MS` (dB/s):
#: a steady noise that started abruptly becomes the new floor within a few seconds.
NOISE_FLOOR_RISE_IN_NOISE_DB_PER_S = 30.0
#: The floor is also at least this percentile of the frame levels of the last
#: :data:`NOISE_FLOOR_HISTORY_MS`, speech included: in babble or other fluctuating noise the
#: fast-falling tracker sits in the dips between syllables and every burst would start an
#: "utterance"; a low percentile over seconds follows the noise's body instead. Speech rarely
#: fills more than 80 % of 3 s, so the percentile stays in the pauses of clean speech.
NOISE_FLOOR_HISTORY_PERCENTILE = 35.0
#: ... over this much of the most recent audio (ms); it needs half of it before it counts.
NOISE_FLOOR_HISTORY_MS = 3000.0
#: Live input: the first frames only estimate the floor (no onset can happen) (ms).
WARMUP_MS = 300.0
#: Percentile of the frame levels (over the warm-up, or over a file) taken as the initial floor.
INITIAL_FLOOR_PERCENTILE = 10.0

# --- segmenter: speech detection ------------------------------------------
#: A frame this far above the floor starts an utterance (dB).
ONSET_DB = 12.0
#: A frame this far above the floor keeps an utterance going (counts as active speech) (dB).
OFFSET_DB = 6.0
#: At an onset, the utterance start moves back over active frames (above OFFSET_DB) up to this far (ms):
#: the burst and aspiration of a plosive ("two") often stay below ONSET_DB.
ONSET_LOOKBACK_MS = 200.0
#: ... crossing gaps of inactive frames of at most this length (ms).
ONSET_LOOKBACK_GAP_MS = 20.0
#: An utterance ends after this much time with no active frame (ms). Below 300 ms, so that
#: digits separated by a pause of 300 ms or more come out separately.
HANGOVER_MS = 150.0
#: Utterances with less active speech than this are clicks or bumps: no decision (ms).
MIN_SPEECH_MS = 100.0
#: "Speech" longer than this (onset to last active frame) is steady noise, music or talk,
#: not a digit: no decision (ms).
MAX_SPEECH_MS = 1500.0
#: With a digit-string model: utterances up to this long (ms of speech) are kept and read whole
#: (issue 27: strings of up to 8 s), instead of being dropped over :data:`MAX_SPEECH_MS`.
STRING_MAX_SPEECH_MS = 7800.0
#: With a digit-string model: utterances with more speech than this (ms) are read by it; shorter
#: ones go to the 0.8 s window classifier, which holds one digit (bundles record their own).
STRING_MIN_SPEECH_MS = 800.0
#: A digit on top of an utterance with less speech than this (speech start to the end of the last
#: active frame, ms), per digit, is not accepted: it becomes ``_unknown_``. Syllables that the
#: segmenter cuts out of running speech were most of the false digits in read passages (median
#: 0.15-0.19 s); spoken digits are longer, but not all alike: the voiced core of "six" is short
#: (its fricatives often stay under the onset level), "zero" and "nine" are long. The rule, per
#: digit: the 1st percentile of the speech length of the non-test clean digits of people's voices
#: through this segmenter (FSDD train and Speech Commands digits of non-test speakers: 2,776 clips,
#: each in 0.5 s of silence and as the file it is), rounded down to 10 ms. Synthetic voices are left
#: out of the rule: they say digits more slowly ("six": 320 ms against FSDD's 100 ms), and a first
#: gate that counted them cost 3 points on the FSDD test files. ``python -m trainer.benchmarks.spans
#: --synth-dir data/synth`` prints the table and this line. ``--min-digit-speech-ms MS`` sets one
#: value for every digit (0 turns the gate off).
MIN_DIGIT_SPEECH_MS: dict[str, float] = {"0": 260.0, "1": 190.0, "2": 150.0, "3": 170.0, "4": 190.0, "5": 230.0,
                                         "6": 100.0, "7": 210.0, "8": 150.0, "9": 260.0}
#: ... except in a steady noise (:attr:`realtime.segmenter.Utterance.in_steady_noise`): there the
#: floor rises into the digit, its weak edges fall under the offset level, and the segmenter
#: measures less speech than was said (at 10 dB SNR in recorded noise the gate rejected 11 % of the
#: FSDD test digits). Running speech, the gate's reason, is not steady: its pauses spread the
#: levels of the last seconds. Designed without the held-out sets (validation voices and speakers,
#: FSDD training recordings 45-49, training-split noise recordings, the validation readings of
#: ``data synth --passages``), with the
#: shipped bundle at its threshold: the 25th - 10th percentile of the floor history's frame levels
#: was 0.4-3.5 dB (5th-95th percentile) around the digits in steady noise, 4.7-12 dB in babble,
#: 6.8-85 dB in read passages; at 3 dB the gate's release kept 9.7 more points of the validation
#: digits at noise 10 dB (0.831 -> 0.928) and 12.6 at 5 dB, and the same false digits in every
#: validation stream and clip set. The peak limit keeps the gate for speech far above a steady hum
#: (a quiet room's fan), where the edges stay above the floor: digits at 10 dB SNR peak 15-29 dB
#: over it (5th-95th percentile). ``python -m trainer.benchmarks.gate --synth-dir data/synth`` prints the
#: validation table of both limits.
STEADY_NOISE_MAX_SPREAD_DB = 3.0
#: ... and the utterance's loudest frame is less than this far above the noise floor (dB).
STEADY_NOISE_MAX_PEAK_OVER_FLOOR_DB = 25.0
#: How the digit length gate is applied; recorded with ``robustness``/``far --record`` summaries.
#: 1: to every utterance; 2: not in a steady noise (:attr:`realtime.segmenter.Utterance.in_steady_noise`).
DIGIT_GATE_VERSION = 2
#: The window starts this long before the first active frame (ms).
PRE_ROLL_MS = 20.0
#: The window keeps this much audio after the last active frame, if it fits (ms).
POST_ROLL_MS = 100.0
#: How the segmenter places an utterance's window; part of the trainer's cache keys (the deploy
#: protocol cuts its training windows with this segmenter). 1: the first 0.8 s of the utterance;
#: 2: the same, but the loudest 0.8 s of an utterance longer than the window.
SEGMENTER_WINDOW_VERSION = 2

# --- files (``recognize``) --------------------------------------------------
#: The initial floor of a file is estimated over at most its first seconds (s).
FILE_FLOOR_ESTIMATE_S = 5.0
#: A file shorter than this holds one trimmed utterance (FSDD clips: 0.14-0.92 s for 99 %) and
#: no noise to measure (s) ...
TRIMMED_FILE_MAX_S = 1.0
#: ... so its initial floor is at least this far below its loudest frame (dB).
FILE_FLOOR_BELOW_PEAK_DB = 30.0

# --- capture (``listen``) -----------------------------------------------------
#: Audio is requested from the device in blocks of this duration (ms).
CAPTURE_BLOCK_MS = 20.0
#: The capture queue holds at most this much audio; beyond, blocks are dropped and counted (s).
CAPTURE_QUEUE_S = 2.0
#: No block from the device for this long means the audio server or the device went away (s).
#: Not shorter: a PulseAudio server starved of CPU paused for more than 3 s on this 2-core VM under
#: a load of 8 (two trainings beside the tests), and that is not a missing device.
CAPTURE_STALL_TIMEOUT_S = 10.0
#: Closing the capture stream waits this long for the callback to end it (s); then it aborts it.
CAPTURE_CLOSE_WAIT_S = 2.0
#: Display refresh rate (Hz).
DISPLAY_REFRESH_HZ = 12.0
#: Level meter range (dBFS .. 0 dBFS).
METER_FLOOR_DBFS = -80.0
#: Digits kept in the displayed history.
HISTORY_LENGTH = 20
