"""The run directory: what ``train`` writes and ``evaluate``/``export`` read.

Layout::

    runs/NAME/run.json                 protocol, seed, hyper-parameters, front end, data
    runs/NAME/splits.json              file names of every split's train/val/test part
    runs/NAME/MODEL[/FOLD]/model.keras trained model (FOLD only for the speaker protocol)
    runs/NAME/MODEL[/FOLD]/history.csv per-epoch loss, micro_f1, val_loss, val_micro_f1
    runs/NAME/MODEL[/FOLD]/train.json  epochs run, best epoch, wall time
    runs/NAME/MODEL[/FOLD]/tensorboard/ scalars and gradient histograms
    runs/NAME/metrics.json, report.md, MODEL/confusion.png   (written by evaluate)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_path
from .config import FrontEndConfig
from .data.fsdd import Recording, Split, parse_name
from .errors import RunError

RUN_FORMAT = 1


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it over ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")


@dataclass
class Run:
    """A run directory read back: its settings and splits."""

    path: Path
    info: dict
    splits: list[Split]

    @property
    def protocol(self) -> str:
        return self.info["protocol"]

    @property
    def front_end(self) -> FrontEndConfig:
        return FrontEndConfig.from_dict(self.info["front_end"])

    @property
    def data_dir(self) -> Path:
        return Path(self.info["data_dir"])

    def model_dir(self, model: str, fold: str) -> Path:
        """``runs/NAME/MODEL`` for one-split protocols, ``runs/NAME/MODEL/FOLD`` for ``speaker``."""
        return self.path / model if len(self.splits) == 1 else self.path / model / fold

    def trained_models(self) -> list[str]:
        """Models whose every fold has a finished ``model.keras``, in :data:`MODEL_NAMES` order."""
        from .models.lstm import MODEL_NAMES

        return [m for m in MODEL_NAMES if all((self.model_dir(m, s.name) / "model.keras").exists() for s in self.splits)]

    def split(self, fold: str | None = None) -> Split:
        if fold is None:
            if len(self.splits) != 1:
                raise RunError(f"{self.path}: protocol {self.protocol!r} has folds {[s.name for s in self.splits]}; name one")
            return self.splits[0]
        for s in self.splits:
            if s.name == fold:
                return s
        raise RunError(f"{self.path}: no fold {fold!r}; folds are {[s.name for s in self.splits]}")


def splits_to_json(splits: list[Split]) -> list[dict]:
    return [s.to_dict() for s in splits]


def load_run(path: str | os.PathLike, *, data_dir: str | os.PathLike | None = None) -> Run:
    """Read ``run.json`` and ``splits.json`` of a run directory.

    ``data_dir`` overrides where the recordings are looked up (default: the one the run used).

    Raises
    ------
    RunError
        If the directory or its files are missing, unreadable, or of another format version.
    """
    p = Path(path)
    try:
        info = json.loads((p / "run.json").read_text())
        raw_splits = json.loads((p / "splits.json").read_text())
    except FileNotFoundError as e:
        raise RunError(f"{p} is not a spoken-digits run (missing {Path(e.filename).name}); create it with 'spoken-digits train'") from e
    except (OSError, json.JSONDecodeError) as e:
        raise RunError(f"{p}: unreadable run files ({e})") from e
    if info.get("run_format") != RUN_FORMAT:
        raise RunError(f"{p}: run format {info.get('run_format')!r}, this version reads {RUN_FORMAT}")
    if info.get("protocol") == "deploy":  # rows of every source live in corpus.csv, not in splits.json
        return Run(p, info, [Split("deploy", (), (), ())])
    d = Path(data_dir) if data_dir is not None else Path(info["data_dir"])
    info["data_dir"] = str(d)

    def recs(names: list[str]) -> tuple[Recording, ...]:
        return tuple(parse_name(d / n) for n in names)

    splits = [Split(s["name"], recs(s["train"]), recs(s["val"]), recs(s["test"])) for s in raw_splits]
    return Run(p, info, splits)


def load_model(path: str | os.PathLike):
    """Load a trained ``model.keras`` (registers our custom layers and metric first)."""
    import keras

    from .evaluation import metrics  # noqa: F401  (registration)
    from .models import layers  # noqa: F401  (registration)

    return keras.models.load_model(path)
