"""Digit strings: digits said in a row, without pauses (PINs, phone numbers, codes).

Material of the digit-string (CTC) model of issue 27:

- :func:`digits_of_transcript` turns a transcript such as ``"ZERO THREE FIVE ONE"`` (speechocean762's
  ``text``) into the digit string ``"0351"``; "oh" is zero, as people read phone numbers.
- :func:`plan_strings` picks, for each string to assemble, isolated digit clips of one speaker of one
  split (the speaker's own digits where the speaker has enough of them), so that a string never
  mixes training and held-out voices.
- :func:`assemble_string` joins the clips, each trimmed to its speech (``librosa.effects.trim``), with
  natural gaps: from -80 ms (the next digit starts before the last one ends; the overlap is
  cross-faded with equal-power ramps) to +300 ms, a level jitter per digit, and a lead and tail of
  silence. It returns the audio and the span of every digit, the targets (and timing references) of a
  CTC model.

The gap range follows the issue: connected digits in TIDIGITS-style recordings are separated by
coarticulation or short pauses (Leonard 1984, "A database for speaker-independent digit
recognition", ICASSP), not by the 0.3 s or more that the isolated-digit recognizer needs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..config import LABELS
from .corpus import DIGIT_WORDS, CorpusClip

#: Spoken forms of the digits, word -> digit character; "oh" is zero.
SPOKEN_DIGITS: dict[str, str] = {**{w: str(i) for i, w in enumerate(DIGIT_WORDS)}, "oh": "0"}

#: Gap between one digit's speech and the next (ms): negative = overlap (issue 27: -80..+300 ms).
GAP_MS = (-80.0, 300.0)
#: Level change of each digit against the string (dB, uniform +-).
LEVEL_JITTER_DB = 3.0
#: Silence before the first and after the last digit (s, uniform in the range).
LEAD_S = (0.1, 0.4)
#: ``librosa.effects.trim`` threshold (dB below the clip's peak) that finds a clip's speech.
TRIM_TOP_DB = 30.0


def digits_of_transcript(text: str) -> str:
    """The digit string a transcript says.

    Parameters
    ----------
    text : str
        Words separated by spaces, any case (speechocean762 ``text``: ``"ZERO THREE FIVE ONE"``).
        Digit words and "oh" (zero) only; punctuation around words is ignored.

    Returns
    -------
    digits : str
        ``"0"``-``"9"`` characters, one per word (``"0351"``).

    Raises
    ------
    ValueError
        If the transcript is empty or holds a word that is not a digit.
    """
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        raise ValueError(f"transcript {text!r} holds no word")
    bad = [w for w in words if w not in SPOKEN_DIGITS]
    if bad:
        raise ValueError(f"transcript {text!r}: {', '.join(repr(w) for w in bad)} not a digit word")
    return "".join(SPOKEN_DIGITS[w] for w in words)


@dataclass(frozen=True)
class StringPlan:
    """The clips of one string to assemble.

    Attributes
    ----------
    digits : str
        The string (``"4172"``).
    clips : tuple of CorpusClip
        One isolated digit clip per character, in order.
    speaker : str
        The speaker of every clip, or ``"mixed"`` when the speaker had too few of the digits.
    split : str
        The split of every clip.
    """

    digits: str
    clips: tuple[CorpusClip, ...]
    speaker: str
    split: str


def plan_strings(rows: Sequence[CorpusClip], n_strings: int, *, rng: np.random.Generator,
                 length: tuple[int, int] = (2, 7), min_distinct: int = 3) -> list[StringPlan]:
    """Choose the clips of ``n_strings`` strings, each from one split of ``rows``.

    A string is drawn from one speaker's digit clips when that speaker has at least
    ``min_distinct`` different digits (FSDD: every digit; most Speech Commands speakers say one to
    three): its digits are drawn from the ones the speaker said. Otherwise the string takes its
    digits uniformly and each clip from any speaker of the same split and source (``speaker`` is
    ``"mixed"``). Speakers are drawn in proportion to their clips, so a large corpus is not
    dominated by its few speakers with many digits.

    Parameters
    ----------
    rows : sequence of CorpusClip
        Isolated digit clips (labels ``"0"``-``"9"``; other labels are ignored), of one or more splits.
    n_strings : int >= 0
    rng : np.random.Generator
    length : (int, int)
        Smallest and largest number of digits per string (inclusive), >= 1.
    min_distinct : int >= 1
        Distinct digits a speaker needs for a one-speaker string.

    Returns
    -------
    plans : list of StringPlan

    Raises
    ------
    ValueError
        If ``rows`` holds no digit clip, or ``length`` is not 1 <= lo <= hi.
    """
    lo, hi = length
    if not 1 <= lo <= hi:
        raise ValueError(f"length must be 1 <= lo <= hi, got {length}")
    digits = [r for r in rows if r.label in LABELS]
    if not digits:
        raise ValueError("no digit clips to assemble strings from")
    by_speaker: dict[tuple[str, str, str], dict[str, list[CorpusClip]]] = {}
    by_pool: dict[tuple[str, str], dict[str, list[CorpusClip]]] = {}
    for r in sorted(digits):
        by_speaker.setdefault((r.split, r.source, r.speaker), {}).setdefault(r.label, []).append(r)
        by_pool.setdefault((r.split, r.source), {}).setdefault(r.label, []).append(r)
    keys = sorted(by_speaker)
    weights = np.array([sum(len(v) for v in by_speaker[k].values()) for k in keys], dtype=np.float64)
    weights /= weights.sum()
    plans = []
    for _ in range(n_strings):
        split, source, speaker = keys[int(rng.choice(len(keys), p=weights))]
        n = int(rng.integers(lo, hi + 1))
        own = by_speaker[(split, source, speaker)]
        if len(own) >= min_distinct:
            pool, who = own, speaker
        else:
            pool, who = by_pool[(split, source)], "mixed"
        labels = sorted(pool)
        chosen = [labels[int(i)] for i in rng.integers(0, len(labels), size=n)]
        clips = tuple(pool[d][int(rng.integers(len(pool[d])))] for d in chosen)
        plans.append(StringPlan("".join(chosen), clips, who, split))
    return plans


@dataclass(frozen=True)
class AssembledString:
    """A digit string made of isolated clips.

    Attributes
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32]
        Mono samples at ``sample_rate_hz``, peak at most 1.
    digits : str
    spans_s : tuple of (float, float)
        Start and end (s) of each digit's speech in ``audio``, in order; with an overlap, a span
        starts before the previous one ends.
    sample_rate_hz : int
    """

    audio: np.ndarray
    digits: str
    spans_s: tuple[tuple[float, float], ...]
    sample_rate_hz: int

    @property
    def duration_s(self) -> float:
        """Length of ``audio`` (s)."""
        return self.audio.shape[0] / self.sample_rate_hz


def trim_speech(y: np.ndarray, *, top_db: float = TRIM_TOP_DB) -> np.ndarray:
    """``y`` without its leading and trailing silence (``librosa.effects.trim`` at ``top_db`` dB
    under the peak); ``y`` itself if that would leave nothing. float32 in, float32 out."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    t, _ = librosa.effects.trim(y, top_db=top_db)
    return t if t.size else y


