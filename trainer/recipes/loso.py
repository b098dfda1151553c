"""Leave-one-speaker-out on FSDD for the deploy model (issue 8's generalization measure).

The deploy protocol uses the FSDD README's split (indices 0-4 of every speaker are test), so
its FSDD test figure is on voices the model trained on. Here each FSDD speaker in turn is
left out of training and validation entirely (:func:`trainer.recipes.deploy.hold_out_speaker`):
one deploy run per speaker in ``OUT/<speaker>/`` with every other source as usual, scored on
all of the held-out speaker's clips (clean windows, Keras float, at the run's own calibrated
threshold, a rejection counting as an error; :func:`trainer.recipes.deploy.evaluate_deploy`). The
summary is the mean over speakers and the worst speaker, as the seed protocol ``speaker``
reports for the 10-class LSTMs.

Each run is resumable like any deploy run (a finished one is kept), so an interrupted
``spoken-digits loso`` picks up at the next speaker.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

log = logging.getLogger(__name__)

LOSO_FILE = "loso.json"


def loso_summary(per_speaker: Mapping[str, Mapping[str, float | int]]) -> dict:
    """Mean and worst of the held-out speakers' digit accuracies.

    Parameters
    ----------
    per_speaker : {speaker: {"digits": int, "digit_accuracy": float, "digit_argmax_accuracy": float}}
        One entry per held-out speaker (from ``evaluate_deploy``'s ``per_fsdd_speaker``).

    Returns
    -------
    dict
        ``speakers`` (the input), ``mean_digit_accuracy`` / ``mean_argmax_accuracy``
        (unweighted means over speakers: each voice counts once, as in a LOSO table),
        ``worst_speaker`` and ``worst_digit_accuracy``; where every speaker was also scored at
        other thresholds (``digit_accuracy_at``: {"0.790": accuracy}), ``at_threshold``:
        {"0.790": {"mean_digit_accuracy", "worst_speaker", "worst_digit_accuracy"}}.

    Raises
    ------
    ValueError
        ``per_speaker`` is empty.
    """
    if not per_speaker:
        raise ValueError("no held-out speaker to summarize")
    acc = {s: float(d["digit_accuracy"]) for s, d in per_speaker.items()}
    worst = min(acc, key=lambda s: (acc[s], s))
    n = len(acc)
    out = {
        "speakers": {s: dict(d) for s, d in per_speaker.items()},
        "mean_digit_accuracy": round(sum(acc.values()) / n, 4),
        "mean_argmax_accuracy": round(sum(float(d["digit_argmax_accuracy"]) for d in per_speaker.values()) / n, 4),
        "worst_speaker": worst,
        "worst_digit_accuracy": round(acc[worst], 4),
    }
    shared = set.intersection(*(set(d.get("digit_accuracy_at", {})) for d in per_speaker.values()))
    if shared:
        out["at_threshold"] = {}
        for key in sorted(shared):
            at = {s: float(d["digit_accuracy_at"][key]) for s, d in per_speaker.items()}
            w = min(at, key=lambda s: (at[s], s))
            out["at_threshold"][key] = {"mean_digit_accuracy": round(sum(at.values()) / n, 4),
                                        "worst_speaker": w, "worst_digit_accuracy": round(at[w], 4)}
    return out


def run_loso(out: str | os.PathLike, *, paths, deploy, train_settings, speakers: Sequence[str] | None = None,
             cache_dir=None, force: bool = False, progress: bool = True, verbose: int = 2,
             score_thresholds: Sequence[float] = ()) -> dict:
    """Train and score one deploy run per held-out FSDD speaker; write ``OUT/loso.json``.

    Parameters
    ----------
    out : path
        Folder of the runs (``OUT/<speaker>/``, each a deploy run directory).
    paths : trainer.data.corpus.CorpusPaths
    deploy : trainer.recipes.deploy.DeploySettings
        The recipe; its ``held_out_speaker`` is set per run.
    train_settings : trainer.recipes.train.TrainSettings
    speakers : sequence of str, optional
        FSDD speakers to hold out in turn (default: every speaker in the corpus).
    score_thresholds : sequence of float
        Other operating points (probabilities) to score every held-out voice at, with each
        run's own temperature (``spoken-digits loso`` passes the shipped bundle's threshold): a
        run's own threshold comes from its clip rule, the shipped bundle's from the per-hour rule
        of ``export --target-fa-per-hour``, which gives lower ones.

    Returns
    -------
    dict
        :func:`loso_summary` plus ``recipe`` (architecture, classes, log-mel normalization, convolution
        filters, VTLP share, epochs, seed) and ``created``.

    Raises
    ------
    trainer.errors.DataError
        A speaker not in FSDD (``hold_out_speaker``), missing sources (``train_deploy``).
    """
    from ..data.corpus import read_corpus
    from .deploy import train_deploy
    from ..evaluation.evaluate import evaluate
    from ..runs import write_json_atomic

    out = Path(out)
    if speakers is None:
        speakers = sorted({r.speaker for r in read_corpus(paths) if r.source == "fsdd"})
    per_speaker = {}
    for i, who in enumerate(speakers, 1):
        run_dir = out / who
        log.info("loso %d/%d: holding out %s -> %s", i, len(speakers), who, run_dir)
        train_deploy(run_dir, paths=paths, deploy=dataclasses.replace(deploy, held_out_speaker=who),
                     train_settings=train_settings, cache_dir=cache_dir, force=force, progress=progress,
                     verbose=verbose)
        metrics = evaluate(run_dir, cache_dir=cache_dir, progress=progress, thresholds=score_thresholds)
        m = next(iter(metrics["models"].values()))
        per_speaker[who] = {**m["per_fsdd_speaker"][who], "threshold": m["threshold"]}
    summary = {
        **loso_summary(per_speaker),
        "recipe": {"architecture": deploy.architecture, "classes": deploy.classes,
                   "log_mel_norm": deploy.log_mel_norm, "conv_filters": deploy.conv_filters,
                   "p_vtlp": deploy.augment.p_vtlp, "epochs": train_settings.epochs, "batch_size": train_settings.batch_size,
                   "seed": train_settings.seed, "ema_momentum": train_settings.ema_momentum},
        "measured_on": "every clip of the held-out speaker, clean 0.8 s windows, Keras float, at each run's "
                       "calibrated threshold (a rejection is an error); at_threshold: at the given thresholds "
                       "with each run's own temperature",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / LOSO_FILE, summary)
    return summary


__all__ = ["LOSO_FILE", "loso_summary", "run_loso"]
