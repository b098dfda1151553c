"""Input and output shapes of the four models."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.models.lstm import MODEL_NAMES, build_model, build_raw_model


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_shapes(name):
    model = build_model(name)
    if name.startswith("raw"):
        assert [tuple(i.shape) for i in model.inputs] == [(None, 17640), (None, 17640)]
        mask = np.zeros((2, 17640), bool)
        mask[:, :5000] = True
        x = [np.random.default_rng(0).normal(size=(2, 17640)).astype("float32") * mask, mask]
    else:
        assert tuple(model.inputs[0].shape) == (None, 64, 35)
        x = np.random.default_rng(0).uniform(-80, 0, size=(2, 64, 35)).astype("float32")
    p = np.asarray(model(x, training=False))
    assert p.shape == (2, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_raw_model_ignores_padding():
    """Masked frames do not change the output: what follows the real samples is ignored."""
    model = build_raw_model(frame_length=441)
    rng = np.random.default_rng(1)
    mask = np.zeros((1, 17640), bool)
    mask[:, :4410] = True
    wave = rng.normal(size=(1, 17640)).astype("float32") * 0.1
    a = wave.copy()
    a[:, 4410:] = 0
    b = wave.copy()  # same real part, garbage after it (and a smaller peak-normalization difference)
    b[:, 4410:] = rng.normal(size=(1, 17640 - 4410)).astype("float32") * 0.01
    pa = np.asarray(model([a, mask], training=False))
    pb = np.asarray(model([b, mask], training=False))
    np.testing.assert_allclose(pa, pb, atol=1e-5)


def test_raw_frame_length_must_divide_window():
    with pytest.raises(ValueError, match="frame_length"):
        build_raw_model(frame_length=500)
