"""``spoken-digits bench-strings``: size and speed of a bundle's digit-string model on the edge path.

For utterances of several lengths, each installed TFLite interpreter (1 thread) reads the same
audio through :class:`realtime.strings.StringReader`: the numpy front end
(:meth:`realtime.frontend.FrontEnd.log_mel_utterance`) and the model (resized to the utterance
when its frames axis is open; padded to ``max_frames`` otherwise). The audio is a string of
tone bursts (digit-like 0.35 s syllables with 0.1 s gaps): the cost does not depend on what is
said. A benchmark, not a test: nothing is asserted; the goal shown is issue 27's (<= 50 ms per
second of audio, <= 256 KB).

numpy and a TFLite interpreter only (no TensorFlow, no librosa), like the recognizer.
"""
from __future__ import annotations

import time
from typing import Sequence

import click
import numpy as np

#: Issue 27's goals for the string model.
GOALS = {"kb": 256, "ms_per_audio_s": 50.0}
#: Utterance lengths measured (s).
LENGTHS_S = (1.0, 2.0, 4.0, 8.0)


def burst_string(seconds: float, sample_rate_hz: int, *, seed: int = 0) -> np.ndarray:
    """Digit-like audio: harmonic bursts of 0.35 s (100-300 Hz fundamental) with 0.1 s gaps.

    Returns
    -------
    audio : np.ndarray [shape=(round(seconds * sample_rate_hz),), float32, in [-0.5, 0.5]]
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate_hz))
    y = np.zeros(n, np.float32)
    t = np.arange(int(0.35 * sample_rate_hz)) / sample_rate_hz
    start = int(0.1 * sample_rate_hz)
    while start + t.size <= n:
        f0 = rng.uniform(100, 300)
        burst = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8)) * np.hanning(t.size)
        y[start:start + t.size] = burst / np.abs(burst).max() * 0.5
        start += t.size + int(0.1 * sample_rate_hz)
    return y + rng.normal(0, 1e-3, n).astype(np.float32)


def bench_strings(bundle, *, interpreters: Sequence[str] | None = None, lengths_s: Sequence[float] = LENGTHS_S,
                  repeats: int = 20) -> dict:
    """Time the string model of ``bundle`` per utterance length and interpreter.

    Parameters
    ----------
    bundle : path or Bundle
    interpreters : names of :data:`realtime.classifier.INTERPRETERS` or None (every edge interpreter that
        loads: tflite_runtime, ai_edge_litert; TensorFlow's only when named)
    lengths_s : utterance lengths (s), each at most the model's ``max_frames``
    repeats : int >= 1, timed reads per length (after one untimed read)

    Returns
    -------
    dict
        ``kb`` (the string model's file), ``quantization``, ``dynamic_frames``, ``rows``: per
        (interpreter, length): median ms of the front end, of the model, in all, and per second of audio.

    Raises
    ------
    BundleError
        If the bundle has no string model.
    InterpreterMissingError
        If none of ``interpreters`` is installed.
    """
    from .bundle import load_bundle
    from .classifier import INTERPRETERS, installed_interpreters, load_interpreter_class
    from .errors import BundleError, InterpreterMissingError
    from .strings import StringReader

    b = load_bundle(bundle) if not hasattr(bundle, "strings") else bundle
    if b.strings is None:
        raise BundleError(f"{b.json_path}: this bundle has no digit-string model")
    if interpreters:
        names = [load_interpreter_class(n)[0] for n in interpreters]  # a named one must load
    else:
        names = installed_interpreters([n for n in INTERPRETERS if n != "tensorflow"])  # the edge packages
    if not names:
        raise InterpreterMissingError("no TFLite interpreter is installed: pip install ai-edge-litert")
    rows = []
    for name in names:
        reader = StringReader(b, interpreter=name, num_threads=1)
        for seconds in lengths_s:
            y = burst_string(min(seconds, reader.max_samples / reader.sample_rate_hz), reader.sample_rate_hz)
            reader.read(y)
            fe, model = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                x = reader.front_end.log_mel_utterance(y)
                t1 = time.perf_counter()
                reader.posteriors_log_mel(x)
                t2 = time.perf_counter()
                fe.append(t1 - t0)
                model.append(t2 - t1)
            total = float(np.median(np.add(fe, model))) * 1000
            rows.append({"interpreter": name, "seconds": round(y.size / reader.sample_rate_hz, 2),
                         "front_end_ms": round(float(np.median(fe)) * 1000, 2),
                         "model_ms": round(float(np.median(model)) * 1000, 2), "total_ms": round(total, 2),
                         "ms_per_audio_s": round(total / (y.size / reader.sample_rate_hz), 2)})
    return {"bundle": str(b.json_path), "kb": round(b.strings.tflite_path.stat().st_size / 1000, 1),
            "quantization": b.strings.quantization, "dynamic_frames": b.strings.dynamic_frames, "rows": rows}


@click.command("bench-strings")
@click.argument("bundle", type=click.Path(path_type=str), default="default")
@click.option("--interpreter", "interpreters", multiple=True,
              help="tflite_runtime or ai_edge_litert (repeat for both); default: every one installed.")
@click.option("--repeats", type=click.IntRange(1), default=20, show_default=True, help="Timed reads per length.")
def bench_strings_cmd(bundle, interpreters, repeats):
    """Size of BUNDLE's digit-string model and its time per utterance (1, 2, 4, 8 s), 1 interpreter thread.

    BUNDLE: a bundle directory or NAME.json, or a packaged bundle's name (default: the shipped one).
    Times are medians in milliseconds: the numpy front end, the model, both, and both per second of audio.
    """
    from rich.console import Console
    from rich.table import Table

    from .bundle import find_bundle_json

    res = bench_strings(find_bundle_json(bundle), interpreters=interpreters or None, repeats=repeats)
    t = Table(title=f"{res['bundle']}: string model {res['kb']} KB {res['quantization']}, "
                    f"{'open' if res['dynamic_frames'] else 'fixed'} frames axis (goal <= {GOALS['kb']} KB, "
                    f"<= {GOALS['ms_per_audio_s']:.0f} ms per s of audio)")
    for col in ("interpreter", "audio s", "front end ms", "model ms", "total ms", "ms per s of audio"):
        t.add_column(col, justify="left" if col == "interpreter" else "right", no_wrap=col == "interpreter")
    for r in res["rows"]:
        t.add_row(r["interpreter"], f"{r['seconds']:.1f}", f"{r['front_end_ms']:.2f}", f"{r['model_ms']:.2f}",
                  f"{r['total_ms']:.2f}", f"{r['ms_per_audio_s']:.2f}")
    Console().print(t)


__all__ = ["GOALS", "LENGTHS_S", "bench_strings", "bench_strings_cmd", "burst_string"]
