"""The digit-string model: a CRNN over log-mel frames trained with CTC (issue 27).

A string such as "four one seven two" said in one breath is one utterance; a classifier of 0.8 s
windows cannot read it. A CTC model (Graves et al. 2006, ICML) emits, for every output frame, a
distribution over the ten digits and a *blank*; the string is read off the frames
(:func:`realtime.ctc.greedy_decode`) with no alignment needed in training: the CTC loss sums over
every alignment of the target digits to the frames.

=============  ==============================================================================
input          ``log_mel`` [shape=(batch, n_mels, frames) = (b, 64, T), float32, dB in -80..0]
front          ``x / top_db + 1`` -> (optional SpecAugment) -> frames first (b, T, 64) ->
               ``Conv2D(C, (5, 16), strides=(2, 8))`` -> BatchNorm -> ReLU: every second frame
               (46 ms at hop 512 / 22,050 Hz), 64 bands -> 8 positions of C features (the CRNN
               front of :mod:`trainer.models.lstm`, strided in time as well)
core           ``LSTM(units, return_sequences=True)``, unidirectional (it can run chunk by chunk), or
               ``Bidirectional(LSTM(units))`` over the whole utterance (Graves & Schmidhuber 2005:
               each frame sees the digits after it too; outputs of both directions concatenated)
head           ``Dense(11)``: logits of "0"-"9" and the blank (index :data:`BLANK`)
=============  ==============================================================================

A spoken digit lasts 150 ms or more, three or more output frames: room for the digit's peak and
the blank CTC needs between two equal digits ("1 1").
"""
from __future__ import annotations

from ..config import FRONT_END, LABELS, FrontEndConfig

#: The model's classes: the ten digits, then the blank.
CTC_LABELS: tuple[str, ...] = (*LABELS, "<blank>")
#: Index of the blank in :data:`CTC_LABELS` (the last; ``tf.nn.ctc_loss``'s ``blank_index``).
BLANK = len(LABELS)
#: Output frames per input frame: the convolution's stride in time.
TIME_STRIDE = 2
#: Convolution kernel (frames, mels) and stride (frames, mels).
CONV_KERNEL = (5, 16)
CONV_STRIDES = (TIME_STRIDE, 8)
CONV_FILTERS = 16
LSTM_UNITS = 96


def output_frames(n_frames: int) -> int:
    """Output frames for ``n_frames`` log-mel frames (``"same"`` padding, stride :data:`TIME_STRIDE`)."""
    return -(-int(n_frames) // TIME_STRIDE)


def build_ctc_model(*, config: FrontEndConfig = FRONT_END, max_frames: int | None = None,
                    conv_filters: int = CONV_FILTERS, units: int = LSTM_UNITS, spec_augment: bool = False,
                    bidirectional: bool = False, name: str = "ctc_crnn"):
    """Build (uncompiled) the digit-string CRNN; its output is logits [shape=(b, ceil(T / 2), 11)].

    Parameters
    ----------
    config : FrontEndConfig
        ``n_mels`` and ``top_db`` of the log-mel input.
    max_frames : int or None
        Log-mel frames of the input; None for any length (training on batches of any length, and the
        TFLite export with an open frames axis).
    conv_filters, units : int >= 1
        Width of the convolution and of the LSTM (of each direction when ``bidirectional``).
    spec_augment : bool
        Time and frequency masks in training (:class:`~trainer.models.layers.SpecAugment`).
    bidirectional : bool
        A backward LSTM beside the forward one (``keras.layers.Bidirectional``, outputs
        concatenated). It reads the padding after an utterance before the utterance: export it with
        an open frames axis (``export-strings --input-frames dynamic``), or train it with padding of
        the lengths a fixed input adds (the recipe's ``pad_share``).

    Raises
    ------
    ValueError
        If ``conv_filters`` or ``units`` < 1.
    """
    import keras
    from keras import layers

    from .lstm import conv_front

    if conv_filters < 1 or units < 1:
        raise ValueError(f"conv_filters and units must be >= 1, got {conv_filters}, {units}")
    n_mels = config.n_mels
    inp = keras.Input(shape=(n_mels, max_frames), name="log_mel")
    x = layers.Rescaling(1.0 / config.top_db, offset=1.0, name="db_to_unit")(inp)
    if spec_augment:
        from .layers import SpecAugment

        x = SpecAugment(name="spec_augment")(x)
    x = layers.Permute((2, 1), name="frames_first")(x)
    x = conv_front(x, n_mels=n_mels, conv_filters=conv_filters, kernel=CONV_KERNEL, strides=CONV_STRIDES)
    if bidirectional:
        x = layers.Bidirectional(layers.LSTM(units, return_sequences=True), name="bilstm")(x)
    else:
        x = layers.LSTM(units, return_sequences=True, name="lstm")(x)
    out = layers.Dense(len(CTC_LABELS), name="logits")(x)
    return keras.Model(inp, out, name=name)


def ctc_loss():
    """A Keras loss: CTC of the logits against digit targets.

    ``y_true`` [shape=(b, L), int]: digit indices 0-9, padded with -1 after each string (a row of
    only -1 is an empty string: non-digit speech, whose target is all blanks). ``y_pred``: the
    model's logits [shape=(b, T', 11)]; every output frame counts (padding frames of silence learn
    the blank). Per-example loss: ``keras.ops.ctc_loss`` (``tf.nn.ctc_loss`` with
    ``blank_index=BLANK``).
    """
    import keras
    from keras import ops

    class CtcLoss(keras.losses.Loss):
        def __init__(self, name="ctc", **kwargs):
            super().__init__(name=name, **kwargs)

        def call(self, y_true, y_pred):
            y_true = ops.cast(y_true, "int32")
            valid = ops.cast(y_true >= 0, "int32")
            target_length = ops.sum(valid, axis=-1)
            target = y_true * valid  # the padding's value is never read past target_length
            batch, frames = ops.shape(y_pred)[0], ops.shape(y_pred)[1]
            output_length = ops.full((batch,), frames, dtype="int32")
            return ops.ctc_loss(target, y_pred, target_length, output_length, mask_index=BLANK)

    return CtcLoss()


__all__ = ["BLANK", "CONV_FILTERS", "CTC_LABELS", "LSTM_UNITS", "TIME_STRIDE", "build_ctc_model", "ctc_loss",
           "output_frames"]
