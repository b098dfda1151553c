"""Generated negative clips for the open-set classes (``_unknown_``, ``_silence_``).

Made from the other sources and from signal generators of librosa/audiomentations,
written once as WAV files at the front end's rate and listed as corpus rows of
source ``generated``; a clip inherits the split of what it is made of (a reversed
FSDD test clip is a test negative), so nothing crosses a split.

===================  ============  ==================================================
kind                 label         what
===================  ============  ==================================================
``reversed``         _unknown_     an FSDD digit played backwards (speech-like, not a digit)
``two_digits``       _unknown_     two FSDD digits of one speaker, overlapped 30-70 %
``tone``             _silence_     a sine of 150-3,000 Hz (``librosa.tone``), 0.2-0.8 s
``chirp``            _silence_     a sweep (``librosa.chirp``)
``clicks``           _silence_     a click train (``librosa.clicks``), 3-20 clicks/s
``chord``            _silence_     2-4 harmonic notes with an attack/decay envelope (music-like)
``colored_noise``    _silence_     coloured noise (``audiomentations.AddColorNoise``)
``noise_segment``    _silence_     a 0.3-0.8 s piece of a background recording, -70..-10 dBFS
``speech_run``       _unknown_     a window the live segmenter cuts out of 3-8 non-digit words
                                   of one speaker said in a row (10-200 ms apart): the
                                   pieces of continuous speech ``listen`` classifies
``babble``           _unknown_     3-7 non-digit words of different speakers overlapped,
                                   0.3-0.8 s (what a segmenter cuts out of a crowd)
``passage_piece``    _unknown_     a window the live segmenter cuts out of a reading of running
                                   prose (``data synth --passages``: ``train_passages/``)
``real_speech_piece`` _unknown_    the same over real people's read sentences (speechocean762
                                   ``nondigit/``: no number word in them), split by speaker
``real_speech_word``  _unknown_    one stretch of those sentences between two pauses (a word or
                                   two), as the segmenter cuts it when a reader pauses there
===================  ============  ==================================================

``speech_run`` and ``babble`` draw from the non-digit words (``_unknown_`` rows) of
Speech Commands and the synthetic voices, within the split; ``speech_run`` runs
:class:`realtime.segmenter.Segmenter` with its live settings over the phrase (initial
floor as ``recognize`` measures it), so the clip is exactly a window the recognizer
would classify. ``passage_piece`` does the same over whole readings of continuous prose
(:data:`trainer.data.corpus.PASSAGE_LABEL` rows of the split): in running speech the noise floor
climbs into the speech and the segmenter cuts it into pieces of every length (0.15-1.14 s of
speech for 80 % of them, median 0.47 s, in the held-out passages), and the short ones, a
syllable or two, are where most false digits of read speech came from (``spoken-digits far``:
134 false digits in 75 min of held-out passages at the bundle shipped before, median speech
0.19 s, against 0.44 s for correctly recognized clean digits). ``speech_run``, made of
whole words 10-200 ms apart, gives whole words instead.

``real_speech_word`` exists because most real sentences are one utterance to the segmenter: the
416 training readings of speechocean762 give only 537 segmenter windows, so ``real_speech_piece``
repeats each about five times, while the false digits of held-out readers came from slow readers
who pause between words (the segmenter then cuts single words: "than" -> 7, "doing" -> 3). The
stretches between pauses (``librosa.effects.split`` at :data:`WORD_SPLIT_TOP_DB` under the
reading's peak) give about five words per sentence, each as the segmenter would cut it if the
reader had paused there.

Non-speech sounds belong to ``_silence_`` (the live view shows ``·``, "nothing
said"); speech that is not one digit to ``_unknown_`` (shown ``?``).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path
from .augment import seed_everything, segmenter_utterances
from ..config import FRONT_END, FrontEndConfig
from .corpus import NOISE_LABEL, PASSAGE_LABEL, SILENCE_LABEL, UNKNOWN_LABEL, CorpusClip

log = logging.getLogger(__name__)

KINDS = ("reversed", "two_digits", "tone", "chirp", "clicks", "chord", "colored_noise", "noise_segment",
         "speech_run", "babble", "passage_piece", "real_speech_piece", "real_speech_word")
_FORMAT = 3
#: ``real_speech_word``: a pause is where the reading falls this many dB under its peak
#: (``librosa.effects.split(top_db=...)``); 20 dB gives about 5.3 stretches per speechocean762 sentence.
WORD_SPLIT_TOP_DB = 20.0
#: ``real_speech_word``: stretches shorter than this are left out (the recognizer's shortest digit is 100 ms).
MIN_WORD_MS = 100.0
#: Source of the real read sentences of ``real_speech_piece`` (``passage_piece`` takes the others).
REAL_SPEECH_SOURCE = "speechocean762"
#: Sources whose ``_unknown_`` words feed ``speech_run`` and ``babble``.
WORD_SOURCES = ("speech_commands", "synth")
SPLITS_ORDER = ("train", "val", "test")


def _tone_like(kind: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    import librosa

    dur = float(rng.uniform(0.2, 0.8))
    n = int(dur * sr)
    if kind == "tone":
        y = librosa.tone(float(rng.uniform(150, 3000)), sr=sr, length=n)
    elif kind == "chirp":
        f = sorted(rng.uniform(150, 4000, size=2))
        y = librosa.chirp(fmin=float(f[0]), fmax=float(f[1]), sr=sr, length=n)
        if rng.random() < 0.5:
            y = y[::-1]
    elif kind == "clicks":
        rate = float(rng.uniform(3, 20))
        y = librosa.clicks(times=np.arange(0, dur, 1 / rate), sr=sr, length=n,
                           click_freq=float(rng.uniform(500, 3000)))
    elif kind == "chord":
        y = np.zeros(n)
        root = float(rng.uniform(110, 440))
        for ratio in rng.choice([1.0, 1.25, 1.5, 2.0, 1.2, 1.33], size=int(rng.integers(2, 5)), replace=False):
            for h in (1, 2, 3):
                y += librosa.tone(root * ratio * h, sr=sr, length=n) / h
        env = np.minimum(np.linspace(0, 20, n), 1.0) * np.exp(-np.linspace(0, float(rng.uniform(1, 6)), n))
        y *= env
    else:
        raise ValueError(kind)
    return np.asarray(y, np.float32)


def _colored_noise(rng: np.random.Generator, sr: int) -> np.ndarray:
    import audiomentations as A

    n = int(rng.uniform(0.3, 0.8) * sr)
    seed_everything(int(rng.integers(2**31)))
    carrier = np.zeros(n, np.float32)
    carrier[::max(1, n // 8)] = 1e-4  # AddColorNoise scales to the signal's RMS; the clicks vanish under it
    return A.AddColorNoise(min_snr_db=-60, max_snr_db=-60, p=1.0)(carrier, sample_rate=sr)


def _load(path: Path, config: FrontEndConfig) -> np.ndarray:
    import librosa

    y, _ = librosa.load(str(path), sr=config.sample_rate_hz, mono=True)
    return y.astype(np.float32)


def _trimmed(path: Path, config: FrontEndConfig, cache: dict) -> np.ndarray:
    """A word clip at the front end's rate with its leading/trailing silence removed (``librosa.effects.trim``)."""
    if path not in cache:
        from .strings import trim_speech

        cache[path] = trim_speech(_load(path, config))  # top_db 30, the whole clip if nothing is left
    return cache[path]


