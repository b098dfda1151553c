"""Keras metric and callback of ours: micro-F1 and gradient histograms for TensorBoard."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..config import N_CLASSES


@keras.saving.register_keras_serializable(package="spoken_digits")
class MicroF1(keras.metrics.Metric):
    """Micro-averaged F1 over classes, from integer labels and class probabilities.

    ``micro_f1 = 2 TP / (2 TP + FP + FN)`` with counts summed over the 10 classes
    (``sklearn.metrics.f1_score(average="micro")``). For single-label data it equals
    accuracy; it is logged because the seed notebooks report it.

    ``update_state(y_true [shape=(b,) int], y_pred [shape=(b, n_classes) float])``.
    """

    def __init__(self, n_classes: int = N_CLASSES, name: str = "micro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.n_classes = n_classes
        self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=(), initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=(), initializer="zeros", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.n_classes)
        y_hat = ops.one_hot(ops.argmax(y_pred, axis=-1), self.n_classes)
        self.tp.assign_add(ops.sum(y_true * y_hat))
        self.fp.assign_add(ops.sum((1 - y_true) * y_hat))
        self.fn.assign_add(ops.sum(y_true * (1 - y_hat)))

    def result(self):
        return ops.divide_no_nan(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def reset_state(self):
        for v in (self.tp, self.fp, self.fn):
            v.assign(0.0)

    def get_config(self):
        return super().get_config() | {"n_classes": self.n_classes}


class GradientHistograms(keras.callbacks.Callback):
    """Write a TensorBoard histogram of the loss gradient of every trainable variable.

    At the end of every ``every_n_epochs``-th epoch, gradients of the model's loss
    on a fixed sample of training data (``x``, ``y``) are computed with
    ``tf.GradientTape`` and written as ``gradients/{variable path}`` to
    ``{log_dir}/gradients``. Keras' own ``TensorBoard(histogram_freq=1)`` logs
    only the weights.
    """

    def __init__(self, log_dir: str, x, y, every_n_epochs: int = 1):
        super().__init__()
        self.log_dir = str(log_dir)
        self.x, self.y = x, np.asarray(y)
        self.every_n_epochs = every_n_epochs
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if epoch % self.every_n_epochs:
            return
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            y_pred = self.model(self.x, training=True)
            loss = self.model.compute_loss(x=self.x, y=self.y, y_pred=y_pred)
        grads = tape.gradient(loss, [v.value for v in variables])
        with self._writer.as_default(step=epoch):
            for v, g in zip(variables, grads):
                if g is not None:
                    tf.summary.histogram(f"gradients/{v.path}", g)
                    tf.summary.scalar(f"gradient_norm/{v.path}", tf.norm(g))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
