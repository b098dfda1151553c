"""The seeds' keyword CNNs, a second model family beside the LSTM (issue 10).

Four Keras 3 builders on the project's log-mel (docs/design.md section 3):

=====================  ====================================================  ==================
architecture           core                                                  seed / reference
=====================  ====================================================  ==================
``cnn_spectrogram``    3 x (Conv2D 3x3 + BatchNorm + ReLU + MaxPool 2x2),    the seeds' small
                       Dense(128)                                            Kaggle-style CNN
``cnn_mfcc``           in-model MFCC (fixed DCT-II), Conv2D 7x7 56 and 112,  the seeds' MFCC CNN
                       MaxPool 2x2, 2 x Dense(256) + dropout
``cnn_vgg``            5x5 Conv2D 32-32 / 64-64 / 128-128 (+ BatchNorm),     the seeds' VGG-like
                       MaxPool 2x2 after each pair, Dense(256)               CNN on spectrograms
``ds_cnn``             Conv2D 10x4 /2, 4 x (DepthwiseConv2D 3x3 + BN + ReLU  "Hello Edge" DS-CNN
                       + Conv2D 1x1 + BN + ReLU), global average pooling     (Zhang et al. 2017)
=====================  ====================================================  ==================

Every model takes what the LSTM takes, the log-mel ``log_mel`` [shape=(batch, 64, 35),
float32, dB in -80..0 relative to the window's loudest bin], rescales it like the LSTM
(``x / top_db + 1``, 0..1), applies :class:`~trainer.models.layers.SpecAugment` while training if
asked, and ends in ``Dense(n_classes, softmax)`` named ``probabilities`` (whose logits
the deploy protocol calibrates and exports, :func:`trainer.recipes.deploy.logits_of`). So the
bundle contract, the numpy front end and ``realtime/`` are unchanged: a CNN bundle is
read and run like the LSTM's.

Only layers that convert to builtin TFLite ops tflite-runtime 2.14 runs are used:
Rescaling (MUL/ADD), Permute (TRANSPOSE), Reshape/Flatten (RESHAPE), Conv2D,
DepthwiseConv2D, BatchNormalization (folded into the convolution or dense layer before
it), ReLU, MaxPooling2D, GlobalAveragePooling2D (MEAN), Dense (FULLY_CONNECTED),
Dropout and SpecAugment (training only; left out of the export). ``export.convert.edge_model``
copies them to ``tf_keras``.

The seed notebooks themselves are not in this repository; each builder quotes the
description of the seed it follows as issue 10 gives it, and says where the input had to
be adapted: the seeds computed their own features (16 kHz log-spectrograms, MFCCs from
librosa) while every model here reads the project's 22,050 Hz 64-mel log-mel of a 0.8 s
window (35 frames of 23 ms hop), so that one front end serves every bundle.
"""
from __future__ import annotations

import numpy as np

from ..config import FRONT_END, FrontEndConfig

#: Architecture name -> builder name (the deploy protocol's ``--model`` choices beside ``lstm``).
CNN_ARCHITECTURES = ("cnn_spectrogram", "cnn_mfcc", "cnn_vgg", "ds_cnn")
#: MFCCs of ``cnn_mfcc`` (librosa's default ``n_mfcc``).
N_MFCC = 20
DROPOUT = 0.3


def dct_matrix(n_mels: int, n_mfcc: int) -> np.ndarray:
    """The orthonormal DCT-II matrix ``D`` [shape=(n_mfcc, n_mels), float64] with ``mfcc = D @ log_mel``.

    ``librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)`` (``dct_type=2, norm="ortho", lifter=0``)
    is ``scipy.fft.dct(log_mel, type=2, norm="ortho", axis=-2)[..., :n_mfcc, :]``; the DCT of
    the identity along its first axis has column ``m`` = the DCT of the unit vector ``e_m``,
    so it is that matrix.
    """
    from scipy.fft import dct

    if not 1 <= n_mfcc <= n_mels:
        raise ValueError(f"n_mfcc must be in 1..{n_mels}, got {n_mfcc}")
    return dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc]


