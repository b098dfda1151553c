"""FSDD discovery, loading, padding and the evaluation protocols.

FSDD names its files ``{digit}_{speaker}_{index}.wav`` (FSDD README). Audio is
loaded at the front end's rate (22,050 Hz, mono, float32) with
``librosa.load`` and zero-padded or truncated to 0.8 s with
``librosa.util.fix_length``; a boolean mask marks the real samples.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..config import (
    DEFAULT_SEED,
    FRONT_END,
    FSDD_SAMPLE_RATE_HZ,
    FSDD_SPEAKERS,
    OFFICIAL_TEST_INDICES,
    SEED_SPEAKERS,
    SEED_TEST_FRACTION,
    VALIDATION_FRACTION,
    FrontEndConfig,
)
from ..errors import DataError

log = logging.getLogger(__name__)

#: Environment variable naming the directory of FSDD recordings.
DATA_ENV_VAR = "SPOKEN_DIGITS_DATA"
#: Where ``data download`` puts the recordings, and the last fallback of :func:`default_data_dir`.
DEFAULT_DATA_DIR = Path("data") / "fsdd" / "recordings"

_NAME_RE = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>[a-z]+)_(?P<index>[0-9]+)\.wav$")

PROTOCOLS = ("seed", "official", "speaker")


@dataclass(frozen=True, order=True)
class Recording:
    """One FSDD file: ``path`` and what its name says (digit 0-9, speaker, index >= 0)."""

    path: Path
    digit: int
    speaker: str
    index: int

    @property
    def name(self) -> str:
        return self.path.name


def parse_name(path: str | os.PathLike) -> Recording:
    """Parse an FSDD file name ``{digit}_{speaker}_{index}.wav``.

    Raises
    ------
    DataError
        If the name does not follow the pattern; the message names the file.
    """
    p = Path(path)
    m = _NAME_RE.match(p.name)
    if m is None:
        raise DataError(f"{p}: not an FSDD file name (expected '{{digit}}_{{speaker}}_{{index}}.wav', e.g. '7_jackson_32.wav')")
    return Recording(p, int(m["digit"]), m["speaker"], int(m["index"]))


def default_data_dir() -> Path:
    """``$SPOKEN_DIGITS_DATA`` if set, else ``./data/fsdd/recordings``."""
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env) if env else DEFAULT_DATA_DIR


def discover(data_dir: str | os.PathLike, *, speakers: Iterable[str] | None = None) -> list[Recording]:
    """List the FSDD recordings in ``data_dir``, sorted by path.

    ``.wav`` files whose name does not parse are skipped with a warning (a copy
    of FSDD may hold other files); other files are ignored.

    Parameters
    ----------
    data_dir : path
        Directory holding ``{digit}_{speaker}_{index}.wav`` files (not searched recursively).
    speakers : iterable of str, optional
        Keep only these speakers.

    Raises
    ------
    DataError
        If ``data_dir`` does not exist, is not a directory, or holds no FSDD recording
        (after the ``speakers`` filter).
    """
    d = Path(data_dir)
    if not d.exists():
        raise DataError(
            f"data directory {d} does not exist: run 'spoken-digits data download' or pass --data-dir "
            f"(or set {DATA_ENV_VAR})"
        )
    if not d.is_dir():
        raise DataError(f"data directory {d} is not a directory")
    keep = set(speakers) if speakers is not None else None
    out: list[Recording] = []
    for p in sorted(d.iterdir()):
        if p.suffix.lower() != ".wav":
            continue
        try:
            rec = parse_name(p)
        except DataError as e:
            log.warning("skipping %s", e)
            continue
        if keep is None or rec.speaker in keep:
            out.append(rec)
    if not out:
        which = f" of speakers {sorted(keep)}" if keep is not None else ""
        raise DataError(f"data directory {d} holds no FSDD recording{which} ('{{digit}}_{{speaker}}_{{index}}.wav')")
    return out


def load_audio(
    path: str | os.PathLike,
    *,
    config: FrontEndConfig = FRONT_END,
    expected_sample_rate_hz: int | None = FSDD_SAMPLE_RATE_HZ,
) -> np.ndarray:
    """Load one recording as mono float32 at ``config.sample_rate_hz``.

    The file is checked with ``soundfile.info`` first, then loaded with
    ``librosa.load(path, sr=config.sample_rate_hz, mono=True)`` (soxr resampling).

    Parameters
    ----------
    path : path
        A WAV file.
    expected_sample_rate_hz : int or None
        Refuse files at another rate (FSDD is 8,000 Hz, mono); ``None`` accepts any rate.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Samples in [-1, 1] at ``config.sample_rate_hz``; ``n >= 1``.

    Raises
    ------
    DataError
        If the file is unreadable or corrupt, empty, not mono, or (with
        ``expected_sample_rate_hz``) at another sample rate. The message names the file.
    """
    import librosa
    import soundfile as sf

    p = Path(path)
    try:
        info = sf.info(str(p))
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError / OSError
        raise DataError(f"{p}: unreadable or corrupt audio file ({e})") from e
    if info.frames == 0:
        raise DataError(f"{p}: empty audio file (0 samples)")
    if info.channels != 1:
        raise DataError(f"{p}: {info.channels} channels, expected mono (FSDD recordings are mono)")
    if expected_sample_rate_hz is not None and info.samplerate != expected_sample_rate_hz:
        raise DataError(
            f"{p}: sample rate {info.samplerate} Hz, expected {expected_sample_rate_hz} Hz (FSDD recordings are 8 kHz)"
        )
    try:
        y, _ = librosa.load(str(p), sr=config.sample_rate_hz, mono=True, dtype=np.float32)
    except Exception as e:
        raise DataError(f"{p}: cannot decode audio ({e})") from e
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise DataError(f"{p}: audio is empty or holds non-finite samples")
    return y


def pad_and_mask(y: np.ndarray, *, config: FrontEndConfig = FRONT_END) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad (at the end) or truncate a clip to exactly one window.

    Uses ``librosa.util.fix_length(y, size=config.window_samples)``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``config.sample_rate_hz``.

    Returns
    -------
    wave : np.ndarray [shape=(window_samples,), dtype=float32]
        The clip, left-aligned, zero-padded or truncated (17,640 samples = 0.8 s).
    mask : np.ndarray [shape=(window_samples,), dtype=bool]
        ``True`` where the sample is real audio, ``False`` where it is padding.
    """
    import librosa

    n = config.window_samples
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio of shape (n,), got shape {y.shape}")
    wave = librosa.util.fix_length(y, size=n).astype(np.float32, copy=False)
    mask = np.zeros(n, dtype=bool)
    mask[: min(y.size, n)] = True
    return wave, mask


