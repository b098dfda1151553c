"""The deploy protocol: the shipped model, trained on every source with robustness augmentation.

``spoken-digits train --protocol deploy --classes open`` reads the corpus table
(:mod:`trainer.data.corpus`: FSDD, Speech Commands words/digits/silence, synthetic voices,
noise), adds generated negatives (:mod:`trainer.data.negatives`), augments every training
clip with :mod:`trainer.data.augment` and trains the spectrogram LSTM (or, with
``--model``, one of the CNNs of :mod:`trainer.models.cnn`) with SpecAugment on 12 classes
(``--classes open``: ten digits, ``_silence_``, ``_unknown_``) or 10
(``--classes digits``: digits only).

Splits are those of the corpus (speaker-disjoint); the test split of every source,
the held-out noise files and the held-out synthetic voices are never read here
(``spoken-digits robustness`` / ``far`` measure on them). After training, a softmax
temperature is fitted on the validation split (Guo et al. 2017, "On Calibration of
Modern Neural Networks") and the acceptance threshold chosen on it; both go to
``calibration.json`` and from there into the bundle.

Class balance: every class's examples are weighted by ``n / (n_classes * n_class)``
(``class_weight`` of ``Model.fit``), so each class contributes equally to the loss
whatever its count, and the two rejection classes then by ``negative_weight`` (1.5): a
false digit on an always-on microphone costs more than a missed one. The unknown words of the synthetic voices are capped
(:attr:`DeploySettings.max_synth_unknown`) so that they do not crowd out real speech.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path
from ..data.augment import (
    DEFAULT_AUGMENT, AugmentSettings, augment, build_chain, make_babble_bank, resample_bank, seed_for, vtlp_formant_scale,
)
from ..config import FRONT_END, LABELS, FrontEndConfig
from ..data.corpus import (
    LICENCES, NOISE_LABEL, OPEN_LABELS, SILENCE_LABEL, UNKNOWN_LABEL, CorpusClip, CorpusPaths,
    check_speaker_disjoint, read_corpus, summarize, write_table,
)
from ..data.fsdd import load_audio, pad_and_mask
from ..data.dataset import Arrays, default_cache_dir, run_parallel
from ..errors import DataError
from ..data.features import log_mel
from ..data.negatives import make_negatives

log = logging.getLogger(__name__)

CLASSES = ("open", "digits")
DEPLOY_MODEL = "spectrogram_aug"
#: In-model normalizations of the LSTM's log-mel input (``DeploySettings.log_mel_norm``).
LOG_MEL_NORMS = ("none", "band_mean")
#: ``DeploySettings.architecture``: the LSTM (``trainer.models.lstm``) or a CNN of ``trainer.models.cnn``.
ARCHITECTURES = ("lstm", "cnn_spectrogram", "cnn_mfcc", "cnn_vgg", "ds_cnn")
_CACHE_FORMAT = 1

#: Generated negatives per split (see trainer.data.negatives); val gets a few of each non-FSDD kind.
#: ``passage_piece``: drawn from the windows the segmenter cuts out of the voices' readings (a 1.9 min reading gives about 110).
NEGATIVE_COUNTS = {
    "train": {"reversed": 800, "two_digits": 800, "tone": 250, "chirp": 250, "clicks": 250, "chord": 250,
              "colored_noise": 400, "noise_segment": 1200, "speech_run": 3000, "babble": 800,
              "passage_piece": 3000, "real_speech_piece": 2500},
    "val": {"tone": 30, "chirp": 30, "clicks": 30, "chord": 30, "colored_noise": 40, "speech_run": 300,
            "babble": 60, "passage_piece": 300, "real_speech_piece": 400},
}


@dataclass(frozen=True)
class DeploySettings:
    """What the deploy protocol trains on and how (written to ``run.json``)."""

    classes: str = "open"
    #: Copies of each training clip per label kind: the clean clip + (n - 1) augmented ones.
    #: 6: with 4 (the first shipped open-set model) a training digit was heard in babble at
    #: <= 10 dB about once, and babbled digits were rejected as unknown (robustness table).
    digit_copies: int = 6
    #: Digits of real voices other than FSDD's (Speech Commands): oversampled, they are the only
    #: digits recorded on other microphones; at most this many copies of a clip ...
    real_digit_copies: int = 12
    #: ... and, per digit, about this many real-voice log-mels in all (clean + augmented): the
    #: Speech Commands copies are uneven (eight ~700 training clips, two/three/four/six/seven ~10),
    #: so without a cap "recorded on a phone" would come to mean "eight" (:func:`copies_of`).
    real_digit_log_mels_per_class: int = 2400
    unknown_copies: int = 2
    silence_copies: int = 2
    #: Validation: the clean clip + one augmented copy (the threshold is chosen on both).
    val_copies: int = 2
    max_synth_unknown: int = 4000
    babble_tracks: int = 300
    #: Multiplies :data:`NEGATIVE_COUNTS` (tests use a small fraction).
    negative_scale: float = 1.0
    #: ``real_speech_word`` negatives in training (the stretches between the pauses of the training
    #: readers' sentences; :mod:`trainer.data.negatives`), and 12 % as many in validation; 0: none, as the
    #: shipped model. 2,500 (``runs/words8``) rejected more real validation digits at every false-digit
    #: rate of the validation sentences (docs/results.md), so it is off by default.
    real_speech_words: int = 0
    lstm_units: int = 96
    #: Normalization of the LSTM's log-mel input inside the model: "none" (the dB of
    #: ``power_to_db(ref=np.max)`` as they are) or "band_mean" (each mel band minus its mean over
    #: the window, :class:`trainer.models.layers.BandMeanNormalization`: cancels a microphone's
    #: frequency response and a steady noise floor; no change to the bundle's front end).
    log_mel_norm: str = "none"
    #: Filters of a convolution in front of the LSTM (a CRNN, :data:`trainer.models.lstm.CONV_KERNEL`);
    #: None: none (the LSTM on the log-mel frames, as every run before it).
    conv_filters: int | None = None
    #: Units of the dense layer(s) of cnn_spectrogram / cnn_mfcc / cnn_vgg; None = the builder's default
    #: (128 / 256 / 256). The Flatten -> Dense kernel holds most of their parameters: cnn_spectrogram
    #: with 128 is 287 k parameters, 292 KB at int8; 32 brings it under the 128 KB budget.
    cnn_dense_units: int | None = None
    #: Channels of ds_cnn's convolutions; None = 64 ("Hello Edge" DS-CNN small). Its multiply-adds
    #: grow with the square of this (the 1x1 pointwise convolutions dominate).
    ds_cnn_filters: int | None = None
    #: One of :data:`ARCHITECTURES`; the LSTM's model folder is :data:`DEPLOY_MODEL`, a CNN's its name.
    architecture: str = "lstm"
    augment: AugmentSettings = field(default_factory=lambda: DEFAULT_AUGMENT)
    #: Speech clips are trimmed (``librosa.effects.trim(top_db=...)``) before padding, as the
    #: live segmenter cuts an utterance out of the stream: one-second Speech Commands clips
    #: would otherwise start with a variable stretch of room noise that FSDD never has,
    #: and the model would learn the recording set-up instead of the word.
    trim_top_db: float = 30.0
    #: Extra loss weight of _silence_ and _unknown_ over the balanced weights (2 in the first
    #: open-set model pushed noisy digits into _unknown_; the threshold guards false accepts).
    negative_weight: float = 1.5
    #: Target false-accept rate on the validation negatives for the default threshold. 3 %: since
    #: the validation negatives hold pieces of continuous speech (``speech_run``, the hardest kind),
    #: 1 % took a threshold (0.97) that rejected over half of the validation digits (accuracy
    #: 0.45); at 3 % it keeps 0.72 of them (threshold 0.92). ``calibrate`` raises it per user.
    val_false_accept_target: float = 0.03
    #: An FSDD speaker (``george``, ``jackson``, ...) left out of training and validation: all of
    #: their clips go to the test split (leave-one-speaker-out, ``spoken-digits loso``). None: the
    #: FSDD README's split (indices 0-4 of every speaker are test), as the shipped model.
    held_out_speaker: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return OPEN_LABELS if self.classes == "open" else LABELS

    @property
    def model_folder(self) -> str:
        """The run's model folder: ``spectrogram_aug`` for the LSTM (as every earlier run), else the architecture."""
        return DEPLOY_MODEL if self.architecture == "lstm" else self.architecture

    def to_dict(self) -> dict:
        return asdict(self)


