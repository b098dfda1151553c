"""One edge-only measurement process for ``spoken-digits bench``.

Run as ``python -m export.edge_worker BUNDLE DATA.npz --interpreter NAME`` with
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``. It imports only numpy, ``realtime``
and one TFLite interpreter (never TensorFlow unless asked for, nor librosa,
``trainer`` or the rest of ``export``), so its peak RSS is what a Raspberry Pi
process needs. It prints one JSON object on stdout:

``peak_rss_mb``
    Peak RSS (MiB, ``VmHWM``) after loading the bundle and classifying one window 20 times,
    before the benchmark data is loaded (which would inflate it).
``front_end_ms``, ``model_ms``
    Per-window times (median, p95, mean) of ``Classifier.log_mel`` and of
    ``Classifier.predict_log_mel`` (quantize, reset the LSTM state, invoke, dequantize).
``probabilities``
    On the reference log-mels, shape (n, 10); ``probabilities_e2e`` on the numpy
    front end's log-mels of the same windows.
``modules``
    Whether ``tensorflow`` / ``librosa`` were imported.

DATA.npz holds ``wave`` [shape=(n, window_samples), float32] and ``log_mel``
[shape=(n, n_mels, n_frames), float32]; ``DATA.npz.first.npy`` its first wave.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from realtime.resources import peak_rss_mb as read_peak_rss_mb


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {"median": float(np.median(ms)), "p95": float(np.percentile(ms, 95)), "mean": float(ms.mean())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m export.edge_worker")
    ap.add_argument("bundle")
    ap.add_argument("data")
    ap.add_argument("--interpreter", default=None)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args(argv)

    if args.interpreter == "tflite_runtime" or args.interpreter is None:
        try:  # before anything else may pull in TensorFlow (docs/design.md section 7)
            import tflite_runtime.interpreter  # noqa: F401
        except ImportError:
            pass
    from realtime.classifier import Classifier

    clf = Classifier(args.bundle, num_threads=1, interpreter=args.interpreter)
    first = np.load(args.data + ".first.npy")
    for _ in range(args.warmup):
        p = clf.predict(first)
    assert p.shape == (len(clf.labels),)
    peak_rss_mb = read_peak_rss_mb()

    with np.load(args.data) as z:
        waves, log_mels = z["wave"], z["log_mel"]
    fe_s, model_s, probs, probs_e2e = [], [], [], []
    for w, ref in zip(waves, log_mels):
        t0 = time.perf_counter()
        lm = clf.log_mel(w)
        t1 = time.perf_counter()
        probs_e2e.append(clf.predict_log_mel(lm))
        t2 = time.perf_counter()
        fe_s.append(t1 - t0)
        model_s.append(t2 - t1)
        probs.append(clf.predict_log_mel(ref))
    json.dump({
        "interpreter": clf.interpreter_name,
        "quantization": clf.bundle.quantization,
        "tflite_bytes": clf.bundle.tflite_path.stat().st_size,
        "peak_rss_mb": peak_rss_mb,
        "front_end_ms": _stats(fe_s),
        "model_ms": _stats(model_s),
        "probabilities": np.asarray(probs).tolist(),
        "probabilities_e2e": np.asarray(probs_e2e).tolist(),
        "modules": {m: m in sys.modules for m in ("tensorflow", "librosa", "trainer", "keras")},
    }, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
