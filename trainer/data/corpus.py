"""The corpus layer: every audio source as one labelled, speaker-tagged table.

Each row is a :class:`CorpusClip` ``(path, label, word, speaker, source, split)``.
Sources (``../shared/data/README.md`` lists the copies CI uses):

================================  ==========================================  ============
source                            layout                                      licence
================================  ==========================================  ============
``fsdd``                          ``{digit}_{speaker}_{index}.wav``           CC BY-SA 4.0
``speech_commands``               ``DIR/<word>/SPEAKER_nohash_N.wav``,        CC BY 4.0
                                  ``_unknown_/WORD_SPEAKER_nohash_N.wav``,
                                  ``_silence_/N.wav``
``speech_commands_digits``        ``DIR/<digit word>/SPEAKER_nohash_N.wav``   CC BY 4.0
``synth``                         ``data synth`` output (``manifest.csv``)    ours (TTS)
``noise``                         ``DIR/<collection>/*.wav``                  see SOURCE.md
any folder-per-label copy         ``DIR/<label>/*.wav`` (Speech Commands)     user's
================================  ==========================================  ============

Labels follow the Speech Commands convention: digits are ``"0"`` ... ``"9"``,
any other word is ``"_unknown_"``, background-noise clips are ``"_silence_"``;
long noise recordings (augmentation material, not examples) are
``"_background_noise_"``; long readings of continuous speech by the training voices
(material for negatives) are ``"_speech_passage_"``.

Splits are **speaker-disjoint**: a speaker's split is a pure function of
``(source, speaker)`` (a SHA-256 hash mapped to [0, 1)), so it is the same on every
machine and never depends on which other files exist. FSDD keeps its official
split (FSDD README: recording indices 0-4 are test) because its six speakers are
too few to split. Noise recordings are split by file; the Speech Commands
``_silence_`` clips are cut from the same background recordings as
``noise/speech_commands/``, so both stay on the training side.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Sequence

from ..config import LABELS, OFFICIAL_TEST_INDICES
from .fsdd import discover
from ..errors import DataError

log = logging.getLogger(__name__)

SILENCE_LABEL = "_silence_"
UNKNOWN_LABEL = "_unknown_"
#: Label of long background recordings: material for augmentation, never an example.
NOISE_LABEL = "_background_noise_"
#: Label of long readings of continuous speech (``data synth --passages``: ``train_passages/``):
#: material for the ``passage_piece`` negatives (:mod:`trainer.data.negatives`), never an example.
PASSAGE_LABEL = "_speech_passage_"
#: The open-set label set (``--classes open``): ten digits, then the two Speech Commands classes.
OPEN_LABELS: tuple[str, ...] = (*LABELS, SILENCE_LABEL, UNKNOWN_LABEL)
#: English digit words, index = digit (Speech Commands folder names).
DIGIT_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPLITS = ("train", "val", "test")

#: Fractions (train, val, test) of the speakers of each source with a hash split.
SPLIT_FRACTIONS: dict[str, tuple[float, float, float]] = {
    "speech_commands": (0.70, 0.10, 0.20),
    # 116 speakers, one or two clips each: mostly a held-out check of real voices.
    "speech_commands_digits": (0.40, 0.20, 0.40),
    "folder": (0.70, 0.10, 0.20),
    # training voices of `data synth` only; its held-out voices are named in its manifest
    "synth": (0.90, 0.10, 0.0),
    # noise recordings, by file (no val: thresholds are tuned on val speech)
    "noise": (0.65, 0.0, 0.35),
}

_NOHASH_RE = re.compile(r"^(?:(?P<word>[a-z]+)_)?(?P<speaker>[0-9A-Za-z.+-]+)_nohash_\d+$")

#: Licences of the known sources (each copy's SOURCE.md); recorded in run.json and the bundle.
LICENCES = {
    "fsdd": "CC BY-SA 4.0 (Free Spoken Digit Dataset v1.0.10, Z. Jackson et al.)",
    "speech_commands": "CC BY 4.0 (Speech Commands v0.02, P. Warden, arXiv:1804.03209)",
    "speech_commands_digits": "CC BY 4.0 (Speech Commands v0.02, P. Warden, arXiv:1804.03209)",
    "noise": "CC BY 4.0 (Speech Commands background noise) / MIT (F. Chen) / public domain (Mycroft Precise "
             "community data); see noise/SOURCE.md",
    "synth": "rendered by 'spoken-digits data synth' with espeak-ng (GPL-3.0), flite and festival voices "
             "(free licences); the audio is ours",
    "generated": "made by spoken-digits from the other sources (reversed/overlapped FSDD, tones, noise)",
}


@dataclass(frozen=True, order=True)
class CorpusClip:
    """One row of the corpus table.

    Attributes
    ----------
    path : Path
        The audio file.
    label : str
        Class: ``"0"``-``"9"``, ``"_silence_"``, ``"_unknown_"``, or material:
        ``"_background_noise_"``, ``"_speech_passage_"``.
    word : str
        What is said (``"seven"``, ``"tree"``), or the label for non-speech.
    speaker : str
        ``source``-local speaker id (``""`` for noise).
    source : str
        Where the clip comes from (``fsdd``, ``speech_commands``, ``synth``, ``noise``, ...).
    split : {"train", "val", "test"}
    """

    path: Path
    label: str
    word: str
    speaker: str
    source: str
    split: str

    @property
    def is_digit(self) -> bool:
        return self.label in LABELS

    @property
    def group(self) -> str:
        """The speaker across sources: ``source/speaker`` (the unit of every split)."""
        return f"{self.source}/{self.speaker}"


def split_of(source: str, key: str, fractions: Sequence[float]) -> str:
    """Deterministic split of a speaker (or a noise file) by hashing ``source/key``.

    ``sha256(f"{source}/{key}")``'s first 8 bytes as a fraction in [0, 1) are compared
    with the cumulative ``fractions`` (train, val, test). The same speaker always falls
    in the same split, on every machine and whatever other files exist.

    Raises
    ------
    ValueError
        If ``fractions`` does not have three non-negative entries summing to 1.
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, got {fractions}")
    u = int.from_bytes(hashlib.sha256(f"{source}/{key}".encode()).digest()[:8], "big") / 2.0**64
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


