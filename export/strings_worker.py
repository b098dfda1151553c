"""One edge-only process that reads a bundle's digit-string model on stored log-mels (the exporter's parity check).

Run as ``python -m export.strings_worker BUNDLE DATA.npz --interpreter NAME``. It imports only numpy,
``realtime`` and one TFLite interpreter (``tflite_runtime`` first, before anything could pull in
TensorFlow: docs/design.md section 7), so the strings are what that interpreter package gives on a
Raspberry Pi. DATA.npz holds ``log_mel`` [shape=(n, n_mels, T), float32, dB] and ``frames``
[shape=(n,), int] (the real frames of each). It prints one JSON object on stdout: ``interpreter`` (the
package used) and ``strings`` (the greedy CTC string of each utterance,
:meth:`realtime.strings.StringReader.read_log_mel`).
Exit status 3 if the interpreter package is not installed.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m export.strings_worker")
    ap.add_argument("bundle")
    ap.add_argument("data")
    ap.add_argument("--interpreter", default=None)
    args = ap.parse_args(argv)

    if args.interpreter in (None, "tflite_runtime"):
        try:  # before anything else may pull in TensorFlow
            import tflite_runtime.interpreter  # noqa: F401
        except ImportError:
            pass
    from realtime.errors import InterpreterMissingError
    from realtime.strings import StringReader

    try:
        reader = StringReader(args.bundle, interpreter=args.interpreter)
    except InterpreterMissingError as e:
        print(str(e), file=sys.stderr)
        return 3
    with np.load(args.data) as z:
        out = [reader.read_log_mel(m[:, :min(int(f), reader.spec.max_frames)]).digits
               for m, f in zip(z["log_mel"], z["frames"])]
    json.dump({"interpreter": reader.interpreter_name, "strings": out}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
