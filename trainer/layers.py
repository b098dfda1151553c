"""Custom Keras layers of the raw model, registered so that ``.keras`` files load safely.

Importing this module imports Keras; :func:`trainer.train.load_model` does it for you.
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