def model_folder_of(run_info: dict) -> str:
    """The model folder of a deploy run from its ``run.json`` (runs before issue 10 record no architecture)."""
    return run_info.get("model") or DeploySettings(architecture=run_info.get("deploy", {}).get("architecture",
                                                                                              "lstm")).model_folder


def deploy_table(paths: CorpusPaths, *, settings: DeploySettings, cache_dir: Path, seed: int) -> list[CorpusClip]:
    """The rows the deploy model uses: corpus + generated negatives, minus what the label set excludes.

    Raises
    ------
    DataError
        No FSDD, no noise recordings, or a speaker in two splits.
    """
    rows = read_corpus(paths)
    check_speaker_disjoint(rows)
    if not any(r.source == "fsdd" for r in rows):
        raise DataError("the deploy protocol needs FSDD (--data-dir)")
    if settings.held_out_speaker is not None:
        rows = hold_out_speaker(rows, settings.held_out_speaker)
    if not any(r.label == NOISE_LABEL for r in rows):
        raise DataError("the deploy protocol needs background-noise recordings (--noise-dir)")
    if settings.classes == "open":
        counts = {split: {k: max(1, round(n * settings.negative_scale)) for k, n in kinds.items()}
                  for split, kinds in NEGATIVE_COUNTS.items()}
        if settings.real_speech_words > 0:
            counts["train"]["real_speech_word"] = settings.real_speech_words
            counts["val"]["real_speech_word"] = max(1, round(0.12 * settings.real_speech_words))
        rows += make_negatives(rows, cache_dir / "negatives", counts=counts, seed=seed)
        synth_unknown = [r for r in rows if r.source == "synth" and r.label == UNKNOWN_LABEL and r.split == "train"]
        if len(synth_unknown) > settings.max_synth_unknown:
            rng = np.random.default_rng(seed)
            drop = set(rng.choice(len(synth_unknown), len(synth_unknown) - settings.max_synth_unknown, replace=False))
            gone = {synth_unknown[i].path for i in drop}
            rows = [r for r in rows if r.path not in gone]
    else:
        rows = [r for r in rows if r.is_digit or r.label == NOISE_LABEL]
    return sorted(rows)