def word_label(word: str) -> str:
    """The class of a Speech Commands folder name: digit words -> ``"0"``-``"9"``,
    ``_silence_`` / ``_background_noise_`` kept, any other word -> ``"_unknown_"``."""
    w = word.lower()
    if w in DIGIT_WORDS:
        return str(DIGIT_WORDS.index(w))
    if w in LABELS:
        return w
    if w in (SILENCE_LABEL, NOISE_LABEL):
        return w
    return UNKNOWN_LABEL


def _wavs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav" and p.is_file())


def read_fsdd(data_dir: str | os.PathLike) -> list[CorpusClip]:
    """FSDD recordings with the official split (indices 0-4 test, FSDD README); no val part.

    Raises
    ------
    DataError
        As :func:`trainer.data.fsdd.discover`.
    """
    return [
        CorpusClip(r.path, str(r.digit), DIGIT_WORDS[r.digit], r.speaker, "fsdd",
                   "test" if r.index in OFFICIAL_TEST_INDICES else "train")
        for r in discover(data_dir)
    ]


def read_folder_per_label(
    root: str | os.PathLike, *, source: str = "folder", fractions: Sequence[float] | None = None,
) -> list[CorpusClip]:
    """A Speech Commands layout: ``ROOT/<word>/*.wav``.

    The speaker comes from ``SPEAKER_nohash_N.wav`` (or ``WORD_SPEAKER_nohash_N.wav`` in
    ``_unknown_``); a file without that pattern is its own speaker. Words map to labels
    with :func:`word_label`; ``_background_noise_`` files are noise material. Splits by
    speaker hash (:func:`split_of`) with ``fractions`` (default
    ``SPLIT_FRACTIONS[source]``); ``_silence_`` and ``_background_noise_`` files are
    always ``train`` (Speech Commands cuts its silence clips from its background files).

    Raises
    ------
    DataError
        If ``root`` is not a directory or holds no wav file in a label folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (expected DIR/<label>/*.wav)")
    fractions = fractions or SPLIT_FRACTIONS.get(source, SPLIT_FRACTIONS["folder"])
    out: list[CorpusClip] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        word = folder.name
        label = word_label(word)
        for p in _wavs(folder):
            m = _NOHASH_RE.match(p.stem)
            spoken = (m["word"] if m and m["word"] else word) if label == UNKNOWN_LABEL else word
            if label in (SILENCE_LABEL, NOISE_LABEL):
                out.append(CorpusClip(p, label, label, "", source, "train"))
                continue
            speaker = m["speaker"] if m else p.stem
            out.append(CorpusClip(p, label, spoken, speaker, source, split_of(source, speaker, fractions)))
    if not out:
        raise DataError(f"{root}: no '<label>/*.wav' files found")
    return out


def read_noise(root: str | os.PathLike) -> list[CorpusClip]:
    """Background recordings ``ROOT/<collection>/*.wav`` (``noise/`` of the shared data).

    Split by file with ``SPLIT_FRACTIONS["noise"]``, except ``speech_commands/`` (always
    train: the Speech Commands ``_silence_`` clips are cut from those recordings). Every
    other collection keeps at least one file on each side.

    Raises
    ------
    DataError
        If ``root`` holds no wav file.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory of noise recordings")
    out: list[CorpusClip] = []
    for coll in sorted([root, *[p for p in root.iterdir() if p.is_dir()]]):
        files = _wavs(coll)
        if not files:
            continue
        name = coll.name if coll != root else ""
        if name == "speech_commands":
            splits = ["train"] * len(files)
        else:
            splits = [split_of("noise", f"{name}/{p.name}", SPLIT_FRACTIONS["noise"]) for p in files]
            if len(files) >= 2 and len(set(splits)) == 1:  # keep both sides non-empty
                splits[-1] = "test" if splits[0] == "train" else "train"
        for p, s in zip(files, splits):
            out.append(CorpusClip(p, NOISE_LABEL, NOISE_LABEL, "", "noise", s))
    if not out:
        raise DataError(f"{root}: no noise recordings (*.wav) found")
    return out


def read_synth(root: str | os.PathLike) -> list[CorpusClip]:
    """The output of ``spoken-digits data synth``: its ``manifest.csv``, and its ``train_passages.csv`` if any.

    Voices the manifest marks ``test`` are held out; the others are split train/val by
    voice hash (``SPLIT_FRACTIONS["synth"]``). A voice's training passage
    (``train_passages/<speaker>.wav``, label :data:`PASSAGE_LABEL`) gets its voice's split;
    the held-out passages (``passages/``) are never read here (``spoken-digits far`` reads them).

    Raises
    ------
    DataError
        If the manifest is missing or lacks a column.
    """
    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise DataError(f"{manifest}: missing; render the voices with 'spoken-digits data synth --dest {root}'")
    out: list[CorpusClip] = []
    with open(manifest, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = {"path", "word", "speaker", "split"}
        if not need <= set(reader.fieldnames or ()):
            raise DataError(f"{manifest}: needs the columns {sorted(need)}, has {reader.fieldnames}")
        for row in reader:
            split = row["split"] if row["split"] == "test" else split_of("synth", row["speaker"], SPLIT_FRACTIONS["synth"])
            out.append(CorpusClip(root / row["path"], word_label(row["word"]), row["word"], row["speaker"], "synth", split))
    held_out = {r.speaker for r in out if r.split == "test"}
    passages = root / "train_passages.csv"
    if passages.is_file():
        with open(passages, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["speaker"] in held_out:  # never: data synth renders these for training voices only
                    raise DataError(f"{passages}: {row['speaker']} is a held-out voice")
                out.append(CorpusClip(root / row["path"], PASSAGE_LABEL, "passage", row["speaker"], "synth",
                                      split_of("synth", row["speaker"], SPLIT_FRACTIONS["synth"])))
    return out


@dataclass(frozen=True)
class CorpusPaths:
    """Where each source is; ``None`` leaves it out. :meth:`shared` fills them from ``../shared/data``."""

    fsdd: Path | None = None
    speech_commands: Path | None = None
    speech_commands_digits: Path | None = None
    noise: Path | None = None
    synth: Path | None = None
    folders: tuple[Path, ...] = ()

    @classmethod
    def shared(cls, data_root: str | os.PathLike, *, synth: str | os.PathLike | None = None) -> "CorpusPaths":
        """The layout of the shared data folder (``fsdd/recordings``, ``speech_commands_v0.02_test``, ...)."""
        r = Path(data_root)
        opt = lambda p: p if p.exists() else None  # noqa: E731
        return cls(
            fsdd=opt(r / "fsdd" / "recordings"), speech_commands=opt(r / "speech_commands_v0.02_test"),
            speech_commands_digits=opt(r / "speech_commands_digits"), noise=opt(r / "noise"),
            synth=Path(synth) if synth else None,
        )


def read_corpus(paths: CorpusPaths) -> list[CorpusClip]:
    """Every source of ``paths`` in one table, sorted.

    Raises
    ------
    DataError
        If a given source is unreadable, or nothing at all was given.
    """
    rows: list[CorpusClip] = []
    if paths.fsdd:
        rows += read_fsdd(paths.fsdd)
    if paths.speech_commands:
        rows += read_folder_per_label(paths.speech_commands, source="speech_commands")
    if paths.speech_commands_digits:
        rows += read_folder_per_label(paths.speech_commands_digits, source="speech_commands_digits")
    if paths.noise:
        rows += read_noise(paths.noise)
    if paths.synth:
        rows += read_synth(paths.synth)
    for folder in paths.folders:
        rows += read_folder_per_label(folder, source=f"folder:{Path(folder).name}")
    if not rows:
        raise DataError("no data source given")
    return sorted(rows)


def check_speaker_disjoint(rows: Iterable[CorpusClip]) -> None:
    """Raise ``DataError`` if a speaker (other than FSDD's and noise) is in two splits."""
    seen: dict[str, str] = {}
    for r in rows:
        if r.source in ("fsdd", "noise", "generated") or not r.speaker:
            continue
        prev = seen.setdefault(r.group, r.split)
        if prev != r.split:
            raise DataError(f"speaker {r.group} is in both the {prev} and {r.split} splits")


def summarize(rows: Iterable[CorpusClip]) -> dict[str, dict[str, dict[str, int]]]:
    """Counts ``{source: {split: {label: n}}}`` (for run.json and the README)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for r in rows:
        d = out.setdefault(r.source, {}).setdefault(r.split, {})
        d[r.label] = d.get(r.label, 0) + 1
    return out


def write_table(rows: Iterable[CorpusClip], path: str | os.PathLike, *, relative_to: Path | None = None) -> None:
    """Write the table as CSV (columns = :class:`CorpusClip` fields), atomically."""
    from ..atomic import atomic_path

    names = [f.name for f in fields(CorpusClip)]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=names)
        w.writeheader()
        for r in rows:
            d = asdict(r)
            p = Path(d["path"])
            d["path"] = os.path.relpath(p, relative_to) if relative_to else str(p)
            w.writerow(d)


__all__ = [
    "CorpusClip", "CorpusPaths", "DIGIT_WORDS", "LICENCES", "NOISE_LABEL", "OPEN_LABELS", "PASSAGE_LABEL", "SILENCE_LABEL",
    "SPLIT_FRACTIONS", "UNKNOWN_LABEL", "check_speaker_disjoint", "read_corpus", "read_folder_per_label",
    "read_fsdd", "read_noise", "read_synth", "split_of", "summarize", "word_label", "write_table",
]
