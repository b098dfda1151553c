"""Keras 3 spectrogram model -> TFLite flatbuffer with builtin ops only.

A Keras 3 LSTM does not convert to the fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``
(docs/design.md section 7: ``TensorListReserve ... element_shape to be static``, or
WHILE/Flex graphs that tflite-runtime cannot run). :func:`edge_model` rebuilds
the same architecture with ``tf_keras`` and a static batch of 1, copies the
weights with ``set_weights``, and that converts to the fused op.

Quantization variants (:data:`realtime.bundle.QUANTIZATIONS`, the bundle contract):

``int8``
    Full-integer: weights and activations int8 (the LSTM's internal state int16),
    calibrated on a representative dataset of training log-mels; int8 input and
    output. Builtin int8 ops only.
``float16``
    Weights stored as float16, computed in float32; float32 input and output.
``dynamic``
    Dynamic-range: int8 weights, activations quantized on the fly; float32 I/O.
    Per-channel quantization of Dense layers is disabled, because it emits
    FULLY_CONNECTED version 12, which tflite-runtime 2.14 cannot load.
``float32``
    No quantization.
"""
from __future__ import annotations

import logging
import warnings
from typing import Callable, Iterable, Iterator

import numpy as np

from realtime.bundle import QUANTIZATIONS

log = logging.getLogger(__name__)

#: The fused LSTM op the converter should produce.
FUSED_LSTM_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"


class ConversionError(RuntimeError):
    """The model cannot be converted to a builtin-only TFLite model."""


def edge_model(model, *, logits: bool = False):
    """A ``tf_keras`` copy of a spectrogram model with batch size 1, weights copied.

    Dropout and SpecAugment layers are left out (they are the identity at inference).
    With ``logits=True`` the last Dense layer has no softmax: the model outputs logits,
    which the runtime turns into probabilities with the bundle's temperature.

    Parameters
    ----------
    model : keras.Model
        A model built by ``trainer.models.build_spectrogram_model`` (layers Input ->
        Rescaling -> Permute -> LSTM -> GlobalAveragePooling1D -> [Dropout] -> Dense
        -> [Dropout] -> Dense).

    Returns
    -------
    tf_keras.Model
        Same input name and shape (with a static batch of 1), same outputs.

    Raises
    ------
    ConversionError
        If the model holds a layer this copy does not know (e.g. a ``raw`` model).
    """
    import tf_keras

    L = tf_keras.layers
    if len(model.inputs) != 1:
        raise ConversionError(f"model {model.name!r} has {len(model.inputs)} inputs; only the spectrogram models export")
    shape = tuple(model.inputs[0].shape[1:])
    inp = tf_keras.Input(shape=shape, batch_size=1, name=model.inputs[0].name.split(":")[0] or "log_mel")
    x = inp
    weights: list[np.ndarray] = []
    for layer in model.layers:
        kind = type(layer).__name__
        cfg = layer.get_config()
        if kind == "InputLayer":
            continue
        if kind in ("Dropout", "SpecAugment"):
            continue
        if kind == "Rescaling":
            x = L.Rescaling(scale=cfg["scale"], offset=cfg["offset"], name=layer.name)(x)
        elif kind == "Permute":
            x = L.Permute(tuple(cfg["dims"]), name=layer.name)(x)
        elif kind == "LSTM":
            if cfg.get("go_backwards") or cfg.get("stateful"):
                raise ConversionError(f"layer {layer.name!r}: go_backwards/stateful LSTMs are not exported")
            x = L.LSTM(
                cfg["units"], activation=cfg["activation"], recurrent_activation=cfg["recurrent_activation"],
                use_bias=cfg["use_bias"], return_sequences=cfg["return_sequences"], name=layer.name,
            )(x)
        elif kind == "GlobalAveragePooling1D":
            x = L.GlobalAveragePooling1D(name=layer.name)(x)
        elif kind == "Dense":
            activation = None if (logits and layer is model.layers[-1]) else cfg["activation"]
            x = L.Dense(cfg["units"], activation=activation, use_bias=cfg["use_bias"], name=layer.name)(x)
        else:
            raise ConversionError(
                f"layer {layer.name!r} ({kind}) has no TFLite-friendly tf_keras copy; only the spectrogram models export"
            )
        weights.extend(np.asarray(w) for w in layer.get_weights())
    copy = tf_keras.Model(inp, x, name=f"{model.name}_edge")
    expected = [w.shape for w in copy.get_weights()]
    if [w.shape for w in weights] != expected:
        raise ConversionError(f"weight shapes differ between {model.name!r} and its tf_keras copy")
    copy.set_weights(weights)
    return copy


def representative_dataset(log_mels: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The converter's ``representative_dataset``: one ``[x]`` of shape (1, 64, 35) per sample.

    Parameters
    ----------
    log_mels : np.ndarray [shape=(n, n_mels, n_frames), float32]
        Training log-mels (dB) to calibrate activation ranges on.
    """
    data = np.asarray(log_mels, dtype=np.float32)

    def gen() -> Iterator[list[np.ndarray]]:
        for x in data:
            yield [x[np.newaxis]]

    return gen


def convert(model, quantization: str = "int8", *, calibration: Iterable | np.ndarray | None = None,
            logits: bool = False) -> bytes:
    """Convert a spectrogram model to a TFLite flatbuffer with builtin ops only.

    Parameters
    ----------
    model : keras.Model
        A trained spectrogram model (Keras 3).
    quantization : {"int8", "float16", "dynamic", "float32"}
        See the module docstring.
    calibration : np.ndarray [shape=(n, n_mels, n_frames), float32], optional
        Representative training log-mels; required for ``int8``.
    logits : bool
        Output the last layer's logits instead of its softmax (:func:`edge_model`).

    Returns
    -------
    tflite : bytes
        The flatbuffer.

    Raises
    ------
    ValueError
        Unknown ``quantization``, or ``int8`` without ``calibration``.
    ConversionError
        If the converter fails or the result needs non-builtin (Flex) ops.
    """
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    copy = edge_model(model, logits=logits)
    converter = tf.lite.TFLiteConverter.from_keras_model(copy)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError("int8 quantization needs calibration log-mels (a representative dataset)")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset(np.asarray(calibration))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        # Per-channel Dense quantization emits FULLY_CONNECTED v12, unknown to tflite-runtime 2.14.
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Statistics for quantized inputs were expected..." (int8 I/O)
            tflite = converter.convert()
    except Exception as e:  # the converter raises ConverterError, ValueError, RuntimeError...
        raise ConversionError(f"TFLite conversion ({quantization}) failed: {str(e).strip().splitlines()[0]}") from e
    ops = model_ops(tflite)
    flex = sorted(op for op in ops if op.startswith("Flex") or op == "CUSTOM")
    if flex:
        raise ConversionError(f"the {quantization} model needs non-builtin ops {flex}; tflite-runtime cannot run it")
    if FUSED_LSTM_OP not in ops:
        log.warning("the %s model has no fused %s (ops: %s)", quantization, FUSED_LSTM_OP, sorted(ops))
    return tflite


def model_ops(tflite: bytes) -> set[str]:
    """Names of the operators in a TFLite flatbuffer (builtin names, ``Flex...`` or ``CUSTOM``)."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=tflite)
    return {d["op_name"] for d in interpreter._get_ops_details()}


__all__ = ["ConversionError", "FUSED_LSTM_OP", "QUANTIZATIONS", "convert", "edge_model", "model_ops", "representative_dataset"]
