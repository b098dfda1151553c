"""``spoken-digits bench``: every quantization variant of a bundle beside Keras float.

For the bundle's run (recorded in its provenance) and the test part of its fold:

1. Each variant (int8, float16, dynamic, float32) is exported into a temporary
   directory (the bundle's own variant is used as it is).
2. Each variant runs under each installed interpreter in a separate edge-only
   process (:mod:`export.edge_worker`, 1 thread) that reports file size, front-end
   and model time per window (median, p95), peak RSS, and the probabilities.
3. The Keras model runs on the same windows in this process (TensorFlow limited
   to 1 thread): ``model(x, training=False)`` and ``model.predict(x)``, one window
   at a time.

Top-1 agreement and max abs probability difference are against Keras on the same
reference (librosa) log-mels; ``acc e2e`` uses the numpy front end on the same
windows. A benchmark, not a test: nothing is asserted.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from realtime.bundle import QUANTIZATIONS

log = logging.getLogger(__name__)

#: Issue 3's goals, shown beside the results.
GOALS = {"int8_kb": 64, "model_median_ms": 1.0, "front_end_median_ms": 2.0, "edge_rss_mb": 80, "agreement": 0.99}


@dataclass
class BenchRow:
    """One line of the table."""

    variant: str
    runtime: str
    size_bytes: int | None
    front_end_ms: dict | None
    model_ms: dict
    agreement: float
    max_abs_diff: float
    accuracy: float
    accuracy_e2e: float | None
    peak_rss_mb: float | None
    extra: dict = field(default_factory=dict)


def _ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {"median": float(np.median(ms)), "p95": float(np.percentile(ms, 95)), "mean": float(ms.mean())}


def bench_windows(run, split, *, max_windows: int | None = None):
    """Waves (``load_audio`` + ``pad_and_mask``), reference log-mels (librosa) and labels of the test part.

    Returns
    -------
    wave : np.ndarray [shape=(n, window_samples), float32]
    log_mel : np.ndarray [shape=(n, n_mels, n_frames), float32]
    label : np.ndarray [shape=(n,), int64]
    """
    from trainer.data.fsdd import load_audio, pad_and_mask
    from trainer.data.features import log_mel

    if run.protocol == "deploy":
        return deploy_bench_windows(run, max_windows=max_windows)
    recs = list(split.test)[:max_windows] if max_windows else list(split.test)
    cfg = run.front_end
    waves = np.stack([pad_and_mask(load_audio(r.path, config=cfg), config=cfg)[0] for r in recs])
    mels = np.stack([log_mel(w, config=cfg) for w in waves])
    return waves, mels, np.array([r.digit for r in recs])


def deploy_bench_windows(run, *, max_windows: int | None = None):
    """:func:`bench_windows` of a deploy run: its clean test clips of every source and label.

    The rows of ``corpus.csv`` in the test split (held-out speakers and voices, generated test
    negatives), read as the deploy protocol reads them (:func:`trainer.recipes.deploy.load_clip`: speech
    trimmed with the run's ``trim_top_db``), padded to the window. With ``max_windows``, that
    many rows evenly spread over the table (every source keeps its share). Labels are indices
    into the run's labels (12 with ``--classes open``).

    Raises
    ------
    RunError
        The run has no test rows.
    """
    from trainer.data.fsdd import pad_and_mask
    from trainer.recipes.deploy import is_speech, load_clip, read_table
    from trainer.errors import RunError
    from trainer.data.features import log_mel

    labels = list(run.info["labels"])
    rows = [r for r in read_table(run.path) if r.split == "test" and r.label in labels]
    if not rows:
        raise RunError(f"{run.path}: its corpus.csv has no test rows to benchmark on")
    if max_windows and len(rows) > max_windows:
        rows = [rows[i] for i in np.unique(np.linspace(0, len(rows) - 1, max_windows).round().astype(int))]
    cfg = run.front_end
    trim = run.info.get("deploy", {}).get("trim_top_db")
    waves = np.stack([pad_and_mask(load_clip(r.path, config=cfg, trim_top_db=trim if is_speech(r) else None),
                                   config=cfg)[0] for r in rows])
    mels = np.stack([log_mel(w, config=cfg) for w in waves])
    return waves, mels, np.array([labels.index(r.label) for r in rows])


def run_worker(module: str, bundle_dir: Path, data: Path, interpreter: str | None, *,
               timeout_s: float = 900) -> subprocess.CompletedProcess:
    """Run an edge-only worker module (``python -m MODULE BUNDLE DATA [--interpreter NAME]``) in a fresh
    1-thread process, with this checkout first on its path; the finished process (stdout: its JSON)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", module, str(bundle_dir), str(data)]
    if interpreter:
        cmd += ["--interpreter", interpreter]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)


