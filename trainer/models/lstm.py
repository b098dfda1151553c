"""The Keras 3 LSTM models (docs/design.md section 4).

=================  =========================================  ===============================
name               input                                      core -> head
=================  =========================================  ===============================
``raw``            waveform (17640,) float32 + mask (17640,)  frames of ``frame_length``
                   bool                                       samples -> masked LSTM -> last
                                                              output -> Dense -> Dense(10)
``spectrogram``    log-mel (64, 35) float32, dB               (35 frames, 64 mels) -> LSTM
                                                              (return_sequences) -> mean over
                                                              time -> Dense -> Dense(10)
``*_aug``          same                                       same, on augmented data
=================  =========================================  ===============================
"""
from __future__ import annotations

from ..config import FRONT_END, N_CLASSES, FrontEndConfig

MODEL_NAMES = ("raw", "spectrogram", "raw_aug", "spectrogram_aug")
#: Samples per LSTM step of the raw model: 441 samples = 20 ms at 22,050 Hz, 40 steps per
#: window. Chosen from ``python -m trainer.benchmarks.framing --epochs 15`` (docs/results.md, "Choosing the raw
#: model's framing"): within 2.5 points of the best validation accuracy at half the step time of
#: 147 samples; 1 reproduces the seed notebooks (230x slower per step, stays at chance).
DEFAULT_FRAME_LENGTH = 441
SPECTROGRAM_LSTM_UNITS = 64
RAW_LSTM_UNITS = 128
DENSE_UNITS = 64
#: Learned quadrature filters of the raw model's per-frame front end.
RAW_FILTERS = 64
DROPOUT = 0.3
#: The convolution in front of the LSTM (``conv_filters`` > 0, ``train --conv-filters``): kernel
#: (frames, mels) and stride. After Arik et al., "Convolutional Recurrent Neural Networks for
#: Small-Footprint Keyword Spotting" (Interspeech 2017): one convolution strided along frequency
#: (theirs 20 x 5, stride 8 x 2 on 40 PCEN bands) before the recurrent layer. Here 5 frames
#: (~116 ms at hop 512 / 22,050 Hz) by 16 mel bands, stride 1 frame x 8 bands: the 35 frames stay,
#: 64 bands become 8 positions.
CONV_KERNEL = (5, 16)
CONV_STRIDES = (1, 8)


def base_kind(model_name: str) -> str:
    """``"raw"`` or ``"spectrogram"`` for any of :data:`MODEL_NAMES`; ``ValueError`` otherwise."""
    if model_name not in MODEL_NAMES:
        raise ValueError(f"unknown model {model_name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return model_name.removesuffix("_aug")


def uses_augmentation(model_name: str) -> bool:
    """True for ``raw_aug`` and ``spectrogram_aug``."""
    base_kind(model_name)
    return model_name.endswith("_aug")


def build_spectrogram_model(
    *, config: FrontEndConfig = FRONT_END, lstm_units: int = SPECTROGRAM_LSTM_UNITS,
    dense_units: int = DENSE_UNITS, dropout: float = DROPOUT, name: str = "spectrogram",
    n_classes: int = N_CLASSES, spec_augment: bool = False, band_mean_norm: bool = False,
    conv_filters: int = 0,
):
    """LSTM over the log-mel frames (optionally behind a convolution: a CRNN).

    Input ``log_mel`` [shape=(batch, n_mels, n_frames) = (b, 64, 35), float32, dB in
    -80..0] -> rescale to 0..1 (``x / top_db + 1``) -> transpose to (b, 35, 64) ->
    ``LSTM(lstm_units, return_sequences=True)`` -> mean over the 35 steps -> dropout ->
    ``Dense(dense_units, relu)`` -> dropout -> ``Dense(n_classes, softmax)``.
    ``spec_augment=True`` adds :class:`~trainer.models.layers.SpecAugment` masks after the
    rescaling (active in training only; the deploy model uses it). ``band_mean_norm=True``
    then subtracts each band's mean over the frames (:class:`~trainer.models.layers.BandMeanNormalization`,
    ``train --log-mel-norm band_mean``). ``conv_filters=C > 0`` puts a convolution between the
    transpose and the LSTM (``train --conv-filters C``): reshape to (b, 35, 64, 1) ->
    ``Conv2D(C, CONV_KERNEL, strides=CONV_STRIDES, padding="same")`` -> BatchNorm -> ReLU ->
    reshape to (b, 35, 8 * C): a frequency-local, shift-tolerant feature per frame
    (:data:`CONV_KERNEL` cites the design).

    Output: probabilities [shape=(batch, n_classes) = (b, 10), float32].
    Only layers the TFLite converter fuses are used (see ``export/``).
    """
    import keras
    from keras import layers

    inp = keras.Input(shape=config.log_mel_shape, name="log_mel")
    x = layers.Rescaling(1.0 / config.top_db, offset=1.0, name="db_to_unit")(inp)
    if spec_augment:
        from .layers import SpecAugment

        x = SpecAugment(name="spec_augment")(x)
    if band_mean_norm:
        from .layers import BandMeanNormalization

        x = BandMeanNormalization(name="band_mean_norm")(x)
    x = layers.Permute((2, 1), name="frames_first")(x)
    if conv_filters < 0:
        raise ValueError(f"conv_filters must be >= 0, got {conv_filters}")
    if conv_filters:
        n_mels, n_frames = config.log_mel_shape
        x = conv_front(x, n_mels=n_mels, conv_filters=conv_filters, n_frames=n_frames)
    x = layers.LSTM(lstm_units, return_sequences=True, name="lstm")(x)
    x = layers.GlobalAveragePooling1D(name="mean_over_time")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name=name)


