"""The edge classifier: a bundle's TFLite model behind one small class.

:class:`Classifier` loads a verified bundle, picks a TFLite interpreter
(``tflite_runtime``, then ``ai_edge_litert``, then ``tensorflow.lite``),
quantizes the input and dequantizes the output with the bundle's parameters,
and resets the LSTM state before every window (the fused
``UNIDIRECTIONAL_SEQUENCE_LSTM`` keeps its state between ``invoke()`` calls,
docs/design.md section 7).

TensorFlow is imported only if neither edge interpreter is installed, inside
:func:`load_interpreter_class`.
"""
from __future__ import annotations

import importlib
import os
import sys
import warnings
from typing import Callable

import numpy as np

from .bundle import DEFAULT_BUNDLE, Bundle, load_bundle
from .errors import BundleError, InterpreterMissingError
from .frontend import FrontEnd

#: Interpreter packages in the order tried: name -> (module, pip package).
INTERPRETERS: dict[str, tuple[str, str]] = {
    "tflite_runtime": ("tflite_runtime.interpreter", "tflite-runtime"),
    "ai_edge_litert": ("ai_edge_litert.interpreter", "ai-edge-litert"),
    "tensorflow": ("tensorflow", "tensorflow"),
}
#: What to install when no interpreter is found (one line of the error message).
INSTALL_HINT = (
    "pip install tflite-runtime 'numpy<2' (Linux, Python <= 3.11, e.g. Raspberry Pi OS) "
    "or pip install ai-edge-litert (any platform)"
)