def _front(config: FrontEndConfig, spec_augment: bool):
    """``log_mel`` input -> rescaled to 0..1 -> SpecAugment (training only) if asked."""
    import keras
    from keras import layers

    inp = keras.Input(shape=config.log_mel_shape, name="log_mel")
    x = layers.Rescaling(1.0 / config.top_db, offset=1.0, name="db_to_unit")(inp)
    if spec_augment:
        from .layers import SpecAugment

        x = SpecAugment(name="spec_augment")(x)
    return inp, x


def _conv_bn_relu(x, filters: int, kernel, name: str, *, strides=1):
    from keras import layers

    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _head(x, n_classes: int, dense_units: tuple[int, ...], dropout: float):
    from keras import layers

    for i, units in enumerate(dense_units, 1):
        x = layers.Dropout(dropout, name=f"dropout{i}")(x)
        x = layers.Dense(units, activation="relu", name=f"dense{i}")(x)
    x = layers.Dropout(dropout, name="dropout_out")(x)
    return layers.Dense(n_classes, activation="softmax", name="probabilities")(x)


def cnn_spectrogram(*, n_classes: int, spec_augment: bool = False, config: FrontEndConfig = FRONT_END,
                    filters: tuple[int, ...] = (16, 32, 64), dense_units: int = 128, dropout: float = DROPOUT,
                    name: str = "cnn_spectrogram"):
    """The seeds' small CNN on log-spectrograms (Kaggle Speech Commands style).

    Seed (issue 10): "a few Conv2D 3x3 + BatchNorm + max-pool blocks, dense head; ~75 % on
    Kaggle", on a 20 ms / 10 ms log-spectrogram of 16 kHz audio (99 frames x 161 bins of 1 s).

    Here::

        log_mel (64, 35) dB -> Rescaling x/80 + 1 -> [SpecAugment]
        -> Reshape (64 mels, 35 frames, 1)                    an image, frequency x time
        -> Conv2D 16 3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2   (32, 17, 16)
        -> Conv2D 32 3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2   (16, 8, 32)
        -> Conv2D 64 3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2   (8, 4, 64)
        -> Flatten (2048) -> Dropout -> Dense(128, relu) -> Dropout -> Dense(n_classes, softmax)

    Input adapted: the project's 64-mel log-mel (0.8 s, 23 ms hop, up to 4 kHz) instead of the
    seed's 161-bin linear log-spectrogram of 1 s at 16 kHz; the image is 64 x 35 instead of
    161 x 99, so three 2x2 poolings leave 8 x 4.
    """
    import keras
    from keras import layers

    inp, x = _front(config, spec_augment)
    x = layers.Reshape((*config.log_mel_shape, 1), name="image")(x)
    for i, f in enumerate(filters, 1):
        x = _conv_bn_relu(x, f, 3, f"conv{i}")
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inp, _head(x, n_classes, (dense_units,), dropout), name=name)