@dataclass(frozen=True)
class Split:
    """One train/validation/test partition of recordings. ``name`` is the fold (e.g. ``"seed"``, ``"george"``)."""

    name: str
    train: tuple[Recording, ...]
    val: tuple[Recording, ...]
    test: tuple[Recording, ...]

    def to_dict(self) -> dict:
        return {k: [r.name for r in getattr(self, k)] for k in ("train", "val", "test")} | {"name": self.name}


def _stratified(recs: Sequence[Recording], test_fraction: float, seed: int) -> tuple[list[Recording], list[Recording]]:
    from sklearn.model_selection import train_test_split

    # Stratify by digit and speaker; small subsets (tests) may have too few files per
    # stratum, then by digit only, then not at all.
    for key in (lambda r: f"{r.digit}_{r.speaker}", lambda r: r.digit, None):
        try:
            a, b = train_test_split(
                list(recs), test_size=test_fraction, random_state=seed,
                stratify=[key(r) for r in recs] if key else None,
            )
            return sorted(a), sorted(b)
        except ValueError:
            if key is None:
                raise DataError(f"cannot split {len(recs)} recordings with test fraction {test_fraction}") from None
    raise AssertionError("unreachable")


def make_splits(recordings: Sequence[Recording], protocol: str, *, seed: int = DEFAULT_SEED) -> list[Split]:
    """Partition recordings by an evaluation protocol.

    Protocols
    ---------
    ``seed``
        Speakers {jackson, nicolas, theo, yweweler} (2,000 files), stratified by digit and
        speaker, 80 % train / 20 % test with ``seed`` (the seed notebooks: 1,600 / 400).
    ``official``
        All files; indices 0-4 are test, 5-49 train (FSDD README: 300 / 2,700).
    ``speaker``
        Leave-one-speaker-out: one split per speaker, whose files are the test part.

    In every split, ``VALIDATION_FRACTION`` (10 %) of the training part, stratified
    the same way, is held out for early stopping; the test part is never used for it.

    Returns
    -------
    splits : list of Split
        One split (``seed``, ``official``) or one per speaker (``speaker``).

    Raises
    ------
    DataError
        Unknown protocol, or recordings missing for it (e.g. no seed speaker).
    """
    recs = sorted(recordings)
    if protocol == "seed":
        pool = [r for r in recs if r.speaker in SEED_SPEAKERS]
        if not pool:
            raise DataError(f"protocol 'seed' needs recordings of {', '.join(SEED_SPEAKERS)}; none found")
        train, test = _stratified(pool, SEED_TEST_FRACTION, seed)
        parts = [("seed", train, test)]
    elif protocol == "official":
        test = [r for r in recs if r.index in OFFICIAL_TEST_INDICES]
        train = [r for r in recs if r.index not in OFFICIAL_TEST_INDICES]
        if not test or not train:
            raise DataError("protocol 'official' needs recordings with indices 0-4 (test) and 5-49 (train)")
        parts = [("official", train, test)]
    elif protocol == "speaker":
        speakers = sorted({r.speaker for r in recs})
        if len(speakers) < 2:
            raise DataError(f"protocol 'speaker' needs at least 2 speakers, found {speakers}")
        parts = [(s, [r for r in recs if r.speaker != s], [r for r in recs if r.speaker == s]) for s in speakers]
    else:
        raise DataError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    splits = []
    for name, train, test in parts:
        fit, val = _stratified(train, VALIDATION_FRACTION, seed)
        splits.append(Split(name, tuple(fit), tuple(val), tuple(test)))
    return splits


__all__ = [
    "DATA_ENV_VAR", "FSDD_SPEAKERS", "PROTOCOLS", "Recording", "Split", "default_data_dir", "discover",
    "load_audio", "make_splits", "pad_and_mask", "parse_name",
]