def run_edge_worker(bundle_dir: Path, data: Path, interpreter: str | None, *, timeout_s: float = 900) -> dict:
    """Run :mod:`export.edge_worker` in a fresh 1-thread process; its JSON result.

    Raises
    ------
    RuntimeError
        If the worker fails (its last stderr line is in the message).
    """
    proc = run_worker("export.edge_worker", bundle_dir, data, interpreter, timeout_s=timeout_s)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"edge worker ({interpreter}) failed: {last}")
    return json.loads(proc.stdout)


def keras_timings(model, log_mels: np.ndarray) -> tuple[np.ndarray, dict, dict]:
    """Probabilities and per-window times of a Keras model, one window at a time.

    Returns
    -------
    probabilities : np.ndarray [shape=(n, 10), float32] from ``model(x, training=False)``
    call_ms, predict_ms : dict
        median / p95 / mean milliseconds per window of ``model(x, training=False)`` and
        ``model.predict(x, verbose=0)``.
    """
    x = log_mels.astype(np.float32)
    for _ in range(3):
        model(x[:1], training=False)
        model.predict(x[:1], verbose=0)
    call, pred, probs = [], [], []
    for i in range(len(x)):
        t0 = time.perf_counter()
        p = model(x[i:i + 1], training=False)
        p = np.asarray(p)
        t1 = time.perf_counter()
        model.predict(x[i:i + 1], verbose=0)
        t2 = time.perf_counter()
        call.append(t1 - t0)
        pred.append(t2 - t1)
        probs.append(p[0])
    return np.asarray(probs, dtype=np.float32), _ms(call), _ms(pred)


