"""A tiny training run: it learns, logs what it should, evaluates, resumes, and fails cleanly."""
from __future__ import annotations

import csv
import json

import pytest

from conftest import TINY_SPEAKERS, TINY_TRAIN, make_subset
from trainer.errors import DataError, RunError
from trainer.recipes.train import TrainSettings, train


def test_tiny_run_beats_chance_and_writes_everything(tiny_run):
    mdir = tiny_run / "spectrogram"
    for f in ("model.keras", "history.csv", "train.json"):
        assert (mdir / f).is_file(), f
    assert not (mdir / ".backup").exists()
    with open(mdir / "history.csv") as f:
        cols = next(csv.reader(f))
    assert {"loss", "val_loss", "micro_f1", "val_micro_f1"} <= set(cols)
    # TensorBoard: scalars and the gradient histograms of every trainable variable
    events = list((mdir / "tensorboard").rglob("events.out.tfevents.*"))
    assert any("gradients" in str(p) for p in events) and any("train" in str(p) for p in events)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(mdir / "tensorboard" / "gradients"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = acc.Tags()["tensors"]
    assert any(t.startswith("gradients/") and "lstm" in t for t in tags)
    assert any(t.startswith("gradients/") and "probabilities" in t for t in tags)

    metrics = json.loads((tiny_run / "metrics.json").read_text())
    m = metrics["models"]["spectrogram"]
    assert m["n_test"] == 300
    assert m["accuracy"] > 0.5  # chance is 0.1
    assert m["micro_f1"] == pytest.approx(m["accuracy"])
    assert set(m["per_speaker_accuracy"]) == set(TINY_SPEAKERS)
    assert sum(map(sum, m["confusion_matrix"])) == 300
    assert (tiny_run / "spectrogram" / "confusion.png").stat().st_size > 1000
    report = (tiny_run / "report.md").read_text()
    assert "| spectrogram |" in report and "0.917" in report  # beside the seed notebooks' figure


def test_rerun_skips_finished_models(tiny_run, tiny_cache):
    before = (tiny_run / "spectrogram" / "model.keras").stat().st_mtime_ns
    run = json.loads((tiny_run / "run.json").read_text())
    train(tiny_run, ["spectrogram"], protocol="official", data_dir=run["data_dir"], cache_dir=tiny_cache,
          settings=TrainSettings(**TINY_TRAIN), progress=False, verbose=0)
    assert (tiny_run / "spectrogram" / "model.keras").stat().st_mtime_ns == before


def test_incompatible_rerun_is_refused(tiny_run, tiny_cache):
    run = json.loads((tiny_run / "run.json").read_text())
    with pytest.raises(RunError, match="other settings"):
        train(tiny_run, ["spectrogram"], protocol="speaker", data_dir=run["data_dir"], cache_dir=tiny_cache,
              progress=False, verbose=0)


def test_corrupt_wav_fails_before_anything_is_half_written(tmp_path, fsdd_dir):
    data = make_subset(tmp_path / "data", fsdd_dir, speakers=["theo"], indices=range(0, 8))
    (data / "3_theo_6.wav").unlink()
    (data / "3_theo_6.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    with pytest.raises(DataError, match="3_theo_6.wav"):
        train(tmp_path / "run", ["raw"], protocol="official", data_dir=data, cache_dir=tmp_path / "cache",
              settings=TrainSettings(epochs=1), progress=False, verbose=0)
    assert not list((tmp_path / "run").rglob("model.keras"))
    assert not [p for p in tmp_path.rglob(".tmp-*")]


@pytest.mark.train
def test_raw_model_trains_on_tiny_data(tmp_path, fsdd_dir, tiny_cache):
    data = make_subset(tmp_path / "data", fsdd_dir, speakers=["theo"], digits=[0, 1], indices=range(0, 20))
    train(tmp_path / "run", ["raw"], protocol="official", data_dir=data, cache_dir=tiny_cache,
          settings=TrainSettings(epochs=2, batch_size=8), progress=False, verbose=0)
    assert (tmp_path / "run" / "raw" / "model.keras").is_file()
    from trainer.runs import load_model

    model = load_model(tmp_path / "run" / "raw" / "model.keras")  # custom layers load back
    assert model.output_shape == (None, 10)


def _toy_arrays(n: int, seed: int):
    """Log-mel-shaped arrays whose class (0-2) is the level of one mel band: learnable in a few epochs."""
    import numpy as np

    from trainer.data.dataset import Arrays

    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n).astype(np.int32)
    log_mel = rng.normal(-40.0, 5.0, (n, 64, 35)).astype(np.float32)
    log_mel[:, 10, :] += (label[:, None] * 10.0).astype(np.float32)
    return Arrays(wave=np.zeros((n, 1), np.float32), mask=np.ones((n, 1), bool), log_mel=log_mel, label=label,
                  speaker=np.array(["toy"] * n), source=np.arange(n, dtype=np.int32))


def _toy_model():
    import keras

    inp = keras.Input((64, 35), name="log_mel")
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 80.0)(inp))
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))


def test_ema_model_is_the_validated_average(tmp_path):
    """With --ema-momentum, validation, early stopping and the saved model use the averaged weights.

    Two runs from the same initial weights and seed take the same training steps (the average does
    not feed back into training); only what is validated and kept differs. The averaged run's
    validation losses are not the plain run's, and its saved model scores the best of them.
    """
    import keras

    from trainer.recipes.train import train_one

    train_set, val_set = _toy_arrays(256, 0), _toy_arrays(96, 1)

    def run(name: str, ema_momentum):
        keras.utils.set_random_seed(3)
        settings = TrainSettings(epochs=4, batch_size=32, seed=3, ema_momentum=ema_momentum, patience=10)
        train_one("toy", train_set, val_set, tmp_path / name, settings, verbose=0, model=_toy_model())
        with open(tmp_path / name / "history.csv", newline="") as f:
            val_loss = [float(r["val_loss"]) for r in csv.DictReader(f)]
        model = keras.models.load_model(tmp_path / name / "model.keras")
        loss = model.evaluate(val_set.log_mel, val_set.label, verbose=0, batch_size=96)
        return val_loss, (loss[0] if isinstance(loss, list) else loss), model

    plain_history, plain_loss, _ = run("plain", None)
    ema_history, ema_loss, ema_model = run("ema", 0.9)
    assert plain_loss == pytest.approx(min(plain_history), rel=1e-4)
    assert ema_model.optimizer.use_ema
    assert ema_loss == pytest.approx(min(ema_history), rel=1e-4)
    assert all(abs(a - b) > 1e-4 for a, b in zip(ema_history, plain_history))


def test_ema_momentum_is_checked():
    with pytest.raises(ValueError, match="ema_momentum"):
        TrainSettings(ema_momentum=1.0)