def cnn_mfcc(*, n_classes: int, spec_augment: bool = False, config: FrontEndConfig = FRONT_END,
             n_mfcc: int = N_MFCC, filters: tuple[int, int] = (56, 112), dense_units: int = 256, dropout: float = 0.5,
             name: str = "cnn_mfcc"):
    """The seeds' MFCC CNN, with the MFCCs computed inside the model.

    Seed (issue 10): "two Conv2D 7x7 layers of 56 and 112 filters, 2x2 max pooling, two
    Dense(256) with dropout, softmax", on MFCCs computed with librosa.

    Here::

        log_mel (64, 35) dB -> Rescaling x/80 + 1 -> [SpecAugment]
        -> Permute (35 frames, 64 mels)
        -> Dense(n_mfcc) "mfcc", fixed (not trainable): the DCT-II (ortho) along the mel axis,
           kernel 80 * D^T and bias -80 * D @ 1, so its output is exactly
           librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc) of the dB log-mel        (35, 20)
        -> BatchNorm "mfcc_norm" (per coefficient; folds into the DCT's FULLY_CONNECTED)
        -> Reshape (35, 20, 1)                               an image, time x coefficient
        -> Conv2D 56 7x7 same, ReLU -> MaxPool 2x2           (17, 10, 56)
        -> Conv2D 112 7x7 same, ReLU -> MaxPool 2x2          (8, 5, 112)
        -> Flatten (4480) -> Dropout 0.5 -> Dense(256, relu) -> Dropout 0.5 -> Dense(256, relu)
        -> Dropout 0.5 -> Dense(n_classes, softmax)

    Input adapted: the MFCCs are those of the project's log-mel (64 mels up to 4 kHz, 35 frames),
    not of the seed's own librosa front end, and they are computed by the model so that the
    bundle's input stays the log-mel: the edge needs no new front end (the DCT is one
    FULLY_CONNECTED op). ``mfcc_norm`` is an addition: the raw coefficients span hundreds of
    dB (c0) down to a few, and the seed's scaling of them is not known.
    """
    import keras
    from keras import layers

    n_mels, n_frames = config.log_mel_shape
    inp, x = _front(config, spec_augment)
    x = layers.Permute((2, 1), name="frames_first")(x)
    dct = layers.Dense(n_mfcc, use_bias=True, trainable=False, name="mfcc")
    x = dct(x)
    d = dct_matrix(n_mels, n_mfcc)
    # mfcc = D @ dB, and dB = top_db * (u - 1) for the rescaled u the layer receives
    dct.set_weights([(config.top_db * d.T).astype(np.float32), (-config.top_db * d.sum(axis=1)).astype(np.float32)])
    x = layers.BatchNormalization(name="mfcc_norm")(x)
    x = layers.Reshape((n_frames, n_mfcc, 1), name="image")(x)
    for i, f in enumerate(filters, 1):
        x = layers.Conv2D(f, 7, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inp, _head(x, n_classes, (dense_units, dense_units), dropout), name=name)


def cnn_vgg(*, n_classes: int, spec_augment: bool = False, config: FrontEndConfig = FRONT_END,
            filters: tuple[int, ...] = (32, 64, 128), dense_units: int = 256, dropout: float = 0.5,
            name: str = "cnn_vgg"):
    """The seeds' VGG-like CNN on spectrogram images.

    Seed (issue 10): "5x5 convolutions 32-32 / 64-64 (then 128-128 if it fits), pooling,
    dense, 12 classes", on spectrogram images.

    Here::

        log_mel (64, 35) dB -> Rescaling x/80 + 1 -> [SpecAugment] -> Reshape (64, 35, 1)
        -> 2 x (Conv2D 32 5x5 same -> BatchNorm -> ReLU) -> MaxPool 2x2      (32, 17, 32)
        -> 2 x (Conv2D 64 5x5 same -> BatchNorm -> ReLU) -> MaxPool 2x2      (16, 8, 64)
        -> 2 x (Conv2D 128 5x5 same -> BatchNorm -> ReLU) -> MaxPool 2x2     (8, 4, 128)
        -> Flatten (4096) -> Dropout 0.5 -> Dense(256, relu) -> Dropout 0.5 -> Dense(n_classes, softmax)

    Input adapted: the 64 x 35 log-mel image instead of the seed's spectrogram image; it
    fits three poolings, so the 128-128 stage is in. BatchNorm after each convolution is an
    addition (it folds into the convolution at export) that lets the model train in the few
    epochs two cores allow.
    """
    import keras
    from keras import layers

    inp, x = _front(config, spec_augment)
    x = layers.Reshape((*config.log_mel_shape, 1), name="image")(x)
    for i, f in enumerate(filters, 1):
        x = _conv_bn_relu(x, f, 5, f"conv{i}a")
        x = _conv_bn_relu(x, f, 5, f"conv{i}b")
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inp, _head(x, n_classes, (dense_units,), dropout), name=name)


