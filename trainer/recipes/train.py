"""Training of the four models on one protocol, resumable, with TensorBoard logs."""
from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path
from ..config import DEFAULT_SEED, FRONT_END, FSDD_VERSION, FrontEndConfig
from ..data.fsdd import discover, make_splits
from ..data.dataset import Arrays, build_arrays
from ..errors import RunError
from ..models.lstm import DEFAULT_FRAME_LENGTH, MODEL_NAMES, base_kind, build_model, uses_augmentation
from ..runs import RUN_FORMAT, Run, load_run, splits_to_json, write_json_atomic

log = logging.getLogger(__name__)

DEFAULT_EPOCHS = 100
DEFAULT_BATCH_SIZE = 32
DEFAULT_LEARNING_RATE = 1e-3
#: Epochs without a better validation loss before early stopping (best weights restored).
EARLY_STOPPING_PATIENCE = 15
#: Gradient-norm clipping of Adam (stabilizes the LSTMs on the 9x augmented data).
CLIP_NORM = 1.0
#: Training samples whose gradients are logged as TensorBoard histograms each epoch.
GRADIENT_SAMPLE_SIZE = 128


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of one ``train`` invocation (written to ``run.json``)."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    seed: int = DEFAULT_SEED
    frame_length: int = DEFAULT_FRAME_LENGTH
    patience: int = EARLY_STOPPING_PATIENCE
    #: Exponential moving average of the weights (Polyak averaging; Polyak & Juditsky 1992,
    #: "Acceleration of stochastic approximation by averaging"): Keras' ``Adam(use_ema=True,
    #: ema_momentum=...)``, each step ``average = m * average + (1 - m) * weights``. Validation,
    #: early stopping and the saved model all use the averaged weights
    #: (``keras.callbacks.SwapEMAWeights``). None: off (every seed-protocol model).
    ema_momentum: float | None = None

    def __post_init__(self) -> None:
        if self.ema_momentum is not None and not 0.0 < self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be in (0, 1), got {self.ema_momentum}")


def git_commit(directory: str | Path | None = None) -> str | None:
    """The git commit of ``directory`` (default: the project's checkout), else ``None``.

    ``"<sha>-dirty"`` when tracked files differ from that commit (the run's code is then not
    exactly the commit's; ``git status --porcelain --untracked-files=no``).
    """
    here = Path(directory) if directory is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip() if out.returncode == 0 else ""
        if not sha:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                capture_output=True, text=True, timeout=10)
        return f"{sha}-dirty" if status.returncode == 0 and status.stdout.strip() else sha
    except (OSError, subprocess.SubprocessError):
        return None


def model_inputs(model_name: str, arrays: Arrays):
    """The Keras input of a model: ``log_mel`` (n, 64, 35) or ``[wave (n, 17640), mask (n, 17640)]``.

    Names outside :data:`MODEL_NAMES` (the deploy protocol's CNNs, ``trainer.models.cnn``) read the log-mel.
    """
    if model_name in MODEL_NAMES and base_kind(model_name) == "raw":
        return [arrays.wave, arrays.mask]
    return arrays.log_mel


def _take(x, idx):
    return [a[idx] for a in x] if isinstance(x, list) else x[idx]


def prepare_run(
    out: Path, *, protocol: str, data_dir: Path, settings: TrainSettings, config: FrontEndConfig = FRONT_END
) -> Run:
    """Create ``out`` with ``run.json`` and ``splits.json``, or reopen it to resume.

    Raises
    ------
    RunError
        If ``out`` holds a run with another protocol, seed, front end or frame length.
    """
    from .. import __version__

    recs = discover(data_dir)
    splits = make_splits(recs, protocol, seed=settings.seed)
    info = {
        "run_format": RUN_FORMAT, "spoken_digits_version": __version__, "protocol": protocol,
        "dataset": {"name": "Free Spoken Digit Dataset", "version": FSDD_VERSION, "license": "CC BY-SA 4.0"},
        "data_dir": str(Path(data_dir).resolve()), "front_end": config.to_dict(),
        "settings": settings.__dict__, "commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if (out / "run.json").exists():
        old = load_run(out, data_dir=data_dir)
        same = (
            old.protocol == protocol and old.info["front_end"] == info["front_end"]
            and old.info["settings"].get("seed") == settings.seed
            and old.info["settings"].get("frame_length") == settings.frame_length
            and splits_to_json(old.splits) == splits_to_json(splits)
        )
        if not same:
            raise RunError(
                f"{out} already holds a run with other settings (protocol {old.protocol!r}, seed "
                f"{old.info['settings'].get('seed')}); choose another --out"
            )
        return old
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "splits.json", splits_to_json(splits))
    write_json_atomic(out / "run.json", info)
    return Run(out, info, splits)