def _speech_run(words: Sequence[Path], rng: np.random.Generator, config: FrontEndConfig, cache: dict) -> np.ndarray:
    """One window the live segmenter cuts out of 3-8 of ``words`` said in a row (real samples only).

    The phrase is framed by 0.3 s of digital silence and segmented as ``recognize`` segments a
    file (:func:`trainer.data.augment.segmenter_utterances`); one of the utterances it finds is returned. If it finds none (the words ran together for longer
    than ``MAX_SPEECH_MS``), a random 0.3-0.8 s piece of the phrase.
    """
    sr = config.sample_rate_hz
    k = int(rng.integers(3, 9))
    parts = [np.zeros(int(0.3 * sr), np.float32)]
    for p in rng.choice(len(words), size=min(k, len(words)), replace=False):
        parts += [_trimmed(words[int(p)], config, cache), np.zeros(int(rng.uniform(0.01, 0.2) * sr), np.float32)]
    parts.append(np.zeros(int(0.3 * sr), np.float32))
    phrase = np.concatenate(parts)
    phrase /= max(float(np.abs(phrase).max()), 1e-9)
    found = segmenter_utterances(phrase, config)
    if found:
        u = found[int(rng.integers(len(found)))]
        return u.window[:u.n_samples].copy()
    m = min(len(phrase), int(rng.uniform(0.3, 0.8) * sr))
    start = int(rng.integers(0, len(phrase) - m + 1))
    return phrase[start:start + m].copy()


def _passage_pieces(passages: Sequence[Path], config: FrontEndConfig) -> list[np.ndarray]:
    """Every window the live segmenter cuts out of each reading in ``passages`` (real samples only).

    Each reading is segmented as ``recognize`` segments a file
    (:func:`trainer.data.augment.segmenter_utterances`); the result is the list of the windows'
    real samples, in order, float32 at ``config.sample_rate_hz``.
    """
    out = []
    for p in passages:
        y = _load(p, config)
        out += [u.window[:u.n_samples].copy() for u in segmenter_utterances(y, config)]
    return out


