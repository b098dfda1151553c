"""The seeds' own task: 12-class Speech Commands keyword spotting (issue 10, second task).

``spoken-digits train --protocol commands --model cnn_spectrogram --words yes,no,up,down,left,right,on,off,stop,go``
trains one of the keyword CNNs (:mod:`trainer.models.cnn`) or the LSTM on the task of the Kaggle
"TensorFlow Speech Recognition Challenge" that the seed notebooks worked on: the ten command
words, ``_silence_`` (background noise) and ``_unknown_`` (any other word), 12 classes.

**Data.** Only the shared copy of the Speech Commands v0.02 *test* files
(``speech_commands_v0.02_test``: 4,074 command-word clips, 168 other words, 408 noise clips,
239 speakers) and its 121 digit clips (``speech_commands_digits``, other words here), through
the corpus layer (:func:`trainer.data.corpus.read_folder_per_label`): splits by speaker hash
(70 / 10 / 20 %), both folders read as source ``speech_commands`` so a speaker of both is in
one split. This is **far smaller than the seeds' training data** (the Kaggle training set:
about 65,000 one-second clips of 1,881 speakers, of which about 2,400 per command word), and
its ``_unknown_`` class has only ~290 clips of 25 words; the accuracies are not comparable
with the seeds' leaderboard figures (~75 % for the small CNN).

**Silence.** The copy's ``_silence_`` clips (cut from the background recordings, training
only), plus noise segments cut from the noise recordings of each split and coloured noise
(:func:`trainer.data.negatives.make_negatives`, ``noise_segment`` / ``colored_noise``): the test
silence comes from held-out noise files. (Kaggle's silence was likewise cut from background
noise.)

**Features and training** are the deploy protocol's (:mod:`trainer.recipes.deploy`): the project's
0.8 s log-mel of the trimmed clip (a one-second clip is cut to 0.8 s after trimming), clean
plus augmented copies (room, microphone, noise, babble of other training speakers),
SpecAugment, balanced class weights, early stopping on the validation speakers. The test
split is scored clean: accuracy, macro-F1, per-class accuracy and the confusion matrix
(``metrics.json``, ``report.md``). No bundle: the live recognizer is for digits.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.corpus import NOISE_LABEL, SILENCE_LABEL, UNKNOWN_LABEL, CorpusClip, read_folder_per_label, read_noise
from ..errors import DataError

log = logging.getLogger(__name__)

#: The Kaggle challenge's ten command words.
DEFAULT_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
#: Generated silence per split (``trainer.data.negatives``): noise segments of that split's recordings
#: (none in val: the noise recordings have no val part) and coloured noise.
SILENCE_COUNTS = {"train": {"noise_segment": 250, "colored_noise": 50},
                  "val": {"colored_noise": 60},
                  "test": {"noise_segment": 120, "colored_noise": 30}}
#: Copies of every training clip (clean + augmented); ``trainer.recipes.deploy.copies_of`` gives words and
#: _silence_ ``silence_copies`` and _unknown_ ``unknown_copies``.
TRAIN_COPIES = 3


def labels_for(words: Sequence[str]) -> list[str]:
    """Class names: the words in the given order, then ``_silence_``, ``_unknown_``."""
    return [*words, SILENCE_LABEL, UNKNOWN_LABEL]


def relabel(rows: Sequence[CorpusClip], words: Sequence[str]) -> list[CorpusClip]:
    """Speech Commands rows with the task's labels: a command word is its own class, every other
    word (digits included) ``_unknown_``; ``_silence_`` and noise rows keep theirs."""
    out = []
    for r in rows:
        if r.label in (SILENCE_LABEL, NOISE_LABEL):
            out.append(r)
        else:
            out.append(replace(r, label=r.word if r.word in words else UNKNOWN_LABEL))
    return out


def commands_table(root: Path, words: Sequence[str], *, cache_dir: Path, seed: int) -> list[CorpusClip]:
    """The task's rows: Speech Commands words and digits (speaker-hash splits), noise recordings,
    generated silence.

    Raises
    ------
    DataError
        ``root`` lacks speech_commands_v0.02_test or noise, or a word has no clip.
    """
    from ..data.corpus import check_speaker_disjoint
    from ..data.negatives import make_negatives

    sc = root / "speech_commands_v0.02_test"
    if not sc.is_dir() or not (root / "noise").is_dir():
        raise DataError(f"{root}: the commands protocol needs speech_commands_v0.02_test/ and noise/")
    rows = read_folder_per_label(sc, source="speech_commands")
    if (root / "speech_commands_digits").is_dir():  # the same speakers' digit clips: other words here
        rows += read_folder_per_label(root / "speech_commands_digits", source="speech_commands")
    rows = relabel(rows, words)
    missing = [w for w in words if not any(r.label == w for r in rows)]
    if missing:
        raise DataError(f"{sc}: no clips of {missing}")
    check_speaker_disjoint(rows)
    rows += read_noise(root / "noise")
    rows += make_negatives(rows, cache_dir / "negatives", counts=SILENCE_COUNTS, seed=seed)
    return sorted(rows)


def train_commands(
    out: str | os.PathLike, *, root: str | os.PathLike, words: Sequence[str] = DEFAULT_WORDS,
    architecture: str = "cnn_spectrogram", train_settings, cache_dir=None, force: bool = False,
    progress: bool = True, verbose: int = 2, model=None,
) -> dict:
    """Train ``architecture`` on the 12-class task into ``out`` and score it on the test split.

    Writes ``run.json`` (protocol ``commands``, words, labels, architecture, corpus counts),
    ``corpus.csv``, ``MODEL/`` (the trainer's files, ``calibration.json``) and
    ``metrics.json`` / ``report.md`` (see :func:`evaluate_commands`). Returns the metrics.

    Raises
    ------
    DataError
        Missing data; RunError: ``out`` holds a run of other settings.
    """
    from .. import __version__
    from ..data.corpus import LICENCES, summarize, write_table
    from ..data.dataset import default_cache_dir
    from .deploy import ARCHITECTURES, DeploySettings, calibrate, class_weights, featurize_split, training_material
    from ..errors import RunError
    from ..runs import RUN_FORMAT, write_json_atomic
    from .train import git_commit, train_one

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    words = list(dict.fromkeys(words))
    if not words or any(w.startswith("_") for w in words):
        raise ValueError(f"words must be plain words, got {words}")
    out, root = Path(out), Path(root)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    seed = train_settings.seed
    rows = commands_table(root, words, cache_dir=cache, seed=seed)
    labels = labels_for(words)
    settings = DeploySettings(silence_copies=TRAIN_COPIES, unknown_copies=TRAIN_COPIES, max_synth_unknown=0,
                              architecture=architecture)
    folder = architecture  # the model folder
    info = {
        "run_format": RUN_FORMAT, "spoken_digits_version": __version__, "protocol": "commands",
        "words": words, "labels": labels, "model": folder, "deploy": settings.to_dict(),
        "settings": train_settings.__dict__,
        "sources": {s: LICENCES.get(s, "see the folder's own licence") for s in sorted({r.source for r in rows})},
        "corpus": summarize(rows), "commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if (out / "run.json").exists():
        old = json.loads((out / "run.json").read_text())
        if (old.get("protocol"), old.get("labels"), old.get("deploy"), old.get("settings", {}).get("seed")) != (
                "commands", labels, info["deploy"], seed):
            raise RunError(f"{out} already holds a run with other settings; choose another --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_table(rows, out / "corpus.csv")
        write_json_atomic(out / "splits.json", [])
        write_json_atomic(out / "run.json", info)
    mdir = out / folder
    if not (mdir / "model.keras").exists() or force:
        material = training_material(rows, settings=settings, cache_dir=cache, seed=seed)
        common = dict(labels=labels, settings=settings, material=material, cache_dir=cache, seed=seed,
                      progress=progress)
        train = featurize_split(rows, "train", **common)
        val = featurize_split(rows, "val", **common)
        log.info("commands: %d train and %d val log-mels over %d classes", len(train), len(val), len(labels))
        if model is None and architecture == "lstm":
            from ..models.lstm import build_spectrogram_model

            model = build_spectrogram_model(n_classes=len(labels), lstm_units=settings.lstm_units, spec_augment=True,
                                            name="lstm")
        elif model is None:
            from ..models.cnn import build_cnn

            model = build_cnn(architecture, n_classes=len(labels), spec_augment=True)
        cw = class_weights(train.label, len(labels))
        summary = train_one(folder, train, val, mdir, train_settings, verbose=verbose, model=model, class_weight=cw)
        from ..runs import load_model

        cal = calibrate(load_model(mdir / "model.keras"), val, labels=labels, target_fa=settings.val_false_accept_target)
        cal = {k: cal[k] for k in ("temperature", "val_samples", "nll_before", "nll_after", "ece_before", "ece_after")}
        cal["class_weight"] = {labels[c]: round(w, 4) for c, w in cw.items()}
        write_json_atomic(mdir / "calibration.json", cal)
        write_json_atomic(mdir / "train.json", {**summary, "calibration": cal})
    return evaluate_commands(out, cache_dir=cache, progress=progress)


def evaluate_commands(run_dir: str | os.PathLike, *, cache_dir=None, progress: bool = True) -> dict:
    """Clean test-split windows through the Keras model: accuracy, macro-F1, per class, confusion.

    Writes ``metrics.json`` and ``report.md`` into the run.
    """
    from sklearn.metrics import confusion_matrix, f1_score

    from ..data.dataset import default_cache_dir
    from .deploy import DeploySettings, Material, featurize_split, read_table
    from ..runs import load_model, write_json_atomic
    from ..atomic import atomic_path

    run_dir = Path(run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    labels, folder = info["labels"], info["model"]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    rows = [r for r in read_table(run_dir) if r.split == "test" and r.label in labels]
    if not rows:
        raise DataError(f"{run_dir}: no test clips")
    test = featurize_split(rows, "test", labels=labels, settings=DeploySettings(), material=Material((), [], "clean"),
                           cache_dir=cache, seed=info["settings"]["seed"], progress=progress)
    model = load_model(run_dir / folder / "model.keras")
    pred = model.predict(test.log_mel, batch_size=512, verbose=0).argmax(1)
    y = test.label
    per_class = {lab: {"n": int(np.sum(y == i)), "accuracy": None if not np.any(y == i) else
                       round(float(np.mean(pred[y == i] == i)), 4)} for i, lab in enumerate(labels)}
    train_json = json.loads((run_dir / folder / "train.json").read_text())
    m = {
        "labels": labels, "n_test": int(len(y)), "test_speakers": len({r.speaker for r in rows if r.speaker}),
        "accuracy": round(float(np.mean(pred == y)), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=list(range(len(labels))), average="macro", zero_division=0)), 4),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y, pred, labels=list(range(len(labels)))).tolist(),
        "training": {k: train_json.get(k) for k in ("epochs_run", "best_epoch", "train_samples", "val_samples",
                                                    "wall_s_this_session")},
    }
    metrics = {"protocol": "commands", "words": info["words"],
               "evaluated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "models": {folder: m}}
    write_json_atomic(run_dir / "metrics.json", metrics)
    lines = [f"# `{run_dir.name}`: 12-class Speech Commands ({folder}), clean test windows", "",
             f"Accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} on {m['n_test']} test clips of "
             f"{m['test_speakers']} held-out speakers (speaker-hash split of the shared Speech Commands v0.02 test "
             "copy, far smaller than the seeds' training data).", "",
             "| class | clips | accuracy |", "|---|---|---|"]
    lines += [f"| {lab} | {d['n']} | {'-' if d['accuracy'] is None else format(d['accuracy'], '.3f')} |"
              for lab, d in per_class.items()]
    with atomic_path(run_dir / "report.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return metrics


__all__ = ["DEFAULT_WORDS", "SILENCE_COUNTS", "commands_table", "evaluate_commands", "labels_for", "relabel",
           "train_commands"]