def train_one(
    model_name: str, train: Arrays, val: Arrays, model_dir: Path, settings: TrainSettings, *, verbose: int = 2,
    model=None, class_weight: dict[int, float] | None = None,
) -> dict:
    """Train one model; returns what ``train.json`` records.

    Uses Adam, sparse categorical cross-entropy on integer labels, :class:`MicroF1`,
    ``EarlyStopping(val_loss, restore_best_weights=True)``, ``ReduceLROnPlateau``,
    with ``settings.ema_momentum`` an average of the weights (validated, restored and saved),
    TensorBoard (scalars) and :class:`GradientHistograms`. Epochs are backed up in
    ``model_dir/.backup`` (``keras.callbacks.BackupAndRestore``) so an interrupted
    run resumes; ``model.keras`` is written atomically at the end.

    ``model`` replaces the architecture :func:`build_model` gives for ``model_name``
    (the deploy model: more classes, SpecAugment); ``class_weight`` is passed to
    ``Model.fit`` (class index -> loss weight).
    """
    import keras

    from ..evaluation.metrics import GradientHistograms, MicroF1

    keras.utils.set_random_seed(settings.seed)
    model_dir.mkdir(parents=True, exist_ok=True)
    if model is None:
        model = build_model(model_name, frame_length=settings.frame_length)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate, clipnorm=CLIP_NORM,
                                        use_ema=settings.ema_momentum is not None,
                                        ema_momentum=settings.ema_momentum or 0.99),
        loss="sparse_categorical_crossentropy", metrics=[MicroF1(n_classes=int(model.output_shape[-1]))],
    )
    x, y = model_inputs(model_name, train), train.label
    xv, yv = model_inputs(model_name, val), val.label
    rng = np.random.default_rng(settings.seed)
    sample = rng.choice(len(y), size=min(GRADIENT_SAMPLE_SIZE, len(y)), replace=False)
    tb_dir = model_dir / "tensorboard"
    # With an average of the weights: the backup is taken first (training weights in the model, the
    # average in the optimizer: the state to resume from), then SwapEMAWeights puts the average in
    # the model for the rest of the epoch's callbacks (validation is run on it too), so early
    # stopping keeps and restores the best *average*; it is swapped back when the next epoch begins.
    ema = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if settings.ema_momentum is not None else []
    callbacks = [
        keras.callbacks.BackupAndRestore(str(model_dir / ".backup")),
        *ema,
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(2, settings.patience // 3)),
        keras.callbacks.CSVLogger(str(model_dir / "history.csv"), append=True),
        keras.callbacks.TensorBoard(log_dir=str(tb_dir), histogram_freq=0, write_graph=False),
        GradientHistograms(str(tb_dir / "gradients"), _take(x, sample), y[sample]),
    ]
    t0 = time.perf_counter()
    hist = model.fit(
        x, y, validation_data=(xv, yv), epochs=settings.epochs, batch_size=settings.batch_size,
        shuffle=True, callbacks=callbacks, verbose=verbose, class_weight=class_weight,
    )
    wall_s = time.perf_counter() - t0
    with atomic_path(model_dir / "model.keras") as tmp:
        model.save(tmp)
    shutil.rmtree(model_dir / ".backup", ignore_errors=True)
    val_loss = hist.history.get("val_loss", [])
    summary = {
        "model": model_name, "epochs_run": len(val_loss), "train_samples": len(y), "val_samples": len(yv),
        "best_epoch": int(np.argmin(val_loss)) + 1 if val_loss else None, "wall_s_this_session": round(wall_s, 1),
    }
    write_json_atomic(model_dir / "train.json", summary)
    return summary


def train(
    out: str | os.PathLike,
    models: Sequence[str],
    *,
    protocol: str,
    data_dir: str | os.PathLike,
    settings: TrainSettings = TrainSettings(),
    cache_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
    verbose: int = 2,
) -> Run:
    """Train ``models`` on every split of ``protocol`` into the run directory ``out``.

    Models already finished in ``out`` are skipped (``force=True`` retrains them);
    an interrupted model resumes from its last epoch.

    Raises
    ------
    DataError, RunError
        Bad data directory or recordings; ``out`` holding an incompatible run.
    """
    for m in models:
        base_kind(m)
    out = Path(out)
    run = prepare_run(out, protocol=protocol, data_dir=Path(data_dir), settings=settings)
    for split in run.splits:
        todo = [m for m in models if force or not (run.model_dir(m, split.name) / "model.keras").exists()]
        for m in models:
            if m not in todo:
                log.info("%s: already trained, skipping (use --force to retrain)", run.model_dir(m, split.name))
        if not todo:
            continue
        label = f"{protocol}/{split.name}"
        plain = build_arrays(split.train, cache_dir=cache_dir, progress=progress, description=f"{label} train")
        val = build_arrays(split.val, cache_dir=cache_dir, progress=progress, description=f"{label} val")
        aug = None
        if any(uses_augmentation(m) for m in todo):
            aug = build_arrays(split.train, augment=True, cache_dir=cache_dir, progress=progress, description=f"{label} train")
        for m in todo:
            mdir = run.model_dir(m, split.name)
            if force and (mdir / "model.keras").exists():
                shutil.rmtree(mdir)
            log.info("training %s on %s (%d train clips)", m, label, len(aug if uses_augmentation(m) else plain))
            train_one(m, aug if uses_augmentation(m) else plain, val, mdir, settings, verbose=verbose)
    return run


__all__ = ["TrainSettings", "train", "train_one", "prepare_run", "model_inputs", "MODEL_NAMES"]