def conv_front(x, *, n_mels: int, conv_filters: int, kernel: tuple[int, int] = CONV_KERNEL,
               strides: tuple[int, int] = CONV_STRIDES, n_frames: int = -1):
    """The CRNN's convolution on frames-first log-mels (after Arik et al. 2017, :data:`CONV_KERNEL`).

    ``x`` [shape=(b, frames, n_mels)] -> reshape to (b, frames, n_mels, 1) -> ``Conv2D(conv_filters,
    kernel, strides, padding="same", use_bias=False)`` -> BatchNorm -> ReLU -> reshape to
    (b, frames / strides[0], ceil(n_mels / strides[1]) * conv_filters). ``n_frames`` is the input's
    frame count, or -1 for any (the digit-string model). Layer names ``frames_by_mels``, ``conv``,
    ``conv_bn``, ``conv_relu``, ``conv_features`` (saved models and the export rely on them).
    """
    from keras import layers

    x = layers.Reshape((n_frames, n_mels, 1), name="frames_by_mels")(x)
    x = layers.Conv2D(conv_filters, kernel, strides=strides, padding="same", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(name="conv_bn")(x)
    x = layers.ReLU(name="conv_relu")(x)
    positions = -(-n_mels // strides[1])
    out_frames = -1 if n_frames == -1 else -(-n_frames // strides[0])
    return layers.Reshape((out_frames, positions * conv_filters), name="conv_features")(x)


def build_raw_model(
    *, config: FrontEndConfig = FRONT_END, frame_length: int = DEFAULT_FRAME_LENGTH,
    lstm_units: int = RAW_LSTM_UNITS, dense_units: int = DENSE_UNITS, dropout: float = DROPOUT,
    name: str = "raw",
):
    """Masked LSTM over the waveform, ``frame_length`` samples per step.

    Inputs ``wave`` [shape=(batch, 17640), float32] and ``mask`` [shape=(batch, 17640),
    bool, True = real sample]. The waveform is peak-normalized per clip, reshaped to
    (b, 17640 / frame_length, frame_length); a frame is valid if any of its samples is
    real (mask reduced with ``any``). Each frame goes through a learned filterbank
    (:class:`~trainer.models.layers.QuadratureLogEnergy`, 64 phase-invariant log energies,
    then ``LayerNormalization``) and the masked ``LSTM(lstm_units)``; its last valid output -> dropout -> ``Dense(dense_units,
    relu)`` -> dropout -> ``Dense(10, softmax)``.

    ``frame_length=1`` is the seed notebooks' literal model (one sample per step, no
    framing; ~1.7 s per batch of 32 on 2 cores, docs/design.md section 7).

    Raises
    ------
    ValueError
        If ``frame_length`` does not divide ``config.window_samples``.
    """
    import keras
    from keras import layers

    from .layers import FrameMask, PeakNormalize, QuadratureLogEnergy

    n = config.window_samples
    if frame_length < 1 or n % frame_length:
        raise ValueError(f"frame_length must divide window_samples={n} (e.g. 1, 147, 294, 441, 882), got {frame_length}")
    steps = n // frame_length
    wave = keras.Input(shape=(n,), name="wave")
    mask = keras.Input(shape=(n,), dtype="bool", name="mask")
    x = PeakNormalize(name="peak_normalize")(wave)
    x = layers.Reshape((steps, frame_length), name="frames")(x)
    frame_mask = FrameMask(frame_length, name="frame_mask")(mask)
    if frame_length > 1:
        x = QuadratureLogEnergy(RAW_FILTERS, name="filterbank")(x)
        x = layers.LayerNormalization(name="filterbank_norm")(x)
    x = layers.LSTM(lstm_units, name="lstm")(x, mask=frame_mask)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model([wave, mask], out, name=name)


def build_model(model_name: str, *, config: FrontEndConfig = FRONT_END, frame_length: int = DEFAULT_FRAME_LENGTH):
    """Build (uncompiled) one of :data:`MODEL_NAMES`."""
    if base_kind(model_name) == "raw":
        return build_raw_model(config=config, frame_length=frame_length, name=model_name)
    return build_spectrogram_model(config=config, name=model_name)