def load_interpreter_class(name: str | None = None) -> tuple[str, Callable]:
    """Find a TFLite ``Interpreter`` class.

    Parameters
    ----------
    name : {"tflite_runtime", "ai_edge_litert", "tensorflow"} or None
        Use this package only; ``None`` tries them in that order.

    Returns
    -------
    name : str
        The package used.
    interpreter_class : type
        Its ``Interpreter`` class (``tf.lite.Interpreter`` for ``"tensorflow"``).

    Raises
    ------
    InterpreterMissingError
        If the requested package (or, with ``None``, every package) cannot be imported;
        the message names the pip packages to install and why each import failed.
    ValueError
        If ``name`` is not one of the three.
    """
    if name is not None and name not in INTERPRETERS:
        raise ValueError(f"unknown interpreter {name!r}; choose one of {', '.join(INTERPRETERS)}")
    names = [name] if name is not None else list(INTERPRETERS)
    failures = []
    for n in names:
        module, pip_name = INTERPRETERS[n]
        if n == "tflite_runtime" and _tflite_runtime_after_tensorflow():
            # tflite-runtime 2.14 loaded after TensorFlow in one process either fails on every model
            # ("vector::reserve") or crashes the process: never try it (docs/design.md section 7)
            failures.append(f"{module}: {AFTER_TENSORFLOW}")
            continue
        try:
            mod = importlib.import_module(module)
            cls = mod.lite.Interpreter if n == "tensorflow" else mod.Interpreter
            return n, cls
        except Exception as e:  # ImportError, or a binary built against another numpy
            failures.append(f"{module}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": "))
    if name is not None:
        raise InterpreterMissingError(
            f"the TFLite interpreter {name!r} is not usable ({failures[0]}): pip install {INTERPRETERS[name][1]}"
        )
    raise InterpreterMissingError(f"no TFLite interpreter is installed: {INSTALL_HINT} ({'; '.join(failures)})")


#: Why tflite_runtime is refused in a process that imported TensorFlow first.
AFTER_TENSORFLOW = ("not usable because TensorFlow was imported first in this process: "
                    "import tflite_runtime.interpreter before TensorFlow, or use ai_edge_litert")


def _tflite_runtime_after_tensorflow() -> bool:
    """True if importing ``tflite_runtime`` now would put it after TensorFlow in this process."""
    return "tensorflow" in sys.modules and "tflite_runtime.interpreter" not in sys.modules


def installed_interpreters(names=None) -> list[str]:
    """Names of the interpreter packages that import in this process, in preference order (of ``names``,
    default every one of :data:`INTERPRETERS`; trying ``tensorflow`` imports TensorFlow)."""
    out = []
    for n in INTERPRETERS if names is None else names:
        try:
            load_interpreter_class(n)
        except InterpreterMissingError:
            continue
        out.append(n)
    return out


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """Affine quantization ``q = clip(round(x / scale) + zero_point)`` to ``dtype``'s range (TFLite)."""
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``real = scale * (q - zero_point)`` as float32 (TFLite affine quantization)."""
    return (np.float32(scale) * (np.asarray(q, dtype=np.float32) - np.float32(zero_point))).astype(np.float32)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` over the last axis (temperature scaling, Guo et al. 2017), float32."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)


def tensor_shape(detail: dict) -> tuple[int, ...]:
    """A TFLite tensor detail's shape signature (-1 for an axis the model leaves open), or its shape
    where the interpreter gives no signature."""
    signature = detail.get("shape_signature")
    return tuple(int(s) for s in (detail["shape"] if signature is None or len(signature) == 0 else signature))


def open_interpreter(model_path, input_spec, output_spec, *, num_threads: int = 1, interpreter: str | None = None):
    """Load a TFLite model with the first installed interpreter and check it against the bundle's record.

    Parameters
    ----------
    model_path : Path
        A ``.tflite`` file of a bundle (its checksum already verified by :func:`realtime.bundle.load_bundle`).
    input_spec, output_spec : TensorSpec
        What the bundle records for the model's single input and output (shape signature, -1 for an
        open axis; dtype).
    num_threads : int >= 1
    interpreter : str or None
        As :func:`load_interpreter_class`.

    Returns
    -------
    name : str
        The interpreter package in use.
    interpreter : object
        The interpreter, tensors allocated.
    input_detail, output_detail : dict
        The interpreter's details of the input and output tensor.

    Raises
    ------
    BundleError
        If the interpreter cannot load the model, it has not exactly one input and one output,
        or their shape or dtype differ from the record.
    InterpreterMissingError
        If no TFLite interpreter is installed.
    """
    name, cls = load_interpreter_class(interpreter)
    try:
        with warnings.catch_warnings():
            # tf.lite.Interpreter's deprecation notice (the last fallback); other warnings still show
            warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated", category=UserWarning)
            it = cls(model_path=str(model_path), num_threads=num_threads)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BundleError(f"{model_path}: {name} cannot load this model ({why})") from None
    inputs, outputs = it.get_input_details(), it.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise BundleError(f"{model_path}: expected one input and one output tensor")
    for what, detail, spec in (("input", inputs[0], input_spec), ("output", outputs[0], output_spec)):
        shape = tensor_shape(detail)
        if shape != spec.shape or np.dtype(detail["dtype"]).name != spec.dtype:
            raise BundleError(f"{model_path}: model {what} is {shape} "
                              f"{np.dtype(detail['dtype']).name}, the bundle records {spec.shape} {spec.dtype}")
    return name, it, inputs[0], outputs[0]


class Classifier:
    """A bundle's model, ready to classify one window at a time.

    Parameters
    ----------
    bundle : Bundle, path or None
        A loaded :class:`~realtime.bundle.Bundle`, a bundle directory or ``NAME.json``;
        ``None`` uses :data:`~realtime.bundle.DEFAULT_BUNDLE` (shipped in the package).
    num_threads : int >= 1
        Threads the interpreter may use (1 on a Raspberry Pi beside audio capture).
    interpreter : {"tflite_runtime", "ai_edge_litert", "tensorflow"} or None
        Force one interpreter package (tests, bench); ``None`` picks the first installed.

    Attributes
    ----------
    bundle : Bundle
    sample_rate_hz : int
        Rate of the audio :meth:`predict` expects (Hz).
    window_samples : int
        Samples per window (17,640 = 0.8 s).
    labels : tuple of str
        Class names, index = output position.
    interpreter_name : str
        The interpreter package in use.
    front_end : FrontEnd

    Raises
    ------
    BundleError
        If the bundle is missing, corrupt, of an unknown spec version, or its model
        does not load or does not match the bundle's recorded input/output.
    InterpreterMissingError
        If no TFLite interpreter is installed (the message names the pip packages).
    """

    def __init__(self, bundle: Bundle | str | os.PathLike | None = None, *, num_threads: int = 1,
                 interpreter: str | None = None):
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        if bundle is None:
            bundle = DEFAULT_BUNDLE
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.sample_rate_hz = self.bundle.sample_rate_hz
        self.window_samples = self.bundle.window_samples
        self.labels = self.bundle.labels
        self.front_end = FrontEnd.from_bundle(self.bundle)
        self.interpreter_name, self._interpreter, self._in, self._out = open_interpreter(
            self.bundle.tflite_path, self.bundle.input, self.bundle.output, num_threads=num_threads,
            interpreter=interpreter)
        self._in_spec, self._out_spec = self.bundle.input, self.bundle.output
        self._logits = self.bundle.output_kind == "logits"
        self._temperature = self.bundle.temperature
        self._in_dtype = np.dtype(self._in["dtype"])
        self._in_shape = tuple(self._in["shape"])

    def __repr__(self) -> str:
        return (f"Classifier({self.bundle.name!r}, quantization={self.bundle.quantization!r}, "
                f"interpreter={self.interpreter_name!r})")

    def predict_log_mel(self, log_mel: np.ndarray) -> np.ndarray:
        """Class probabilities of one log-mel spectrogram.

        The LSTM state is reset, the input quantized with the bundle's ``input``
        scale and zero point (if the model is quantized), the model invoked, and the
        output dequantized. A model whose bundle says ``output_kind: logits`` gives
        calibrated probabilities ``softmax(logits / temperature)``; reading the
        dequantized logits (not an int8 softmax) keeps confidences apart near 1.

        Parameters
        ----------
        log_mel : np.ndarray [shape=(n_mels, n_frames) = (64, 35), float]
            dB relative to the window's maximum (-80 .. 0), as from :class:`FrontEnd`.

        Returns
        -------
        probabilities : np.ndarray [shape=(n_labels,) = (10,) or (12,), dtype=float32]
            Sums to 1 (up to int8 steps of 1/256 for a quantized probabilities output).

        Raises
        ------
        ValueError
            If ``log_mel`` has another shape or holds non-finite values.
        """
        x = np.asarray(log_mel, dtype=np.float32)
        if x.shape != self._in_shape[1:]:
            raise ValueError(f"expected a log-mel of shape {self._in_shape[1:]}, got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("the log-mel holds non-finite values (NaN or inf)")
        if self._in_spec.quantized:
            x = quantize(x, self._in_spec.scale, self._in_spec.zero_point, self._in_dtype)
        else:
            x = x.astype(self._in_dtype, copy=False)
        it = self._interpreter
        it.reset_all_variables()  # a fresh LSTM state for every window
        it.set_tensor(self._in["index"], x[np.newaxis])
        it.invoke()
        y = it.get_tensor(self._out["index"])[0]
        if self._out_spec.quantized:
            y = dequantize(y, self._out_spec.scale, self._out_spec.zero_point)
        else:
            y = np.array(y, dtype=np.float32)
        if self._logits:
            return softmax(y, self._temperature)
        return y

    def log_mel(self, window: np.ndarray) -> np.ndarray:
        """The bundle's log-mel of one window (see :meth:`realtime.frontend.FrontEnd.log_mel`)."""
        return self.front_end.log_mel(window)

    def predict(self, window: np.ndarray) -> np.ndarray:
        """Class probabilities of one window of audio.

        Parameters
        ----------
        window : np.ndarray [shape=(window_samples,) = (17640,), float32]
            Mono audio at :attr:`sample_rate_hz` (22,050 Hz) in [-1, 1], the utterance
            left-aligned and zero-padded to the window, as in training.

        Returns
        -------
        probabilities : np.ndarray [shape=(n_labels,), dtype=float32]

        Raises
        ------
        ValueError
            If ``window`` has another shape or holds non-finite values.
        """
        return self.predict_log_mel(self.front_end.log_mel(window))


__all__ = ["Classifier", "INSTALL_HINT", "INTERPRETERS", "dequantize", "installed_interpreters",
           "load_interpreter_class", "open_interpreter", "quantize", "softmax", "tensor_shape"]