def _word_pieces(passages: Sequence[Path], config: FrontEndConfig) -> list[np.ndarray]:
    """Every stretch between two pauses of each reading in ``passages``, as a window the segmenter would cut.

    A stretch is a non-silent interval of ``librosa.effects.split(y, top_db=WORD_SPLIT_TOP_DB)``
    (frames of 1,024 samples, hop 256); the piece starts the segmenter's pre-roll
    (:data:`realtime.constants.PRE_ROLL_MS`) before it and ends with it or after one window
    (``config.window_samples``), whichever is first. Stretches under :data:`MIN_WORD_MS` are left out.

    Returns
    -------
    pieces : list of np.ndarray [shape=(m,), dtype=float32]
        In reading order, at ``config.sample_rate_hz``; ``0.1 s <= m <= window``.
    """
    import librosa
    from realtime.constants import PRE_ROLL_MS

    sr = config.sample_rate_hz
    pre = int(round(PRE_ROLL_MS * sr / 1000.0))
    shortest = int(round(MIN_WORD_MS * sr / 1000.0))
    out = []
    for p in passages:
        y = _load(p, config)
        for a, b in librosa.effects.split(y, top_db=WORD_SPLIT_TOP_DB, frame_length=1024, hop_length=256):
            if b - a >= shortest:
                start = max(int(a) - pre, 0)
                out.append(y[start:min(int(b), start + config.window_samples)].copy())
    return out


