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