def bench(
    bundle_path: str | os.PathLike,
    *,
    run_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    variants: Sequence[str] = QUANTIZATIONS,
    interpreters: Sequence[str] | None = None,
    max_windows: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Measure every variant of a bundle's model beside Keras (see the module docstring).

    Parameters
    ----------
    bundle_path : path
        A bundle written by ``spoken-digits export``.
    run_dir : path, optional
        The run it came from (default: the one recorded in its provenance).
    variants : sequence of {"int8", "float16", "dynamic", "float32"}
    interpreters : sequence of {"tflite_runtime", "ai_edge_litert"}, optional
        Default: every edge interpreter installed.
    max_windows : int, optional
        Use only the first test windows (default: the whole test part).

    Returns
    -------
    result : dict
        ``{"bundle", "run", "model", "windows", "rows": [BenchRow as dict...], "keras": {...}}``.

    Raises
    ------
    RunError, BundleError
        Unusable bundle or run.
    """
    import shutil

    from realtime.bundle import load_bundle
    from trainer.errors import RunError
    from trainer.runs import load_model, load_run

    from .exporter import calibration_log_mels, export_run

    bundle = load_bundle(bundle_path)
    prov = bundle.spec.get("provenance") or {}
    if not run_dir:
        recorded = prov.get("run")
        if not recorded:
            raise RunError(f"{bundle.json_path}: no run recorded in its provenance; pass --run")
        run_dir = bundle.directory / recorded  # recorded relative to the bundle directory
        if not run_dir.is_dir():
            raise RunError(f"{bundle.json_path}: its run {recorded!r} (relative to the bundle) is not found; pass --run")
    model_name = bundle.spec.get("model")
    run = load_run(run_dir, data_dir=data_dir)
    split = run.split(prov.get("fold") if len(run.splits) > 1 else None)
    bad = [v for v in variants if v not in QUANTIZATIONS]
    if bad:
        raise ValueError(f"unknown variants {bad}; choose from {', '.join(QUANTIZATIONS)}")
    if interpreters is None:
        interpreters = _edge_interpreters()
    waves, mels, labels = bench_windows(run, split, max_windows=max_windows)
    calibration = None
    if "int8" in variants and bundle.quantization != "int8":
        calibration = calibration_log_mels(run, split, model_name, cache_dir=cache_dir, progress=progress)

    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialized (e.g. in tests)
        log.info("TensorFlow already initialized; Keras timings use its current thread settings")
    keras_model = load_model(run.model_dir(model_name, split.name) / "model.keras")
    keras_probs, call_ms, predict_ms = keras_timings(keras_model, mels)
    if bundle.output_kind == "logits":  # the edge gives softmax(logits / T): compare with the same on Keras
        from trainer.recipes.deploy import logits_of, softmax

        keras_probs = softmax(logits_of(keras_model, mels), bundle.temperature)
    keras_pred = keras_probs.argmax(1)
    from realtime.resources import peak_rss_mb

    keras_rss = peak_rss_mb()

    rows: list[BenchRow] = []
    tmp = Path(tempfile.mkdtemp(prefix="spoken-digits-bench-"))
    try:
        data = tmp / "windows.npz"
        np.savez(data, wave=waves, log_mel=mels)
        np.save(str(data) + ".first.npy", waves[0])
        for variant in variants:
            if variant == bundle.quantization:
                vdir = bundle.directory
            else:
                vdir = tmp / f"{bundle.name}-{variant}"
                export_run(run.path, vdir, model=model_name, quantization=variant, fold=split.name if len(run.splits) > 1 else None,
                           data_dir=data_dir, cache_dir=cache_dir, keras_model=keras_model, calibration=calibration)
            for interp in interpreters:
                try:
                    r = run_edge_worker(vdir, data, interp)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    rows.append(BenchRow(variant, interp, None, None, {}, float("nan"), float("nan"), float("nan"),
                                         None, None, {"error": str(e)}))
                    continue
                p = np.asarray(r["probabilities"], dtype=np.float32)
                pe = np.asarray(r["probabilities_e2e"], dtype=np.float32)
                rows.append(BenchRow(
                    variant, interp, r["tflite_bytes"], r["front_end_ms"], r["model_ms"],
                    float((p.argmax(1) == keras_pred).mean()), float(np.abs(p - keras_probs).max()),
                    float((p.argmax(1) == labels).mean()), float((pe.argmax(1) == labels).mean()),
                    r["peak_rss_mb"], {"modules": r["modules"]},
                ))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keras = {
        "call_ms": call_ms, "predict_ms": predict_ms, "accuracy": float((keras_pred == labels).mean()),
        "peak_rss_mb_this_process": keras_rss, "tensorflow": tf.__version__,
    }
    return {
        "bundle": str(bundle.directory), "run": str(run.path), "model": model_name, "fold": split.name,
        "windows": int(len(labels)), "rows": [r.__dict__ for r in rows], "keras": keras, "goals": GOALS,
    }


def _edge_interpreters() -> list[str]:
    """Edge interpreters importable in a fresh process (the bench process has TensorFlow loaded)."""
    out = []
    for name, module in (("tflite_runtime", "tflite_runtime.interpreter"), ("ai_edge_litert", "ai_edge_litert.interpreter")):
        proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, timeout=120)
        if proc.returncode == 0:
            out.append(name)
    return out


def format_table(result: dict[str, Any]):
    """A ``rich.table.Table`` of a :func:`bench` result (times: median / p95 ms per window)."""
    from rich.table import Table

    def t(d):
        return "-" if not d else f"{d['median']:.3f} / {d['p95']:.3f}"

    table = Table(title=f"{result['model']} on {result['windows']} test windows of {Path(result['run']).name} "
                        f"(1 thread; agreement and max |dp| vs Keras float on the same log-mels)")
    for col in ("variant", "runtime", "KB", "front end ms", "invoke ms", "agree", "max |dp|", "acc", "acc e2e",
                "RSS MB"):
        table.add_column(col, justify="left" if col in ("variant", "runtime") else "right")
    for r in result["rows"]:
        if "error" in r["extra"]:
            table.add_row(r["variant"], r["runtime"], *["-"] * 7, f"[red]{r['extra']['error']}[/red]")
            continue
        table.add_row(
            r["variant"], r["runtime"], f"{r['size_bytes'] / 1024:.1f}", t(r["front_end_ms"]), t(r["model_ms"]),
            f"{r['agreement']:.2%}", f"{r['max_abs_diff']:.4f}", f"{r['accuracy']:.2%}", f"{r['accuracy_e2e']:.2%}",
            f"{r['peak_rss_mb']:.0f}",
        )
    k = result["keras"]
    for label, key in (("model(x)", "call_ms"), ("predict(x)", "predict_ms")):
        table.add_row("keras float", label, "-", "-", t(k[key]), "100.00%", "0", f"{k['accuracy']:.2%}", "-",
                      f"{k['peak_rss_mb_this_process']:.0f}*")
    table.caption = ("front end ms / invoke ms: median / p95 per 0.8 s window; invoke = quantize + reset LSTM state + "
                     "invoke + dequantize. acc e2e: numpy front end on the same windows. RSS: peak of the edge-only "
                     "process; *Keras: the bench process (TensorFlow, conversions). Goals: int8 <= 64 KB, invoke <= 1 ms, "
                     "front end <= 2 ms, edge RSS <= 80 MB, agreement >= 99%.")
    return table


__all__ = ["BenchRow", "GOALS", "bench", "bench_windows", "deploy_bench_windows", "format_table", "keras_timings",
           "run_edge_worker", "run_worker"]