def _babble(by_speaker: dict[str, list[Path]], rng: np.random.Generator, config: FrontEndConfig,
            cache: dict) -> np.ndarray:
    """3-7 words of different speakers at equal RMS, each at a random offset, in 0.3-0.8 s."""
    sr = config.sample_rate_hz
    n = int(rng.uniform(0.3, 0.8) * sr)
    speakers = sorted(by_speaker)
    y = np.zeros(n, np.float32)
    for s in rng.choice(len(speakers), size=min(int(rng.integers(3, 8)), len(speakers)), replace=False):
        clips = by_speaker[speakers[int(s)]]
        w = _trimmed(clips[int(rng.integers(len(clips)))], config, cache)
        w = w / max(float(np.sqrt(np.mean(w**2))), 1e-9)
        off = int(rng.integers(-len(w) // 2, n // 2))
        a, b = max(off, 0), min(off + len(w), n)
        if b > a:
            y[a:b] += w[a - off:b - off]
    return y


def make_negatives(
    rows: Sequence[CorpusClip],
    dest: str | Path,
    *,
    counts: dict[str, dict[str, int]],
    seed: int,
    config: FrontEndConfig = FRONT_END,
) -> list[CorpusClip]:
    """Write generated negatives into ``dest`` and return them as corpus rows.

    Parameters
    ----------
    rows : sequence of CorpusClip
        The corpus: FSDD rows feed ``reversed`` / ``two_digits``, ``_background_noise_``
        rows feed ``noise_segment``, the ``_unknown_`` words of :data:`WORD_SOURCES` feed
        ``speech_run`` / ``babble``, the ``_speech_passage_`` rows feed ``passage_piece`` (of
        :data:`REAL_SPEECH_SOURCE`: ``real_speech_piece``), each within its split.
    counts : {split: {kind: n}}
        How many clips of each kind (:data:`KINDS`) per split.
    seed : int

    Returns
    -------
    rows : list of CorpusClip
        ``source="generated"``, ``speaker`` = the kind, ``word`` = the kind.

    The set is cached: ``dest/<key>/`` where ``key`` hashes the inputs; an existing
    complete set (its ``index.json``) is reused.
    """
    import soundfile as sf

    sr = config.sample_rate_hz
    fsdd = [r for r in rows if r.source == "fsdd"]
    noise = [r for r in rows if r.label == NOISE_LABEL]
    words = [r for r in rows if r.label == UNKNOWN_LABEL and r.source in WORD_SOURCES]
    passages = [r for r in rows if r.label == PASSAGE_LABEL]
    spec = {"format": _FORMAT, "seed": seed, "counts": counts, "sr": sr,
            "inputs": sorted(f"{r.split}:{r.source}:{r.speaker}:{r.path.name}" for r in fsdd + noise + words + passages)}
    if any("real_speech_word" in per_kind for per_kind in counts.values()):
        spec["word_split"] = [WORD_SPLIT_TOP_DB, MIN_WORD_MS]
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(dest) / key
    index = folder / "index.json"
    if index.exists():
        return [CorpusClip(folder / d["file"], d["label"], d["kind"], d["kind"], "generated", d["split"])
                for d in json.loads(index.read_text())]
    doc = []
    cache: dict = {}
    for split, per_kind in sorted(counts.items()):
        f_split = [r for r in fsdd if r.split == split]
        n_split = [r for r in noise if r.split == split]
        w_split: dict[str, list[Path]] = {}
        for r in words:
            if r.split == split:
                w_split.setdefault(r.group, []).append(r.path)
        runs_of = sorted(g for g, clips in w_split.items() if len(clips) >= 3)
        for kind, n in sorted(per_kind.items()):
            if kind not in KINDS:
                raise ValueError(f"unknown negative kind {kind!r}; choose from {', '.join(KINDS)}")
            # one generator per (split, kind): adding a kind leaves the clips of the others as they were
            rng = np.random.default_rng([seed, SPLITS_ORDER.index(split), KINDS.index(kind)])
            if kind in ("passage_piece", "real_speech_piece", "real_speech_word"):
                real = kind != "passage_piece"
                readings = [r.path for r in sorted(passages)
                            if r.split == split and (r.source == REAL_SPEECH_SOURCE) == real]
                pieces = (_word_pieces if kind == "real_speech_word" else _passage_pieces)(readings, config)
                if not pieces:
                    log.warning("no %s negatives in the %s split: no %s", kind, split,
                                "real read sentences (speechocean762 nondigit/)" if real else
                                "reading of continuous speech ('spoken-digits data synth --passages' "
                                "writes train_passages/)")
                    continue
                order = rng.permutation(len(pieces))
            if kind in ("speech_run", "babble") and (not runs_of if kind == "speech_run" else len(w_split) < 3):
                log.warning("no %s negatives in the %s split: it has no speaker with 3 non-digit words "
                            "(Speech Commands or synthetic voices)", kind, split)
                continue
            for i in range(n):
                if kind == "reversed":
                    y = _load(f_split[int(rng.integers(len(f_split)))].path, config)[::-1].copy()
                    label = UNKNOWN_LABEL
                elif kind == "two_digits":
                    a = f_split[int(rng.integers(len(f_split)))]
                    same = [r for r in f_split if r.speaker == a.speaker and r.label != a.label]
                    b = same[int(rng.integers(len(same)))]
                    ya, yb = _load(a.path, config), _load(b.path, config)
                    off = int(len(ya) * rng.uniform(0.3, 0.7))
                    y = np.zeros(max(len(ya), off + len(yb)), np.float32)
                    y[:len(ya)] += ya
                    y[off:off + len(yb)] += yb
                    label = UNKNOWN_LABEL
                elif kind in ("tone", "chirp", "clicks", "chord"):
                    y, label = _tone_like(kind, rng, sr), SILENCE_LABEL
                elif kind == "colored_noise":
                    y, label = _colored_noise(rng, sr), SILENCE_LABEL
                elif kind == "speech_run":
                    who = runs_of[int(rng.integers(len(runs_of)))]
                    y, label = _speech_run(w_split[who], rng, config, cache), UNKNOWN_LABEL
                elif kind == "babble":
                    y, label = _babble(w_split, rng, config, cache), UNKNOWN_LABEL
                elif kind in ("passage_piece", "real_speech_piece", "real_speech_word"):
                    y, label = pieces[int(order[i % len(order)])], UNKNOWN_LABEL
                else:  # noise_segment
                    src = _load(n_split[int(rng.integers(len(n_split)))].path, config)
                    m = min(len(src), int(rng.uniform(0.3, 0.8) * sr))
                    start = int(rng.integers(0, len(src) - m + 1))
                    y, label = src[start:start + m].copy(), SILENCE_LABEL
                peak = float(np.abs(y).max()) or 1.0
                level_dbfs = rng.uniform(-70, -10) if kind == "noise_segment" else rng.uniform(-30, -1)
                y = (y / peak * 10 ** (level_dbfs / 20)).astype(np.float32)
                name = f"{split}-{kind}-{i:05d}.wav"
                with atomic_path(folder / name) as tmp:
                    sf.write(tmp, y, sr, subtype="FLOAT")
                doc.append({"file": name, "label": label, "kind": kind, "split": split})
    with atomic_path(index) as tmp:
        tmp.write_text(json.dumps(doc, indent=0))
    return [CorpusClip(folder / d["file"], d["label"], d["kind"], d["kind"], "generated", d["split"]) for d in doc]


__all__ = ["KINDS", "make_negatives"]