def assemble_string(clips: Sequence[np.ndarray], digits: str, *, sample_rate_hz: int, rng: np.random.Generator,
                    gap_ms: tuple[float, float] = GAP_MS, level_jitter_db: float = LEVEL_JITTER_DB,
                    lead_s: tuple[float, float] = LEAD_S, trim: bool = True) -> AssembledString:
    """Join isolated digit clips into one string said without pauses.

    Each clip is trimmed to its speech (:func:`trim_speech`, unless ``trim`` is False), scaled
    by a level of +-``level_jitter_db`` dB, and placed a gap drawn uniformly from ``gap_ms`` after
    the end of the previous one. A negative gap overlaps the two: over the overlap the previous
    clip fades out and the next fades in with equal-power (sine / cosine) ramps, so the sum keeps
    its level. A lead and a tail of digital silence (``lead_s``) frame the string; the result is
    scaled down if its peak exceeds 1. An overlap is never longer than half of either clip.

    Parameters
    ----------
    clips : sequence of np.ndarray [shape=(n_i,), float]
        One mono clip per digit, at ``sample_rate_hz``.
    digits : str
        The digit of each clip (``len(digits) == len(clips)``).
    sample_rate_hz : int > 0 (Hz)
    rng : np.random.Generator
    gap_ms : (float, float) (ms)
    level_jitter_db : float >= 0 (dB)
    lead_s : (float, float) (s), >= 0
    trim : bool

    Returns
    -------
    string : AssembledString

    Raises
    ------
    ValueError
        If ``clips`` is empty, its length differs from ``digits``, ``digits`` holds a non-digit,
        a clip is empty or not one-dimensional, or a range is reversed.
    """
    if not clips:
        raise ValueError("no clips to assemble")
    if len(clips) != len(digits):
        raise ValueError(f"{len(clips)} clips for {len(digits)} digits ({digits!r})")
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"digits must be 0-9 characters, got {digits!r}")
    if gap_ms[0] > gap_ms[1] or lead_s[0] > lead_s[1] or lead_s[0] < 0 or level_jitter_db < 0:
        raise ValueError(f"bad ranges: gap_ms={gap_ms}, lead_s={lead_s}, level_jitter_db={level_jitter_db}")
    sr = int(sample_rate_hz)
    parts = []
    for i, c in enumerate(clips):
        c = np.asarray(c, dtype=np.float32)
        if c.ndim != 1 or c.size == 0:
            raise ValueError(f"clip {i} must be a non-empty mono array, got shape {c.shape}")
        c = trim_speech(c) if trim else c
        gain = 10.0 ** (rng.uniform(-level_jitter_db, level_jitter_db) / 20.0)
        parts.append(c * np.float32(gain))
    lead = int(round(rng.uniform(*lead_s) * sr))
    starts = [lead]
    for prev, nxt in zip(parts, parts[1:]):
        gap = int(round(rng.uniform(*gap_ms) * sr / 1000.0))
        gap = max(gap, -min(prev.size, nxt.size) // 2)
        starts.append(starts[-1] + prev.size + gap)
    tail = int(round(rng.uniform(*lead_s) * sr))
    out = np.zeros(starts[-1] + parts[-1].size + tail, dtype=np.float32)
    for i, (s, p) in enumerate(zip(starts, parts)):
        p = p.copy()
        if i > 0:  # fade in over the overlap with the previous clip
            ov = starts[i - 1] + parts[i - 1].size - s
            if ov > 0:
                p[:ov] *= np.sin(np.linspace(0.0, np.pi / 2, ov, dtype=np.float32))
        if i + 1 < len(parts):  # fade out over the overlap with the next clip
            ov = s + p.size - starts[i + 1]
            if ov > 0:
                p[-ov:] *= np.cos(np.linspace(0.0, np.pi / 2, ov, dtype=np.float32))
        out[s:s + p.size] += p
    peak = float(np.abs(out).max())
    if peak > 1.0:
        out /= peak
    spans = tuple((s / sr, (s + p.size) / sr) for s, p in zip(starts, parts))
    return AssembledString(out, digits, spans, sr)


def speed_perturb(y: np.ndarray, factor: float, *, sample_rate_hz: int) -> np.ndarray:
    """``y`` played ``factor`` times faster: tempo and pitch both scale by ``factor``.

    The speed perturbation of Ko et al. 2015 ("Audio augmentation for speech recognition",
    Interspeech; factors 0.9 / 1.0 / 1.1 in Kaldi's recipes): the samples are resampled
    (``soxr.resample`` from ``sample_rate_hz * factor`` to ``sample_rate_hz``, HQ) and read at
    the old rate, so a speaker sounds faster and higher (``factor > 1``) or slower and lower.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), float]
        Mono audio at ``sample_rate_hz`` (Hz).
    factor : float > 0
        Speed factor; 1.0 returns a float32 copy.

    Returns
    -------
    out : np.ndarray [shape=(round(n / factor),), float32]

    Raises
    ------
    ValueError
        If ``factor <= 0`` or ``y`` is not 1-D.
    """
    import soxr

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {y.shape}")
    if not factor > 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    if factor == 1.0 or y.size == 0:
        return y.copy()
    return soxr.resample(y, sample_rate_hz * factor, sample_rate_hz, quality="HQ").astype(np.float32)


def pitch_up(y: np.ndarray, semitones: float, *, sample_rate_hz: int) -> np.ndarray:
    """``y`` with its pitch and formants raised by ``semitones``, at the same tempo: an adult voice
    made closer to a child's.

    ``librosa.effects.pitch_shift`` (a phase-vocoder time stretch, then resampling), which scales the
    whole spectral envelope with the pitch, as a shorter vocal tract does: children's formants lie
    roughly 20-50 % above adults' (Lee, Potamianos and Narayanan 1999, "Acoustics of children's
    speech", JASA 105(3)); 2-6 semitones are 12-41 %. A cousin of vocal tract length perturbation
    (Jaitly and Hinton 2013, "Vocal Tract Length Perturbation (VTLP) improves speech recognition"),
    which warps the frequency axis only.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), float]
        Mono audio at ``sample_rate_hz`` (Hz).
    semitones : float
        Shift (negative: down); 0 returns a float32 copy.

    Returns
    -------
    out : np.ndarray [shape=(n,), float32]
        Peak-limited to 1.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {y.shape}")
    if semitones == 0.0 or y.size == 0:
        return y.copy()
    out = librosa.effects.pitch_shift(y, sr=sample_rate_hz, n_steps=float(semitones)).astype(np.float32)
    return out / max(1.0, float(np.abs(out).max()))


def string_log_mel(audio: np.ndarray, *, config=None, max_frames: int | None = None) -> np.ndarray:
    """Log-mel spectrogram of a whole utterance, with the front end's parameters.

    The front end of :func:`trainer.data.features.log_mel` (``librosa.feature.melspectrogram``,
    ``power_to_db(ref=np.max, top_db=80)``) on audio of any length: dB relative to the utterance's
    loudest bin, in ``[-top_db, 0]``.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), float]
        Mono samples at ``config.sample_rate_hz``; ``n >= 1``.
    config : FrontEndConfig or None
        Default :data:`trainer.config.FRONT_END`.
    max_frames : int or None
        Pad (with ``-top_db``, silence) to this many frames. None: the utterance's own
        ``1 + n // hop_length`` frames.

    Returns
    -------
    S_db : np.ndarray [shape=(n_mels, frames), float32]

    Raises
    ------
    ValueError
        If ``audio`` is empty or not 1-D, or it has more frames than ``max_frames``.
    """
    from ..config import FRONT_END
    from .features import log_mel_frames

    config = config or FRONT_END
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected non-empty mono audio, got shape {y.shape}")
    db = log_mel_frames(y, config=config)
    if max_frames is None:
        return db
    if db.shape[1] > max_frames:
        raise ValueError(f"{db.shape[1]} frames ({y.size / config.sample_rate_hz:.2f} s) > max_frames={max_frames}")
    out = np.full((db.shape[0], max_frames), -config.top_db, dtype=np.float32)
    out[:, : db.shape[1]] = db
    return out


__all__ = ["AssembledString", "GAP_MS", "LEAD_S", "LEVEL_JITTER_DB", "SPOKEN_DIGITS", "StringPlan", "TRIM_TOP_DB", "pitch_up",
           "assemble_string", "digits_of_transcript", "plan_strings", "speed_perturb", "string_log_mel", "trim_speech"]
