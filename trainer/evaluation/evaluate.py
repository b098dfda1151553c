"""Scores a run's models on their test parts and writes the reports.

Writes ``runs/NAME/metrics.json``, ``runs/NAME/report.md`` and one
``runs/NAME/MODEL/confusion.png`` per model.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import logging
import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..config import LABELS
from ..errors import RunError
from ..runs import Run, load_model, load_run, write_json_atomic

log = logging.getLogger(__name__)

#: Test micro-F1 the seed notebooks report (4 speakers, 80/20 split), for the report's comparison column.
SEED_NOTEBOOK_MICRO_F1 = {"raw": 0.10, "spectrogram": 0.917, "raw_aug": 0.10, "spectrogram_aug": 0.955}


def best_epoch_losses(history_csv: Path) -> tuple[float | None, float | None]:
    """(train loss, val loss) at the epoch of lowest val loss (the weights early stopping restored)."""
    try:
        with open(history_csv, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("val_loss")]
    except FileNotFoundError:
        return None, None
    if not rows:
        return None, None
    best = min(rows, key=lambda r: float(r["val_loss"]))
    return float(best["loss"]), float(best["val_loss"])


def score(y_true: np.ndarray, y_pred: np.ndarray, speakers: np.ndarray) -> dict:
    """Accuracy, micro/macro F1 (``sklearn.metrics.f1_score``), per-speaker accuracy and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : np.ndarray [shape=(n,), dtype=int]
        True and predicted digits.
    speakers : np.ndarray [shape=(n,), dtype=str]
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = list(range(len(LABELS)))
    return {
        "n_test": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "micro_f1": float(f1_score(y_true, y_pred, labels=labels, average="micro")),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_speaker_accuracy": {
            s: float(np.mean(y_true[speakers == s] == y_pred[speakers == s])) for s in sorted(set(speakers))
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def plot_confusion(matrix: list[list[int]], title: str, path: Path) -> None:
    """Save a confusion-matrix PNG (``sklearn.metrics.ConfusionMatrixDisplay``), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(6, 5.5))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=list(LABELS)).plot(ax=ax, colorbar=False, cmap="Blues")
    ax.set_title(title)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)


class _Predictor:
    """Probabilities of a Keras model through one ``tf.function`` traced once.

    The input signature leaves the batch dimension open, so batches of any size
    (the last one is smaller) reuse the trace; the models of later folds have the
    same architecture and are loaded into the same network by copying their weights,
    so evaluating every fold traces nothing again (``model.predict`` traced once per
    fold and per batch shape, and TensorFlow warned of excessive retracing).
    """

    def __init__(self, model, *, batch_size: int = 256) -> None:
        import tensorflow as tf

        self.model = model
        self.batch_size = batch_size
        self.dtypes = [str(x.dtype) for x in model.inputs]
        signature = [tf.TensorSpec((None, *x.shape[1:]), dt) for x, dt in zip(model.inputs, self.dtypes)]

        def call(*x):
            return model(list(x) if len(x) > 1 else x[0], training=False)

        self._call = tf.function(call, input_signature=signature)

    def load(self, model) -> bool:
        """Use ``model``'s weights from now on; False if its architecture differs (nothing changed)."""
        weights = model.get_weights()
        if [w.shape for w in weights] != [w.shape for w in self.model.get_weights()]:
            return False
        self.model.set_weights(weights)
        return True

    def __call__(self, inputs) -> np.ndarray:
        xs = [np.asarray(x, dtype=dt) for x, dt in zip(inputs if isinstance(inputs, list) else [inputs], self.dtypes)]
        n, b = len(xs[0]), self.batch_size
        return np.concatenate([np.asarray(self._call(*[x[i:i + b] for x in xs])) for i in range(0, n, b)])


def evaluate_model(run: Run, model_name: str, *, cache_dir=None, progress: bool = True) -> dict:
    """Score one model of a run on the test part of every fold; returns its metrics dict."""
    from ..data.dataset import build_arrays
    from ..recipes.train import model_inputs

    y_true, y_pred, spk, folds, losses = [], [], [], {}, []
    predict: _Predictor | None = None
    for split in run.splits:
        mdir = run.model_dir(model_name, split.name)
        model = load_model(mdir / "model.keras")
        if predict is None or not predict.load(model):
            predict = _Predictor(model)
        test = build_arrays(split.test, cache_dir=cache_dir, progress=progress, description=f"{split.name} test")
        probs = predict(model_inputs(model_name, test))
        pred = probs.argmax(axis=1)
        folds[split.name] = float(np.mean(pred == test.label))
        losses.append(best_epoch_losses(mdir / "history.csv"))
        y_true.append(test.label)
        y_pred.append(pred)
        spk.append(test.speaker)
    m = score(np.concatenate(y_true), np.concatenate(y_pred), np.concatenate(spk))
    tl = [a for a, _ in losses if a is not None]
    vl = [b for _, b in losses if b is not None]
    m["train_loss"] = float(np.mean(tl)) if tl else None
    m["val_loss"] = float(np.mean(vl)) if vl else None
    if len(run.splits) > 1:
        m["fold_accuracy"] = folds
        m["mean_fold_accuracy"] = float(np.mean(list(folds.values())))
    plot_confusion(m["confusion_matrix"], f"{model_name} ({run.protocol}), accuracy {m['accuracy']:.3f}",
                   run.path / model_name / "confusion.png")
    return m


def report_markdown(run: Run, metrics: dict) -> str:
    """The seed notebooks' table (model, train loss, val loss, test micro-F1) beside their figures."""
    lines = [
        f"# Evaluation of `{run.path.name}`",
        "",
        f"Protocol `{run.protocol}`, folds: {', '.join(s.name for s in run.splits)}; "
        f"test files: {sum(len(s.test) for s in run.splits)}. Losses at the epoch early stopping kept.",
        "",
        "| model | train loss | val loss | test micro-F1 | macro-F1 | seed notebook micro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for name, m in metrics["models"].items():
        lines.append(
            f"| {name} | {fmt(m['train_loss'])} | {fmt(m['val_loss'])} | {m['micro_f1']:.3f} | {m['macro_f1']:.3f} "
            f"| {SEED_NOTEBOOK_MICRO_F1.get(name, float('nan')):.3f} |"
        )
    lines += ["", "Per-speaker test accuracy:", "", "| model | " + " | ".join(
        sorted(next(iter(metrics["models"].values()))["per_speaker_accuracy"])) + " |"]
    lines.append("|---" * (1 + len(next(iter(metrics["models"].values()))["per_speaker_accuracy"])) + "|")
    for name, m in metrics["models"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for _, v in sorted(m["per_speaker_accuracy"].items())) + " |")
    if run.protocol != "seed":
        lines += ["", "(The seed notebook column is for reference only: it was measured on the `seed` protocol.)"]
    return "\n".join(lines) + "\n"


def _evaluate_deploy(run: Run, *, cache_dir=None, progress: bool = True, thresholds=()) -> dict:
    """metrics.json / report.md of a deploy run (see :func:`trainer.recipes.deploy.evaluate_deploy`)."""
    from ..recipes.deploy import evaluate_deploy, model_folder_of

    folder = model_folder_of(run.info)  # spectrogram_aug (the LSTM) or a CNN's name
    if not (run.path / folder / "calibration.json").exists():
        raise RunError(f"{run.path}: the deploy model is not trained yet; run 'spoken-digits train --protocol deploy "
                       f"--out {run.path}'")
    m = evaluate_deploy(run, cache_dir=cache_dir, progress=progress, thresholds=thresholds)
    m["train_loss"], m["val_loss"] = best_epoch_losses(run.path / folder / "history.csv")
    m["micro_f1"] = float(np.trace(m["confusion_matrix"]) / max(1, np.sum(m["confusion_matrix"])))
    metrics = {"protocol": "deploy", "folds": ["deploy"], "labels": m["labels"],
               "evaluated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "models": {folder: m}}
    write_json_atomic(run.path / "metrics.json", metrics)
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [f"# Evaluation of `{run.path.name}` (deploy protocol, clean test windows, Keras float)", "",
             f"Temperature {m['temperature']}, threshold {m['threshold']}; ECE on test {m['ece_before']} -> "
             f"{m['ece_after']}. Rejections count as digit errors.", "",
             "| source | digits | digit accuracy | argmax accuracy | non-digit clips | false-accept rate |",
             "|---|---|---|---|---|---|"]
    for src, d in m["per_source"].items():
        lines.append(f"| {src} | {d['digits']} | {fmt(d['digit_accuracy'])} | {fmt(d['digit_argmax_accuracy'])} | "
                     f"{d['negatives']} | {fmt(d['false_accept_rate'])} |")
    if m.get("per_fsdd_speaker"):
        held = m.get("held_out_speaker")
        lines += ["", "FSDD test digits per speaker" + (f" ({held} held out of training and validation):" if held
                                                        else " (every speaker is also in training: FSDD README split):"),
                  "", "| speaker | digits | digit accuracy | argmax accuracy |", "|---|---|---|---|"]
        for who, d in m["per_fsdd_speaker"].items():
            lines.append(f"| {who}{' (held out)' if who == held else ''} | {d['digits']} | "
                         f"{fmt(d['digit_accuracy'])} | {fmt(d['digit_argmax_accuracy'])} |")
    with atomic_path(run.path / "report.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return metrics


def evaluate(run_dir: str | os.PathLike, *, data_dir=None, cache_dir=None, models=None, progress: bool = True,
             thresholds=()) -> dict:
    """Evaluate every trained model of a run (or ``models``); write metrics.json, report.md, PNGs.

    ``thresholds``: a deploy run only, more operating points for the per-FSDD-speaker scores
    (:func:`trainer.recipes.deploy.evaluate_deploy`).

    Returns
    -------
    metrics : dict
        ``{"protocol", "folds", "evaluated", "models": {name: {accuracy, micro_f1, macro_f1,
        per_speaker_accuracy, confusion_matrix, train_loss, val_loss[, fold_accuracy,
        mean_fold_accuracy]}}}``

    Raises
    ------
    RunError
        If the run has no trained model (or a requested model is not trained).
    """
    run_json = Path(run_dir) / "run.json"
    if run_json.exists() and json.loads(run_json.read_text()).get("protocol") == "commands":
        from ..recipes.commands import evaluate_commands

        return evaluate_commands(run_dir, cache_dir=cache_dir, progress=progress)
    run = load_run(run_dir, data_dir=data_dir)
    if run.protocol == "deploy":
        return _evaluate_deploy(run, cache_dir=cache_dir, progress=progress, thresholds=thresholds)
    trained = run.trained_models()
    if models:
        missing = [m for m in models if m not in trained]
        if missing:
            raise RunError(f"{run.path}: model(s) {', '.join(missing)} not trained (trained: {', '.join(trained) or 'none'})")
        trained = list(models)
    if not trained:
        raise RunError(f"{run.path}: no trained model yet; run 'spoken-digits train --out {run.path}' first")
    metrics = {
        "protocol": run.protocol, "folds": [s.name for s in run.splits],
        "evaluated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "models": {},
    }
    for name in trained:
        log.info("evaluating %s", name)
        metrics["models"][name] = evaluate_model(run, name, cache_dir=cache_dir, progress=progress)
    write_json_atomic(run.path / "metrics.json", metrics)
    text = report_markdown(run, metrics)
    with atomic_path(run.path / "report.md") as tmp:
        tmp.write_text(text)
    return metrics