def ds_cnn(*, n_classes: int, spec_augment: bool = False, config: FrontEndConfig = FRONT_END,
           filters: int = 64, blocks: int = 4, first_kernel: tuple[int, int] = (10, 4),
           first_strides: tuple[int, int] = (2, 2), dropout: float = 0.4, name: str = "ds_cnn"):
    """A depthwise-separable CNN in the style of "Hello Edge" (Zhang et al. 2017, arXiv:1711.07128).

    Reference: DS-CNN (small): "a standard convolution layer [64 filters, 10x4, stride 2x2]
    followed by depthwise separable convolution layers [4 x: 3x3 depthwise + BatchNorm + ReLU,
    1x1 pointwise 64 + BatchNorm + ReLU], average pooling and a fully-connected layer", on
    10 MFCCs of 49 frames (40 ms windows, 20 ms stride).

    Here::

        log_mel (64, 35) dB -> Rescaling x/80 + 1 -> [SpecAugment]
        -> Permute (35 frames, 64 mels) -> Reshape (35, 64, 1)     time x frequency, as the paper
        -> Conv2D 64 10x4 stride 2x2 same -> BatchNorm -> ReLU     (18, 32, 64)
        -> 4 x (DepthwiseConv2D 3x3 same -> BatchNorm -> ReLU
                -> Conv2D 64 1x1 -> BatchNorm -> ReLU)             (18, 32, 64)
        -> GlobalAveragePooling2D (64) -> Dropout -> Dense(n_classes, softmax)

    Input adapted: the 64-mel log-mel (35 frames x 64 mels) instead of 49 frames x 10 MFCCs,
    so the feature maps after the first stride are 18 x 32 instead of 25 x 5 (about 12 M
    multiply-adds per window instead of the paper's 2.7 M).
    """
    import keras
    from keras import layers

    n_mels, n_frames = config.log_mel_shape
    inp, x = _front(config, spec_augment)
    x = layers.Permute((2, 1), name="frames_first")(x)
    x = layers.Reshape((n_frames, n_mels, 1), name="image")(x)
    x = _conv_bn_relu(x, filters, first_kernel, "conv0", strides=first_strides)
    for i in range(1, blocks + 1):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw{i}")(x)
        x = layers.BatchNormalization(name=f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = _conv_bn_relu(x, filters, 1, f"pw{i}")
    x = layers.GlobalAveragePooling2D(name="average")(x)
    x = layers.Dropout(dropout, name="dropout_out")(x)
    out = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name=name)


_BUILDERS = {"cnn_spectrogram": cnn_spectrogram, "cnn_mfcc": cnn_mfcc, "cnn_vgg": cnn_vgg, "ds_cnn": ds_cnn}


def build_cnn(architecture: str, *, n_classes: int, spec_augment: bool = False, config: FrontEndConfig = FRONT_END,
              name: str | None = None, **kwargs):
    """Build (uncompiled) one of :data:`CNN_ARCHITECTURES`; ``kwargs`` go to its builder.

    Raises
    ------
    ValueError
        Unknown ``architecture``.
    """
    if architecture not in _BUILDERS:
        raise ValueError(f"unknown CNN {architecture!r}; choose one of {', '.join(CNN_ARCHITECTURES)}")
    return _BUILDERS[architecture](n_classes=n_classes, spec_augment=spec_augment, config=config,
                                   name=name or architecture, **kwargs)


__all__ = ["CNN_ARCHITECTURES", "N_MFCC", "build_cnn", "cnn_mfcc", "cnn_spectrogram", "cnn_vgg", "dct_matrix",
           "ds_cnn"]
