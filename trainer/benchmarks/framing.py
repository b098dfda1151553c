"""Benchmark of the raw model's framing: ``python -m trainer.benchmarks.framing``.

Prints, per ``frame_length`` (samples per LSTM step): LSTM steps per window, trainable
parameters, seconds per training step (batch 32, median of a few steps), and, with
``--epochs N``, the best validation accuracy reached in N epochs on the ``seed``
protocol's validation part. The default ``frame_length`` of ``trainer.models.lstm`` was
chosen from this table (docs/results.md, "Choosing the raw model's framing").
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import numpy as np


def step_seconds(frame_length: int, *, batch_size: int = 32, repeats: int = 3) -> tuple[float, int]:
    """Median wall seconds of one training step on random data, and the parameter count."""
    import keras

    from ..models.lstm import build_raw_model

    model = build_raw_model(frame_length=frame_length)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    wave = rng.normal(size=(batch_size, 17640)).astype("float32") * 0.1
    mask = np.zeros((batch_size, 17640), bool)
    mask[:, : 17640 // 2] = True
    y = rng.integers(0, 10, batch_size)
    model.train_on_batch([wave, mask], y)  # trace and warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.train_on_batch([wave, mask], y)
        times.append(time.perf_counter() - t0)
    n_params = int(sum(np.prod(v.shape) for v in model.trainable_variables))
    keras.backend.clear_session()
    return float(np.median(times)), n_params


@click.command()
@click.option("--frame-lengths", default="1,147,294,441,882", show_default=True,
              help="Comma-separated samples per LSTM step (each must divide 17,640).")
@click.option("--epochs", type=int, default=0, show_default=True,
              help="Also train each framing (except 1) this many epochs on the seed protocol and report validation accuracy.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="FSDD recordings (default as for train).")
def main(frame_lengths: str, epochs: int, data_dir: Path | None) -> None:
    """Print the framing table of the raw model."""
    from rich.console import Console
    from rich.table import Table

    from ..data.fsdd import default_data_dir

    table = Table(title="raw model framing (batch 32, this machine)")
    for c in ("frame_length", "frame ms", "LSTM steps", "params", "s per train step", f"best val acc ({epochs} ep)"):
        table.add_column(c, justify="right")
    for fl in (int(v) for v in frame_lengths.split(",")):
        sec, n_params = step_seconds(fl, repeats=1 if fl == 1 else 3)
        acc = "-"
        if epochs and fl > 1:
            import csv

            from ..recipes.train import TrainSettings, train

            with tempfile.TemporaryDirectory() as tmp:
                train(Path(tmp) / "run", ["raw"], protocol="seed", data_dir=data_dir or default_data_dir(),
                      settings=TrainSettings(epochs=epochs, frame_length=fl, patience=epochs), progress=False, verbose=0)
                with open(Path(tmp) / "run" / "raw" / "history.csv") as f:
                    acc = f"{max(float(r['val_micro_f1']) for r in csv.DictReader(f)):.3f}"
        table.add_row(str(fl), f"{1000 * fl / 22050:.3g}", str(17640 // fl), str(n_params), f"{sec:.3f}", acc)
    Console().print(table)


if __name__ == "__main__":
    main()