def hold_out_speaker(rows: Sequence[CorpusClip], speaker: str) -> list[CorpusClip]:
    """``rows`` with every FSDD clip of ``speaker`` moved to the test split (leave-one-speaker-out).

    Applied before the generated negatives are made, so no reversed or overlapped clip of
    that speaker reaches training either (a negative inherits the split of its clips).

    Raises
    ------
    DataError
        ``speaker`` has no FSDD clip (the error lists the speakers there are).
    """
    import dataclasses

    fsdd = {r.speaker for r in rows if r.source == "fsdd"}
    if speaker not in fsdd:
        raise DataError(f"no FSDD recordings of speaker {speaker!r} to hold out; the corpus has "
                        f"{', '.join(sorted(fsdd)) or 'none'}")
    if len(fsdd) < 2:
        raise DataError(f"holding out {speaker!r} would leave no FSDD speaker to train on")
    return [dataclasses.replace(r, split="test") if r.source == "fsdd" and r.speaker == speaker else r for r in rows]


def is_real_digit(row: CorpusClip) -> bool:
    """A digit recorded by a real person on another microphone than FSDD's (Speech Commands, ``--folder``)."""
    return row.is_digit and row.source not in ("fsdd", "synth", "generated")


def copies_of(row: CorpusClip, split: str, settings: DeploySettings, real_per_class: int | None = None) -> int:
    """How many copies (clean first, then augmented) a row contributes to ``split``.

    A training real-voice digit (:func:`is_real_digit`) gets
    ``clip(ceil(real_digit_log_mels_per_class / real_per_class), 1, real_digit_copies)`` copies,
    where ``real_per_class`` is the number of training real-voice clips of its digit (None:
    ``real_digit_copies``), so that every digit has about the same real-voice share.
    """
    if split == "test":
        return 1
    if split != "train":
        return settings.val_copies
    if row.is_digit:
        if not is_real_digit(row):
            return settings.digit_copies
        if not real_per_class:
            return settings.real_digit_copies
        return int(min(settings.real_digit_copies, max(1, -(-settings.real_digit_log_mels_per_class // real_per_class))))
    return settings.unknown_copies if row.label == UNKNOWN_LABEL else settings.silence_copies


# ------------------------------------------------------------------------------------------ features
_CHAINS: dict = {}


def _chain(noise_files: tuple[Path, ...], babble_files: tuple[Path, ...], aug: AugmentSettings):
    key = (noise_files, babble_files, aug)
    if key not in _CHAINS:
        if len(_CHAINS) > 64:
            _CHAINS.clear()
        _CHAINS[key] = build_chain(noise_files=noise_files, babble_files=babble_files, settings=aug)
    return _CHAINS[key]


def is_speech(row: CorpusClip) -> bool:
    """Whether the deploy protocol trims ``row`` before padding: every spoken clip, not noise or generated audio."""
    return row.label != SILENCE_LABEL and row.source != "generated"


def load_clip(path: Path, *, config: FrontEndConfig = FRONT_END, trim_top_db: float | None = None) -> np.ndarray:
    """One clip as the deploy protocol reads it, before padding to the window.

    ``load_audio`` at ``config.sample_rate`` (any file rate, resampled), then, if ``trim_top_db``
    is given, ``librosa.effects.trim(y, top_db=trim_top_db)`` (leading and trailing frames more
    than ``trim_top_db`` dB below the clip's peak are cut; a clip it would empty is kept whole).

    Returns
    -------
    np.ndarray [shape=(n,), float32], mono, -1..1.

    Raises
    ------
    DataError
        An unreadable, empty or corrupt file (``load_audio``).
    """
    y = load_audio(path, config=config, expected_sample_rate_hz=None)
    if trim_top_db is not None:
        import librosa

        trimmed, _ = librosa.effects.trim(y, top_db=trim_top_db)
        y = trimmed if trimmed.size else y
    return y


def _featurize(path: Path, entry: Path, copies: int, seed: int, noise_files: tuple[Path, ...],
               babble_files: tuple[Path, ...], aug: AugmentSettings, config: FrontEndConfig,
               trim_top_db: float | None) -> None:
    """Clean + augmented log-mels of one clip (trimmed first if ``trim_top_db``), written atomically to ``entry``."""
    y = load_clip(path, config=config, trim_top_db=trim_top_db)
    mels = np.empty((copies, *config.log_mel_shape), np.float32)
    for k in range(copies):
        z = y if k == 0 else augment(y, _chain(noise_files, babble_files, aug), seed=seed_for(seed, path.name, k),
                                     settings=aug, config=config)
        wave, _ = pad_and_mask(z, config=config)
        scale = 1.0 if k == 0 else vtlp_formant_scale(aug, seed_for(seed, path.name, k, "vtlp"))
        mels[k] = log_mel(wave, config=config, formant_scale=scale)
    with atomic_path(entry) as tmp, open(tmp, "wb") as f:
        np.savez(f, log_mel=mels)


@dataclass
class Material:
    """Noise and babble the augmentation draws from (training side only)."""

    noise_files: tuple[Path, ...]
    babble: list[tuple[Path, frozenset[str]]]
    key: str


def training_material(rows: Sequence[CorpusClip], *, settings: DeploySettings, cache_dir: Path, seed: int,
                      config: FrontEndConfig = FRONT_END) -> Material:
    """Training noise recordings (resampled) and a babble bank of training speakers' non-digit words.

    Babble speakers are ``source/speaker`` groups of the train split; a clip is never mixed
    with a track that contains its own speaker (:func:`featurize_split`).
    """
    noise = resample_bank([r.path for r in rows if r.label == NOISE_LABEL and r.split == "train"],
                          cache_dir / "noise", config=config)
    speech = [(r.path, r.group) for r in rows
              if r.split == "train" and r.label == UNKNOWN_LABEL and r.source in ("speech_commands", "synth")]
    a = settings.augment
    babble = make_babble_bank(speech, cache_dir / "babble", n_tracks=settings.babble_tracks, seed=seed,
                              talkers=(a.babble_talkers_min, a.babble_talkers_max), config=config)
    key = hashlib.sha256(json.dumps([[p.name for p in noise], [str(b) for b, _ in babble]]).encode()).hexdigest()[:12]
    return Material(tuple(noise), babble, key)


def featurize_split(
    rows: Sequence[CorpusClip], split: str, *, labels: Sequence[str], settings: DeploySettings, material: Material,
    cache_dir: Path, seed: int, config: FrontEndConfig = FRONT_END, progress: bool = True, n_jobs: int | None = None,
) -> Arrays:
    """Log-mels of every row of ``split`` (clean + augmented copies), cached per clip.

    Returns
    -------
    arrays : Arrays
        ``log_mel`` [shape=(n, n_mels, n_frames), float32, dB], ``label`` (index into
        ``labels``), ``speaker`` (``source/speaker``), ``source`` (row index in ``rows``
        of this split); ``wave`` and ``mask`` are empty (the spectrogram model needs neither).
    """
    mine = [r for r in rows if r.split == split and r.label in labels]
    if not mine:
        raise DataError(f"no {split} clips with labels {list(labels)}")
    spec = {"format": _CACHE_FORMAT, "front_end": config.to_dict(), "augment": settings.augment.key(),
            "material": material.key, "seed": seed, "trim_top_db": settings.trim_top_db}
    if settings.augment.segmenter_cut:
        from realtime.constants import SEGMENTER_WINDOW_VERSION  # windows cut by the live segmenter

        spec["segmenter_window"] = SEGMENTER_WINDOW_VERSION
    folder = cache_dir / "deploy-clips" / hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    all_babble = tuple(b for b, _ in material.babble)
    real_per_class: dict[str, int] = {}
    for r in mine:
        if is_real_digit(r):
            real_per_class[r.label] = real_per_class.get(r.label, 0) + 1
    entries, todo = [], []
    for r in mine:
        n = copies_of(r, split, settings, real_per_class.get(r.label))
        digest = hashlib.sha256(r.path.read_bytes()).hexdigest()[:24]
        entry = folder / f"{digest}-{n}.npz"
        entries.append(entry)
        if not entry.exists():
            babble = all_babble if r.source not in ("speech_commands", "synth") else tuple(
                b for b, who in material.babble if r.group not in who)
            speech = is_speech(r)
            todo.append((r.path, entry, n, seed, material.noise_files, babble, settings.augment, config,
                         settings.trim_top_db if speech else None))
    if todo:
        run_parallel(_featurize, todo, n_jobs=n_jobs, progress=progress, description=f"augmenting {split}")
    mels, lab, spk, src = [], [], [], []
    for i, (r, entry) in enumerate(zip(mine, entries)):
        with np.load(entry) as z:
            m = z["log_mel"]
        mels.append(m)
        lab += [labels.index(r.label)] * len(m)
        spk += [r.group] * len(m)
        src += [i] * len(m)
    n = len(lab)
    return Arrays(wave=np.empty((n, 0), np.float32), mask=np.empty((n, 0), bool),
                  log_mel=np.concatenate(mels).astype(np.float32), label=np.asarray(lab, np.int32),
                  speaker=np.asarray(spk, dtype=str), source=np.asarray(src, np.int32))


def class_weights(labels: np.ndarray, n_classes: int, *, boost: Sequence[int] = (), factor: float = 1.0
                  ) -> dict[int, float]:
    """``n / (n_classes * n_c)`` per class present (sklearn's "balanced" heuristic), times
    ``factor`` for the classes in ``boost``."""
    counts = np.bincount(labels, minlength=n_classes)
    n = counts.sum()
    return {c: float(n / (n_classes * counts[c])) * (factor if c in boost else 1.0)
            for c in range(n_classes) if counts[c] > 0}


# --------------------------------------------------------------------------------------- calibration
def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE of the top-label confidence (Guo et al. 2017, eq. 3; 15 equal-width bins).

    Parameters
    ----------
    probabilities : np.ndarray [shape=(n, n_classes), float]
    labels : np.ndarray [shape=(n,), int]
    """
    conf = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(right[inside].mean() - conf[inside].mean())
    return float(ece)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` over the last axis, float64."""
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` minimizing the validation NLL of ``softmax(logits / T)``.

    Bounded scalar minimization (``scipy.optimize.minimize_scalar``) over T in [0.05, 20].
    """
    from scipy.optimize import minimize_scalar

    def nll(t: float) -> float:
        p = softmax(logits, t)[np.arange(len(labels)), labels]
        return float(-np.mean(np.log(np.maximum(p, 1e-12))))

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def choose_threshold(probabilities: np.ndarray, labels: np.ndarray, *, digit_classes: int, target_fa: float) -> float:
    """Smallest top-digit probability threshold whose false-accept rate on the negatives is <= ``target_fa``.

    A negative (label >= ``digit_classes``) is falsely accepted when its top class is a
    digit with probability >= threshold. Returns 0.5 at least (a digit must win).
    """
    neg = labels >= digit_classes
    top = probabilities.argmax(axis=1)
    conf = probabilities.max(axis=1)
    accepted_conf = np.where(top[neg] < digit_classes, conf[neg], 0.0)
    if accepted_conf.size == 0:
        return 0.5
    for t in np.round(np.arange(0.5, 1.0, 0.01), 2):
        if np.mean(accepted_conf >= t) <= target_fa:
            return float(t)
    return 0.99


def logits_of(model, log_mels: np.ndarray) -> np.ndarray:
    """Pre-softmax outputs of a spectrogram model (its last Dense without the softmax), float32."""
    import keras

    last = model.layers[-1]
    body = keras.Model(model.inputs, last.input)
    h = body.predict(log_mels, batch_size=512, verbose=0)
    w, b = last.get_weights()
    return (h @ w + b).astype(np.float32)


def calibrate(model, val: Arrays, *, labels: Sequence[str], target_fa: float) -> dict:
    """Temperature, threshold and ECE before/after on the validation arrays."""
    logits = logits_of(model, val.log_mel)
    t = fit_temperature(logits, val.label)
    p0, p1 = softmax(logits), softmax(logits, t)
    n_digits = sum(1 for x in labels if x in LABELS)
    thr = choose_threshold(p1, val.label, digit_classes=n_digits, target_fa=target_fa)
    dig = val.label < n_digits
    acc = np.mean((p1.argmax(1) == val.label) & (~dig | (p1.max(1) >= thr))) if len(val.label) else float("nan")
    nll = lambda q: float(-np.mean(np.log(np.maximum(q[np.arange(len(val.label)), val.label], 1e-12))))  # noqa: E731
    return {
        "temperature": round(t, 4), "threshold": thr, "val_samples": int(len(val.label)),
        "nll_before": round(nll(p0), 4), "nll_after": round(nll(p1), 4),
        "ece_before": round(expected_calibration_error(p0, val.label), 4),
        "ece_after": round(expected_calibration_error(p1, val.label), 4),
        "val_accuracy_at_threshold": round(float(acc), 4),
        "val_false_accept_target": target_fa,
        "method": "temperature scaling (Guo et al. 2017) on the validation split; threshold = smallest top-digit "
                  "probability with false-accept rate <= target on the validation negatives",
    }


# ------------------------------------------------------------------------------------------ training
def train_deploy(
    out: str | os.PathLike, *, paths: CorpusPaths, deploy: DeploySettings, train_settings, cache_dir=None,
    force: bool = False, progress: bool = True, verbose: int = 2, n_jobs: int | None = None, model=None,
) -> Path:
    """Train the deploy model into ``out`` (resumable; a finished model is kept unless ``force``).

    ``model``: an uncompiled Keras model of ``deploy.architecture`` to train instead of the
    default build (tests train CNNs of reduced width, ``trainer.models.cnn.build_cnn(..., filters=...)``).

    Writes ``run.json`` (protocol ``deploy``, labels, sources and licences, corpus counts,
    settings), ``corpus.csv`` (every row used, with its split), ``MODEL/model.keras`` and
    the trainer's usual files, ``MODEL/representative.npy`` (500 training log-mels for
    int8 calibration) and ``MODEL/calibration.json``.

    Raises
    ------
    DataError
        Missing sources; RunError: ``out`` holds a run of other settings.
    """
    import datetime as _dt

    from .. import __version__
    from ..errors import RunError
    from ..models.lstm import build_spectrogram_model
    from ..runs import RUN_FORMAT, load_model, write_json_atomic
    from .train import git_commit, train_one

    if deploy.classes not in CLASSES:
        raise ValueError(f"classes must be one of {CLASSES}, got {deploy.classes!r}")
    if deploy.architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {deploy.architecture!r}")
    if deploy.log_mel_norm not in LOG_MEL_NORMS:
        raise ValueError(f"log_mel_norm must be one of {LOG_MEL_NORMS}, got {deploy.log_mel_norm!r}")
    if deploy.conv_filters is not None and deploy.architecture != "lstm" and model is None:
        raise ValueError(f"conv_filters puts a convolution in front of the LSTM, not of {deploy.architecture}")
    if deploy.log_mel_norm != "none" and deploy.architecture != "lstm" and model is None:
        raise ValueError(f"log_mel_norm={deploy.log_mel_norm!r} is built into the LSTM only, not {deploy.architecture}")
    out = Path(out)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    seed = train_settings.seed
    rows = deploy_table(paths, settings=deploy, cache_dir=cache, seed=seed)
    labels = list(deploy.labels)
    info = {
        "run_format": RUN_FORMAT, "spoken_digits_version": __version__, "protocol": "deploy",
        "labels": labels, "model": deploy.model_folder, "deploy": deploy.to_dict(), "settings": train_settings.__dict__,
        "front_end": FRONT_END.to_dict(),
        "sources": {s: LICENCES.get(s.split(":")[0], "see the folder's own licence")
                    for s in sorted({r.source for r in rows})},
        "corpus": summarize(rows), "commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if (out / "run.json").exists():
        old = json.loads((out / "run.json").read_text())
        # runs before issue 10: the LSTM; before --cnn-dense-units: the builders' default
        old_deploy = {"architecture": "lstm", "cnn_dense_units": None, "ds_cnn_filters": None,
                      "held_out_speaker": None, "log_mel_norm": "none", "conv_filters": None,
                      **old.get("deploy", {})}
        # compared as JSON (tuples of the settings come back as lists)
        if (old.get("protocol"), old.get("labels"), old_deploy, old.get("settings", {}).get("seed")) != (
                "deploy", labels, json.loads(json.dumps(info["deploy"])), seed):
            raise RunError(f"{out} already holds a run with other settings; choose another --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_table(rows, out / "corpus.csv")
        write_json_atomic(out / "splits.json", [])
        write_json_atomic(out / "run.json", info)
    mdir = out / deploy.model_folder
    if (mdir / "model.keras").exists() and not force:
        log.info("%s: already trained (use --force to retrain)", mdir)
        return out
    material = training_material(rows, settings=deploy, cache_dir=cache, seed=seed)
    common = dict(labels=labels, settings=deploy, material=material, cache_dir=cache, seed=seed, progress=progress,
                  n_jobs=n_jobs)
    train = featurize_split(rows, "train", **common)
    val = featurize_split(rows, "val", **common)
    log.info("deploy: %d train and %d val log-mels over %d classes", len(train), len(val), len(labels))
    if model is None and deploy.architecture == "lstm":
        model = build_spectrogram_model(n_classes=len(labels), lstm_units=deploy.lstm_units, spec_augment=True,
                                        band_mean_norm=deploy.log_mel_norm == "band_mean",
                                        conv_filters=deploy.conv_filters or 0, name=DEPLOY_MODEL)
    elif model is None:
        from ..models.cnn import build_cnn

        size = {} if deploy.cnn_dense_units is None else {"dense_units": deploy.cnn_dense_units}
        if deploy.ds_cnn_filters is not None:
            size["filters"] = deploy.ds_cnn_filters
        model = build_cnn(deploy.architecture, n_classes=len(labels), spec_augment=True, **size)
    negatives = [labels.index(x) for x in (SILENCE_LABEL, UNKNOWN_LABEL) if x in labels]
    cw = class_weights(train.label, len(labels), boost=negatives, factor=deploy.negative_weight)
    summary = train_one(deploy.model_folder, train, val, mdir, train_settings, verbose=verbose, model=model,
                        class_weight=cw)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(train), size=min(500, len(train)), replace=False))
    with atomic_path(mdir / "representative.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, train.log_mel[pick])
    cal = calibrate(load_model(mdir / "model.keras"), val, labels=labels, target_fa=deploy.val_false_accept_target)
    cal["class_weight"] = {labels[c]: round(w, 4) for c, w in cw.items()}
    cal["train_log_mels_per_class"] = {labels[c]: int(n) for c, n in enumerate(np.bincount(train.label, minlength=len(labels)))}
    write_json_atomic(mdir / "calibration.json", cal)
    write_json_atomic(mdir / "train.json", {**summary, "calibration": cal})
    return out


def read_table(run_dir: Path) -> list[CorpusClip]:
    """The ``corpus.csv`` a deploy run wrote (every row it used, with its split)."""
    import csv

    with open(Path(run_dir) / "corpus.csv", newline="", encoding="utf-8") as f:
        return [CorpusClip(Path(r["path"]), r["label"], r["word"], r["speaker"], r["source"], r["split"])
                for r in csv.DictReader(f)]


def evaluate_deploy(run, *, cache_dir=None, progress: bool = True, thresholds=()) -> dict:
    """Clean test windows of every source through the Keras model, at the calibrated threshold.

    For each source of the test split: digit accuracy (a rejection or a wrong digit is an
    error), digit accuracy of the plain argmax over the digits, and for non-digit clips the
    false-accept rate (a digit above the threshold). Also the 12-class confusion matrix and
    the ECE before/after temperature on the test clips. Noise, babble and the segmenter are
    measured on a bundle by ``spoken-digits robustness`` / ``far``.

    ``thresholds`` (probabilities in (0, 1)): other operating points at which each FSDD test
    speaker's digit accuracy is also scored, with the run's own temperature
    (``per_fsdd_speaker[s]["digit_accuracy_at"]``, keyed ``f"{t:.3f}"``): ``loso`` scores every
    held-out voice at the shipped bundle's threshold as well as at its run's own.
    """
    from ..runs import load_model

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    labels = list(run.info["labels"])
    mdir = run.path / model_folder_of(run.info)
    cal = json.loads((mdir / "calibration.json").read_text())
    t, thr = cal["temperature"], cal["threshold"]
    rows = [r for r in read_table(run.path) if r.split == "test" and r.label in labels]
    settings = DeploySettings(**{k: v for k, v in run.info["deploy"].items() if k != "augment"})
    test = featurize_split(rows, "test", labels=labels, settings=settings, material=Material((), [], "clean"),
                           cache_dir=cache, seed=run.info["settings"]["seed"], progress=progress)
    model = load_model(mdir / "model.keras")
    logits = logits_of(model, test.log_mel)
    p = softmax(logits, t)
    n_digits = sum(1 for x in labels if x in LABELS)
    top, conf = p.argmax(1), p.max(1)
    accepted = (top < n_digits) & (conf >= thr)
    sources = np.asarray([r.source for r in rows])[test.source]
    per_source = {}
    for src in sorted(set(sources)):
        m = sources == src
        dig = m & (test.label < n_digits)
        neg = m & (test.label >= n_digits)
        per_source[src] = {
            "digits": int(dig.sum()), "negatives": int(neg.sum()),
            "digit_accuracy": None if not dig.any() else round(float(np.mean(accepted[dig] & (top[dig] == test.label[dig]))), 4),
            "digit_argmax_accuracy": None if not dig.any() else round(float(np.mean(
                p[dig, :n_digits].argmax(1) == test.label[dig])), 4),
            "false_accept_rate": None if not neg.any() else round(float(np.mean(accepted[neg])), 4),
        }
    per_fsdd_speaker = {}
    speakers = np.asarray([r.speaker for r in rows])[test.source]
    for who in sorted(set(speakers[(sources == "fsdd") & (test.label < n_digits)])):
        m = (sources == "fsdd") & (speakers == who) & (test.label < n_digits)
        per_fsdd_speaker[who] = {
            "digits": int(m.sum()),
            "digit_accuracy": round(float(np.mean(accepted[m] & (top[m] == test.label[m]))), 4),
            "digit_argmax_accuracy": round(float(np.mean(p[m, :n_digits].argmax(1) == test.label[m])), 4),
        }
        if len(thresholds):
            per_fsdd_speaker[who]["digit_accuracy_at"] = {
                f"{float(x):.3f}": round(float(np.mean((top[m] == test.label[m]) & (conf[m] >= float(x)))), 4)
                for x in thresholds}
    from sklearn.metrics import confusion_matrix

    return {
        "labels": labels, "temperature": t, "threshold": thr, "n_test": int(len(test)),
        "per_source": per_source, "per_fsdd_speaker": per_fsdd_speaker,
        "held_out_speaker": run.info["deploy"].get("held_out_speaker"),
        "ece_before": round(expected_calibration_error(softmax(logits), test.label), 4),
        "ece_after": round(expected_calibration_error(p, test.label), 4),
        "confusion_matrix": confusion_matrix(test.label, top, labels=list(range(len(labels)))).tolist(),
        "calibration": cal,
    }


__all__ = ["ARCHITECTURES", "CLASSES", "DEPLOY_MODEL", "DeploySettings", "model_folder_of", "calibrate", "choose_threshold", "class_weights",
           "copies_of", "is_real_digit", "deploy_table", "evaluate_deploy", "hold_out_speaker", "is_speech", "load_clip", "read_table", "expected_calibration_error", "featurize_split", "fit_temperature",
           "softmax", "train_deploy", "training_material"]
