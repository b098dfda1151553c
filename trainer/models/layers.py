"""Custom Keras layers of the raw model, registered so that ``.keras`` files load safely.

Importing this module imports Keras; :func:`trainer.recipes.train.load_model` does it for you.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="spoken_digits")
class PeakNormalize(keras.layers.Layer):
    """Divide each waveform by its peak absolute value (+1e-6): (b, n) -> (b, n)."""

    def call(self, wave):
        return wave / (ops.max(ops.abs(wave), axis=-1, keepdims=True) + 1e-6)


@keras.saving.register_keras_serializable(package="spoken_digits")
class FrameMask(keras.layers.Layer):
    """Per-sample mask (b, n) bool -> per-frame mask (b, n // frame_length) bool: any real sample."""

    def __init__(self, frame_length: int, **kwargs):
        super().__init__(**kwargs)
        self.frame_length = int(frame_length)

    def call(self, sample_mask):  # not named `mask`: Keras reserves that argument
        steps = sample_mask.shape[-1] // self.frame_length
        return ops.any(ops.reshape(sample_mask, (-1, steps, self.frame_length)), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] // self.frame_length)

    def get_config(self):
        return super().get_config() | {"frame_length": self.frame_length}


@keras.saving.register_keras_serializable(package="spoken_digits")
class QuadratureLogEnergy(keras.layers.Layer):
    """A learned filterbank applied to each frame, made phase-invariant.

    Each of ``n_filters`` filters is a pair of learned projections ``(a, b)`` of the
    frame; the output is ``log(eps + (a . x)^2 + (b . x)^2)``, the log energy of a
    quadrature pair, as in an STFT magnitude (where ``a``, ``b`` are a cosine and a sine).
    (b, steps, frame_length) -> (b, steps, n_filters).
    """

    def __init__(self, n_filters: int, eps: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.n_filters = int(n_filters)
        self.eps = float(eps)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], 2 * self.n_filters), initializer="glorot_uniform", name="kernel"
        )

    def call(self, frames):
        proj = ops.matmul(frames, self.kernel)
        a, b = proj[..., : self.n_filters], proj[..., self.n_filters :]
        return ops.log(self.eps + a * a + b * b)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_filters)

    def get_config(self):
        return super().get_config() | {"n_filters": self.n_filters, "eps": self.eps}


@keras.saving.register_keras_serializable(package="spoken_digits")
class SpecAugment(keras.layers.Layer):
    """SpecAugment masks (Park et al. 2019, "SpecAugment", arXiv:1904.08779) while training.

    On a batch of log-mels ``(b, n_mels, n_frames)`` (already scaled to 0..1), sets one band
    of up to ``freq_mask_bins`` mel bins and one span of up to ``time_mask_frames`` frames
    of each example to 0 (the floor), each with probability ``p``. The identity when not
    training, so the exported model does not contain it (``export.convert.edge_model``
    leaves it out).
    """

    def __init__(self, freq_mask_bins: int = 8, time_mask_frames: int = 4, p: float = 0.5, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.freq_mask_bins, self.time_mask_frames, self.p = int(freq_mask_bins), int(time_mask_frames), float(p)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _band(self, batch: int, size: int, width: int):
        u = keras.random.uniform((batch, 3), seed=self.seed_generator)
        w = ops.floor(u[:, 0] * (width + 1))
        start = ops.floor(u[:, 1] * ops.maximum(ops.cast(size, "float32") - w, 1.0))
        w = ops.where(u[:, 2] < self.p, w, 0.0)
        idx = ops.cast(ops.arange(size), "float32")[None, :]
        return (idx >= start[:, None]) & (idx < (start + w)[:, None])  # (b, size) True = masked

    def call(self, x, training=None):
        if not training:
            return x
        b = ops.shape(x)[0]
        # the static sizes where known; a batch of any length (the string model) has its frames at run time
        n_mels = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        n_frames = x.shape[2] if x.shape[2] is not None else ops.shape(x)[2]
        f = self._band(b, n_mels, self.freq_mask_bins)[:, :, None]
        t = self._band(b, n_frames, self.time_mask_frames)[:, None, :]
        return ops.where(f | t, ops.zeros_like(x), x)

    def get_config(self):
        return {**super().get_config(), "freq_mask_bins": self.freq_mask_bins,
                "time_mask_frames": self.time_mask_frames, "p": self.p, "seed": self.seed}


@keras.saving.register_keras_serializable(package="spoken_digits")
class BandMeanNormalization(keras.layers.Layer):
    """Subtract each mel band's mean over the window's frames (cepstral mean normalization on log-mels).

    On log-mels ``(b, n_mels, n_frames)`` (any affine scale of dB): ``x - mean(x, axis=-1)``.
    A fixed gain per band (a microphone's or a room's frequency response) is a constant
    offset of that band in dB, so it cancels; so does the level of steady noise where it
    dominates a band. The mean over the 0.8 s window mixes the utterance with its pre-roll
    and padding, as the live segmenter gives them, so training (which cuts its copies with
    that segmenter) and recognition see the same statistics. No weights; the TFLite copy is
    a MEAN and a SUB (``export.convert``). Standard in ASR front ends since Atal 1974
    ("Effectiveness of linear prediction characteristics of the speech wave...", JASA 55).
    """

    def call(self, x):
        return x - ops.mean(x, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return input_shape
