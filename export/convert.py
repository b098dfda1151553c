"""Keras 3 spectrogram model (LSTM or CNN) -> TFLite flatbuffer with builtin ops only.

A Keras 3 LSTM does not convert to the fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``
(docs/design.md section 7: ``TensorListReserve ... element_shape to be static``, or
WHILE/Flex graphs that tflite-runtime cannot run). :func:`edge_model` rebuilds
the same architecture with ``tf_keras`` and a static batch of 1, copies the
weights with ``set_weights``, and that converts to the fused op. The CNNs of
:mod:`trainer.models.cnn` take the same path (Conv2D, DepthwiseConv2D, pooling, Dense; their
BatchNormalization folds into the layer before it, the fixed MFCC DCT of ``cnn_mfcc`` is
one FULLY_CONNECTED).

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


def _layer_copy(L, layer, kind: str, cfg: dict, *, logits_here: bool):
    """The ``tf_keras`` twin of one Keras 3 layer (same arguments, no weights yet), or None to skip it."""
    if kind in ("InputLayer", "Dropout", "SpecAugment"):
        return None
    name = layer.name if layer is not None else cfg["name"]
    if kind == "Rescaling":
        return L.Rescaling(scale=cfg["scale"], offset=cfg["offset"], name=name)
    if kind == "BandMeanNormalization":  # trainer.models.layers: x - mean over the frames -> TFLite MEAN + SUB
        import tensorflow as tf

        return L.Lambda(lambda t: t - tf.reduce_mean(t, axis=-1, keepdims=True), name=name)
    if kind == "Permute":
        return L.Permute(tuple(cfg["dims"]), name=name)
    if kind == "LSTM":
        if cfg.get("go_backwards") or cfg.get("stateful"):
            raise ConversionError(f"layer {name!r}: go_backwards/stateful LSTMs are not exported")
        return L.LSTM(cfg["units"], activation=cfg["activation"], recurrent_activation=cfg["recurrent_activation"],
                      use_bias=cfg["use_bias"], return_sequences=cfg["return_sequences"], name=name)
    if kind == "Bidirectional":
        inner = cfg["layer"]
        inner_cfg = inner.get("config", inner)
        if inner.get("class_name", "LSTM") != "LSTM" or cfg.get("merge_mode", "concat") != "concat":
            raise ConversionError(f"layer {name!r}: only Bidirectional(LSTM) with concatenated outputs is exported")
        lstm = _layer_copy(L, None, "LSTM", inner_cfg, logits_here=False)
        return L.Bidirectional(lstm, merge_mode="concat", name=name)
    if kind == "GlobalAveragePooling1D":
        return L.GlobalAveragePooling1D(name=name)
    if kind == "GlobalAveragePooling2D":
        return L.GlobalAveragePooling2D(keepdims=cfg.get("keepdims", False), name=name)
    if kind == "Dense":
        activation = None if logits_here else cfg["activation"]
        return L.Dense(cfg["units"], activation=activation, use_bias=cfg["use_bias"], trainable=cfg.get("trainable", True),
                       name=name)
    if kind in ("Conv2D", "DepthwiseConv2D"):
        if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("groups", 1) != 1:
            raise ConversionError(f"layer {name!r}: only channels_last, ungrouped convolutions are exported")
        common = dict(kernel_size=tuple(cfg["kernel_size"]), strides=tuple(cfg["strides"]), padding=cfg["padding"],
                      dilation_rate=tuple(cfg["dilation_rate"]), activation=cfg["activation"], use_bias=cfg["use_bias"],
                      name=name)
        if kind == "Conv2D":
            return L.Conv2D(cfg["filters"], **common)
        return L.DepthwiseConv2D(depth_multiplier=cfg["depth_multiplier"], **common)
    if kind == "BatchNormalization":
        axis = cfg["axis"]
        return L.BatchNormalization(axis=axis if isinstance(axis, int) else list(axis), momentum=cfg["momentum"],
                                    epsilon=cfg["epsilon"], center=cfg["center"], scale=cfg["scale"], name=name)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ConversionError(f"layer {name!r}: only channels_last pooling is exported")
        return getattr(L, kind)(pool_size=tuple(cfg["pool_size"]), strides=tuple(cfg["strides"]),
                                padding=cfg["padding"], name=name)
    if kind == "Reshape":
        return L.Reshape(tuple(cfg["target_shape"]), name=name)
    if kind == "Flatten":
        return L.Flatten(name=name)
    if kind == "ReLU":
        return L.ReLU(max_value=cfg.get("max_value"), negative_slope=cfg.get("negative_slope", 0.0),
                      threshold=cfg.get("threshold", 0.0), name=name)
    if kind == "Activation" and cfg["activation"] in ("relu", "softmax", "linear"):
        return L.Activation(cfg["activation"], name=name)
    raise ConversionError(f"layer {name!r} ({kind}) has no TFLite-friendly tf_keras copy; only the spectrogram "
                          "models (LSTM and the CNNs of trainer.models.cnn) export")


def edge_model(model, *, logits: bool = False):
    """A ``tf_keras`` copy of a spectrogram model with batch size 1, weights copied.

    The model is rebuilt layer by layer (its layers must form a chain); Dropout and
    SpecAugment layers are left out (they are the identity at inference). With
    ``logits=True`` the last Dense layer has no softmax: the model outputs logits,
    which the runtime turns into probabilities with the bundle's temperature.
    BatchNormalization layers are copied with their moving statistics; the TFLite
    converter folds them into the convolution or dense layer before them.

    Parameters
    ----------
    model : keras.Model
        A model built by ``trainer.models.lstm.build_spectrogram_model`` (layers Input ->
        Rescaling -> [BandMeanNormalization] -> Permute -> LSTM -> GlobalAveragePooling1D -> [Dropout] -> Dense
        -> [Dropout] -> Dense) or by ``trainer.models.cnn`` (Rescaling, Permute, Reshape,
        Flatten, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, MaxPooling2D,
        AveragePooling2D, GlobalAveragePooling2D, Dense, Dropout, SpecAugment).

    Returns
    -------
    tf_keras.Model
        Same input name and shape (with a static batch of 1), same outputs.

    Raises
    ------
    ConversionError
        If the model holds a layer this copy does not know (e.g. a ``raw`` model), or
        its layers do not form a chain.
    """
    import tf_keras

    L = tf_keras.layers
    if len(model.inputs) != 1:
        raise ConversionError(f"model {model.name!r} has {len(model.inputs)} inputs; only the spectrogram models export")
    shape = tuple(model.inputs[0].shape[1:])
    inp = tf_keras.Input(shape=shape, batch_size=1, name=model.inputs[0].name.split(":")[0] or "log_mel")
    x = inp
    pairs = []
    previous = None
    for layer in model.layers:
        kind = type(layer).__name__
        if kind != "InputLayer" and previous is not None:
            inbound = getattr(layer, "_inbound_nodes", [])
            parents = [t._keras_history.operation for node in inbound for t in node.input_tensors]
            if parents and parents != [previous]:
                raise ConversionError(f"layer {layer.name!r} does not follow the layer before it; only chains export")
        previous = layer
        copy_layer = _layer_copy(L, layer, kind, layer.get_config(), logits_here=logits and layer is model.layers[-1])
        if copy_layer is None:
            continue
        x = copy_layer(x)
        pairs.append((layer, copy_layer))
    copy = tf_keras.Model(inp, x, name=f"{model.name}_edge")
    for layer, copy_layer in pairs:
        w = [np.asarray(v) for v in layer.get_weights()]
        if [v.shape for v in w] != [tuple(v.shape) for v in copy_layer.get_weights()]:
            raise ConversionError(f"weight shapes of layer {layer.name!r} differ between {model.name!r} and its "
                                  "tf_keras copy")
        copy_layer.set_weights(w)
    return copy


def representative_dataset(log_mels: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The converter's ``representative_dataset``: one ``[x]`` of shape (1, 64, frames) per sample.

    Parameters
    ----------
    log_mels : np.ndarray [shape=(n, n_mels, n_frames), float32], or a sequence of (n_mels, frames_i)
        Training log-mels (dB) to calibrate activation ranges on (of different lengths only for a
        model whose frames axis is open).
    """
    data = [np.asarray(x, dtype=np.float32) for x in log_mels]

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
    calibration : np.ndarray [shape=(n, n_mels, n_frames), float32] or sequence of (n_mels, frames_i), optional
        Representative training log-mels; required for ``int8``. A model whose frames axis is open
        (``max_frames=None``) may be calibrated on log-mels of different lengths.
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
        converter.representative_dataset = representative_dataset(calibration)
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
    if FUSED_LSTM_OP not in ops and any(type(layer).__name__ == "LSTM" for layer in model.layers):
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
