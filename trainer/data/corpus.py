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
``speech_commands_digits_extra``  ``DIR/<digit word>/SPEAKER_nohash_N.flac``  CC BY 4.0
``speechocean762``                ``DIR/nondigit/SPEAKERnnnn/UTT.flac``,      free for any use
                                  ``DIR/digit_strings/...``, ``text``,        (its README)
                                  ``utt2spk`` (Kaldi style)
``synth``                         ``data synth`` output (``manifest.csv``)    ours (TTS)
``noise``                         ``DIR/<collection>/*.wav``                  see SOURCE.md
any folder-per-label copy         ``DIR/<label>/*.wav`` (Speech Commands)     user's
================================  ==========================================  ============

Any audio format ``soundfile`` reads (:data:`AUDIO_SUFFIXES`: WAV, FLAC, OGG, ...) is read
wherever a WAV is.

Labels follow the Speech Commands convention: digits are ``"0"`` ... ``"9"``,
any other word is ``"_unknown_"``, background-noise clips are ``"_silence_"``;
long noise recordings (augmentation material, not examples) are
``"_background_noise_"``; long readings of continuous speech by the training voices and
real people's read sentences (speechocean762 ``nondigit/``: material for negatives and for the
threshold) are ``"_speech_passage_"``; speechocean762's digit strings (``"zero three five
one"``, material of the digit-string model) are ``"_digit_string_"``.

Splits are **speaker-disjoint**: a speaker's split is a pure function of
``(source, speaker)`` (a SHA-256 hash mapped to [0, 1)), so it is the same on every
machine and never depends on which other files exist. Every Speech Commands folder
(:data:`SPEECH_COMMANDS_SOURCES`) splits its speakers with one key and one set of fractions,
``split_of("speech_commands", speaker, SPLIT_FRACTIONS["speech_commands"])``, so a speaker
has one split whichever folder a clip is in (a speaker's digits never train while their other
words are held out). FSDD keeps its official
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

#: Label of speechocean762's digit strings: material of the digit-string model, never an example here.
DIGIT_STRING_LABEL = "_digit_string_"
#: Folders that are copies of Speech Commands: one speaker id is one person in all of them,
#: and all split with the key and fractions of ``"speech_commands"``.
SPEECH_COMMANDS_SOURCES = ("speech_commands", "speech_commands_digits", "speech_commands_digits_extra")
#: File suffixes read as audio (formats of ``soundfile``/libsndfile; MP3 needs libsndfile >= 1.1).
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au", ".mp3"})

#: Fractions (train, val, test) of the speakers of each source with a hash split.
SPLIT_FRACTIONS: dict[str, tuple[float, float, float]] = {
    # every Speech Commands folder (SPEECH_COMMANDS_SOURCES) splits by this one rule
    "speech_commands": (0.70, 0.10, 0.20),
    # the split of speech_commands_digits before 2026-12-07 (shipped bundles up to 0.1.0 trained on
    # its train/val part): robustness keeps only speakers held out under both rules
    "speech_commands_digits_legacy": (0.40, 0.20, 0.40),
    # 125 speakers reading sentences: real running speech for training negatives, for the threshold
    # (val: false digits per hour) and for the held-out false-digit rate (test)
    "speechocean762": (0.50, 0.25, 0.25),
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
    "speech_commands_digits_extra": "CC BY 4.0 (Speech Commands v0.01/v0.02, P. Warden, arXiv:1804.03209)",
    "speechocean762": "free for commercial and non-commercial use (its README); speechocean762, J. Zhang et al., "
                      "Interspeech 2021, arXiv:2104.01378",
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


def audio_files(folder: str | os.PathLike) -> list[Path]:
    """The audio files directly in ``folder`` (suffix in :data:`AUDIO_SUFFIXES`), sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())



def split_key(source: str) -> str:
    """The key a source's speakers are hashed under: ``"speech_commands"`` for every Speech Commands copy."""
    return "speech_commands" if source in SPEECH_COMMANDS_SOURCES else source


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
    """A Speech Commands layout: ``ROOT/<word>/*.wav`` (or any of :data:`AUDIO_SUFFIXES`).

    The speaker comes from ``SPEAKER_nohash_N.wav`` (or ``WORD_SPEAKER_nohash_N.wav`` in
    ``_unknown_``); a file without that pattern is its own speaker. Words map to labels
    with :func:`word_label`; ``_background_noise_`` files are noise material. Splits by
    speaker hash (:func:`split_of` under :func:`split_key`) with ``fractions`` (default
    ``SPLIT_FRACTIONS[split_key(source)]``: one rule for every Speech Commands copy); ``_silence_`` and ``_background_noise_`` files are
    always ``train`` (Speech Commands cuts its silence clips from its background files).

    Raises
    ------
    DataError
        If ``root`` is not a directory or holds no wav file in a label folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (expected DIR/<label>/*.wav)")
    key = split_key(source)
    fractions = fractions or SPLIT_FRACTIONS.get(key, SPLIT_FRACTIONS["folder"])
    out: list[CorpusClip] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        word = folder.name
        label = word_label(word)
        for p in audio_files(folder):
            m = _NOHASH_RE.match(p.stem)
            spoken = (m["word"] if m and m["word"] else word) if label == UNKNOWN_LABEL else word
            if label in (SILENCE_LABEL, NOISE_LABEL):
                out.append(CorpusClip(p, label, label, "", source, "train"))
                continue
            speaker = m["speaker"] if m else p.stem
            out.append(CorpusClip(p, label, spoken, speaker, source, split_of(key, speaker, fractions)))
    if not out:
        raise DataError(f"{root}: no '<label>/<audio file>' found (.wav, .flac, ...)")
    return out


def read_noise(root: str | os.PathLike) -> list[CorpusClip]:
    """Background recordings ``ROOT/<collection>/*.wav`` or any :data:`AUDIO_SUFFIXES` (``noise/`` of the shared data).

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
        files = audio_files(coll)
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
        raise DataError(f"{root}: no noise recordings (.wav, .flac, ...) found")
    return out


def read_synth(root: str | os.PathLike) -> list[CorpusClip]:
    """The output of ``spoken-digits data synth``: its ``manifest.csv``, and its ``train_passages.csv`` and
    ``strings.csv`` if any.

    Voices the manifest marks ``test`` are held out; the others are split train/val by
    voice hash (``SPLIT_FRACTIONS["synth"]``). A voice's training passage
    (``train_passages/<speaker>.wav``, label :data:`PASSAGE_LABEL`) gets its voice's split;
    the held-out passages (``passages/``) are never read here (``spoken-digits far`` reads them).
    Digit strings said as one utterance (``strings/``, ``data synth --strings``) are
    :data:`DIGIT_STRING_LABEL` rows whose ``word`` is the text said ("four one oh two"), in their voice's split.

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
    strings = root / "strings.csv"
    if strings.is_file():
        with open(strings, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                split = row["split"] if row["split"] == "test" else split_of("synth", row["speaker"], SPLIT_FRACTIONS["synth"])
                out.append(CorpusClip(root / row["path"], DIGIT_STRING_LABEL, row["text"], row["speaker"], "synth", split))
    return out


def _kaldi_table(path: Path) -> dict[str, str]:
    """``KEY VALUE...`` lines (Kaldi ``text`` / ``utt2spk``) as ``{key: value}``."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.strip().partition(" ")
            if key:
                out[key] = value.strip()
    return out


def read_speechocean(root: str | os.PathLike, *, fractions: Sequence[float] | None = None) -> list[CorpusClip]:
    """speechocean762 as laid out in ``../shared/data/speechocean762`` (its ``SOURCE.md``).

    ``nondigit/SPEAKERnnnn/UTT.flac`` (read sentences without any number word) become
    :data:`PASSAGE_LABEL` rows (material: the ``real_speech_piece`` negatives, the threshold's
    validation speech, ``far``'s held-out real speech); ``digit_strings/SPEAKERnnnn/UTT.flac``
    become :data:`DIGIT_STRING_LABEL` rows. ``word`` is the transcript (``text``, lower case),
    ``speaker`` the corpus's speaker id (``utt2spk``; the folder name if missing there). Split by
    speaker hash with ``fractions`` (default ``SPLIT_FRACTIONS["speechocean762"]``, 50/25/25).

    Raises
    ------
    DataError
        If ``root`` holds neither ``nondigit/`` nor ``digit_strings/``, or no audio in them.
    """
    root = Path(root)
    fractions = fractions or SPLIT_FRACTIONS["speechocean762"]
    kinds = [(root / "nondigit", PASSAGE_LABEL), (root / "digit_strings", DIGIT_STRING_LABEL)]
    if not any(d.is_dir() for d, _ in kinds):
        raise DataError(f"{root}: expected nondigit/ or digit_strings/ (speechocean762 as in ../shared/data)")
    text = _kaldi_table(root / "text") if (root / "text").is_file() else {}
    utt2spk = _kaldi_table(root / "utt2spk") if (root / "utt2spk").is_file() else {}
    out: list[CorpusClip] = []
    for folder, label in kinds:
        if not folder.is_dir():
            continue
        for spk_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            for p in audio_files(spk_dir):
                speaker = utt2spk.get(p.stem) or spk_dir.name.removeprefix("SPEAKER")
                out.append(CorpusClip(p, label, text.get(p.stem, "").lower(), speaker, "speechocean762",
                                      split_of("speechocean762", speaker, fractions)))
    if not out:
        raise DataError(f"{root}: no audio files under nondigit/ or digit_strings/")
    return out


def legacy_split(row: CorpusClip) -> str:
    """The split ``row`` had before 2026-12-07, when ``speech_commands_digits`` hashed its speakers
    under its own name with 40/20/40 (``SPLIT_FRACTIONS["speech_commands_digits_legacy"]``);
    other rows: their split. Bundles trained before then saw that train/val part."""
    if row.source != "speech_commands_digits" or not row.speaker:
        return row.split
    return split_of("speech_commands_digits", row.speaker, SPLIT_FRACTIONS["speech_commands_digits_legacy"])


@dataclass(frozen=True)
class CorpusPaths:
    """Where each source is; ``None`` leaves it out. :meth:`shared` fills them from ``../shared/data``."""

    fsdd: Path | None = None
    speech_commands: Path | None = None
    speech_commands_digits: Path | None = None
    speech_commands_digits_extra: Path | None = None
    speechocean762: Path | None = None
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
            speech_commands_digits=opt(r / "speech_commands_digits"),
            speech_commands_digits_extra=opt(r / "speech_commands_digits_extra"),
            speechocean762=opt(r / "speechocean762"), noise=opt(r / "noise"),
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
    if paths.speech_commands_digits_extra:
        rows += read_folder_per_label(paths.speech_commands_digits_extra, source="speech_commands_digits_extra")
    if paths.speechocean762:
        rows += read_speechocean(paths.speechocean762)
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
    """Raise ``DataError`` if a speaker (other than FSDD's and noise) is in two splits.

    A Speech Commands speaker is one person in every Speech Commands folder
    (:data:`SPEECH_COMMANDS_SOURCES`), so is checked across them."""
    seen: dict[str, str] = {}
    for r in rows:
        if r.source in ("fsdd", "noise", "generated") or not r.speaker:
            continue
        who = f"{split_key(r.source)}/{r.speaker}"
        prev = seen.setdefault(who, r.split)
        if prev != r.split:
            raise DataError(f"speaker {who} is in both the {prev} and {r.split} splits")


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
    "AUDIO_SUFFIXES", "CorpusClip", "CorpusPaths", "DIGIT_STRING_LABEL", "DIGIT_WORDS", "SPEECH_COMMANDS_SOURCES",
    "audio_files", "legacy_split", "read_speechocean", "split_key", "LICENCES", "NOISE_LABEL", "OPEN_LABELS", "PASSAGE_LABEL", "SILENCE_LABEL",
    "SPLIT_FRACTIONS", "UNKNOWN_LABEL", "check_speaker_disjoint", "read_corpus", "read_folder_per_label",
    "read_fsdd", "read_noise", "read_synth", "split_of", "summarize", "word_label", "write_table",
]
