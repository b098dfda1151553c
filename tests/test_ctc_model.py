"""The digit-string CRNN trained with CTC (trainer.models.ctc) learns a toy string task, and its
fixed-length copy converts to builtin TFLite ops and reads the same strings."""
import importlib.util

import numpy as np
import pytest

from realtime.ctc import greedy_decode

pytestmark = pytest.mark.slow

FRAMES = 48


def toy_strings(n, rng):
    """Log-mels of 0-4 "digits": digit d lights mel bands 6d..6d+4 for 4 frames, 1-3 frames apart."""
    x = np.full((n, 64, FRAMES), -80.0, np.float32)
    y = np.full((n, 4), -1, np.int32)
    for i in range(n):
        digits = rng.integers(0, 10, size=int(rng.integers(0, 5)))
        t = 2
        for d in digits:
            x[i, 6 * d: 6 * d + 5, t: t + 4] = -10.0
            t += 4 + int(rng.integers(1, 4))
        y[i, : len(digits)] = digits
    return x + rng.normal(0, 3, x.shape).astype(np.float32), y


def read(logits, ctc):
    return ["".join(t.label for t in greedy_decode(z, ctc.CTC_LABELS, blank=ctc.BLANK)) for z in logits]


@pytest.fixture(scope="module")
def toy():
    """A small CTC CRNN trained on the toy strings, with its training and test sets."""
    import keras

    from trainer.models import ctc

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = toy_strings(512, rng)
    xt, yt = toy_strings(64, rng)
    model = ctc.build_ctc_model(conv_filters=8, units=32)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=ctc.ctc_loss())
    hist = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
    return model, hist, x, xt, yt


def test_ctc_crnn_learns_strings_and_converts_to_builtin_ops(toy):
    from export.convert import FUSED_LSTM_OP, convert, model_ops
    from trainer.models import ctc

    model, hist, _, xt, yt = toy
    truth = ["".join(str(v) for v in row if v >= 0) for row in yt]
    assert hist.history["loss"][-1] < 0.2 * hist.history["loss"][0]
    logits = model.predict(xt, verbose=0)
    assert logits.shape == (64, ctc.output_frames(FRAMES), len(ctc.CTC_LABELS))
    got = read(logits, ctc)
    assert np.mean([g == t for g, t in zip(got, truth)]) >= 0.9
    assert any(t == "" for t in truth) and all(g == "" for g, t in zip(got, truth) if t == "")  # nothing said

    fixed = ctc.build_ctc_model(conv_filters=8, units=32, max_frames=FRAMES)
    fixed.set_weights(model.get_weights())
    tflite = convert(fixed, "float32", logits=True)
    assert FUSED_LSTM_OP in model_ops(tflite)
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_content=tflite)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    edge = []
    for z in xt[:16]:
        interp.set_tensor(inp["index"], z[None])
        interp.invoke()
        edge.append(interp.get_tensor(out["index"])[0])
    assert read(np.stack(edge), ctc) == got[:16]


def test_export_strings_adds_a_string_model_that_reads_what_keras_reads(toy, tmp_path):
    """export-strings: the bundle gains NAME.strings.tflite and its ``strings`` record; the numpy
    runtime (StringReader) reads the same strings as the Keras model, float32 and int8."""
    import json

    from export.strings import export_strings
    from realtime.bundle import DEFAULT_BUNDLE, load_bundle
    from realtime.errors import BundleError
    from realtime.strings import StringReader
    from trainer.models import ctc

    model, _, x, xt, _ = toy
    keras_read = read(model.predict(xt, verbose=0), ctc)
    seconds = (FRAMES - 1) * 512 / 22050
    np.savez(tmp_path / "parity.npz", log_mel=xt, frames=np.full(len(xt), FRAMES), kind=np.array(["toy"] * len(xt)))
    for quantization, frames, need in (("float32", "fixed", 1.0), ("int8", "dynamic", 0.9)):
        out = tmp_path / f"toy_{quantization}"
        path = export_strings(tmp_path, DEFAULT_BUNDLE, out, quantization=quantization, max_s=seconds,
                              min_speech_ms=700.0, threshold=0.6, keras_model=model, calibration=x[:64],
                              input_frames=frames, confirm_threshold=0.7 if frames == "dynamic" else None,
                              confirm_string_threshold=0.8, veto_threshold=0.05 if frames == "dynamic" else None,
                              veto_min_peak_over_floor_db=40.0 if frames == "dynamic" else 0.0,
                              classifier_threshold=0.85 if frames == "dynamic" else None)
        bundle = load_bundle(path)
        spec = bundle.strings
        assert spec is not None and spec.max_frames == FRAMES and spec.labels == ctc.CTC_LABELS
        assert spec.dynamic_frames == (frames == "dynamic")
        assert spec.input.shape == (1, 64, FRAMES if frames == "fixed" else -1)
        assert (spec.blank_index, spec.min_speech_ms, spec.threshold, spec.quantization) == (10, 700.0, 0.6, quantization)
        assert (spec.confirm_threshold, spec.confirm_string_threshold) == ((0.7, 0.8) if frames == "dynamic" else (None, 0.8))
        base = load_bundle(DEFAULT_BUNDLE)
        if frames == "dynamic":  # the veto and the window threshold chosen with it; the base's choice kept beside it
            assert spec.veto_threshold == 0.05 and spec.veto_min_peak_over_floor_db == 40.0 and bundle.threshold == 0.85
            sweep = json.loads(path.read_text())["threshold_rule"]["strings_sweep"]
            assert sweep["threshold"] == 0.85 and sweep["before"] == base.threshold
        else:
            assert spec.veto_threshold is None and bundle.threshold == base.threshold
        assert spec.tflite_path.name == f"toy_{quantization}.strings.tflite"
        assert bundle.labels == load_bundle(DEFAULT_BUNDLE).labels  # the window classifier is kept as it was
        reader = StringReader(bundle)
        edge = ["".join(t.label for t in read_posteriors(reader.posteriors_log_mel(z), ctc)) for z in xt]
        share = np.mean([a == b for a, b in zip(edge, keras_read)])
        assert share >= need, quantization
        # the exporter measured the same on the run's parity set and recorded it in the bundle
        parity = json.loads(path.read_text())["strings"]["parity"]
        # every installed edge interpreter, each in a process of its own; the lowest share is the one reported
        both = parity["by_interpreter"]
        expected = {n for n in ("tflite_runtime", "ai_edge_litert") if importlib.util.find_spec(n) is not None}
        assert set(both) == expected and parity["utterances"] == len(xt)
        assert both[reader.interpreter_name]["same_strings"] == pytest.approx(share, abs=1e-4)
        assert both[reader.interpreter_name]["by_kind"] == {"toy": [round(share * len(xt)), len(xt)]}  # per kind
        assert parity["same_strings"] == min(v["same_strings"] for v in both.values()) >= need
        assert both[parity["interpreter"]]["same_strings"] == parity["same_strings"]
        assert parity["digit_strings"] == parity["same_strings"]  # no negatives among the toy utterances
    # a confirmation rule out of range is caught when the bundle loads
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "strings": {**doc["strings"], "confirm_threshold": 1.5}}))
    with pytest.raises(BundleError, match="strings.confirm_threshold"):
        load_bundle(path)
    path.write_text(json.dumps({**doc, "strings": {**doc["strings"], "veto_threshold": "low"}}))
    with pytest.raises(BundleError, match="strings.veto_threshold"):
        load_bundle(path)
    path.write_text(json.dumps({**doc, "strings": {**doc["strings"], "veto_min_peak_over_floor_db": -3}}))
    with pytest.raises(BundleError, match="strings.veto_min_peak_over_floor_db"):
        load_bundle(path)
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="confirm_threshold"):
        export_strings(tmp_path, DEFAULT_BUNDLE, tmp_path / "bad", keras_model=model, calibration=x[:64],
                       confirm_threshold=-0.1)
    # a changed string model is caught before it runs
    spec_path = path.parent / doc["files"]["strings_tflite"]["name"]
    spec_path.write_bytes(spec_path.read_bytes()[:-8])
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(path)
    # a bundle without a string model gives a clear error to the reader
    import dataclasses

    with pytest.raises(BundleError, match="no digit-string model"):
        StringReader(dataclasses.replace(load_bundle(DEFAULT_BUNDLE), strings=None))


def read_posteriors(post, ctc):
    return greedy_decode(post, ctc.CTC_LABELS, blank=ctc.BLANK)


def test_a_bidirectional_string_model_exports_with_builtin_ops_and_reads_as_keras(tmp_path):
    """A backward LSTM beside the forward one: export-strings finds it, the edge model has a fused
    LSTM per direction (builtin ops only) and gives the Keras model's posteriors for the padded input."""
    import json

    import keras

    from export.convert import FUSED_LSTM_OP, model_ops
    from export.strings import export_strings
    from realtime.bundle import DEFAULT_BUNDLE, load_bundle
    from realtime.strings import StringReader
    from trainer.models import ctc

    keras.utils.set_random_seed(1)
    model = ctc.build_ctc_model(conv_filters=4, units=8, bidirectional=True)
    assert model.get_layer("bilstm").forward_layer.units == 8
    x, _ = toy_strings(8, np.random.default_rng(1))
    seconds = (FRAMES - 1) * 512 / 22050
    path = export_strings(tmp_path, DEFAULT_BUNDLE, tmp_path / "bi", quantization="float32", max_s=seconds,
                          keras_model=model)
    bundle = load_bundle(path)
    assert json.loads(path.read_text())["strings"]["recurrent"] == "bidirectional_lstm"
    ops = model_ops(bundle.strings.tflite_path.read_bytes())
    assert FUSED_LSTM_OP in ops and not any(op.startswith("Flex") or op == "CUSTOM" for op in ops)
    reader = StringReader(bundle)
    logits = model.predict(x, verbose=0)
    want = np.exp(logits - logits.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    for z, w in zip(x, want):
        np.testing.assert_allclose(reader.posteriors_log_mel(z), w, atol=1e-4)
    # the frames axis is open: a shorter utterance is read at its own length (no padding for the
    # backward LSTM to read first), an odd one with a single frame of silence, and longer ones again
    assert bundle.strings.dynamic_frames
    for n in (30, 17, FRAMES):
        z = x[0, :, :n]
        even = np.pad(z, ((0, 0), (0, n % 2)), constant_values=-80.0)
        logits = model.predict(even[None], verbose=0)[0]
        want = np.exp(logits - logits.max(-1, keepdims=True))
        np.testing.assert_allclose(reader.posteriors_log_mel(z), want / want.sum(-1, keepdims=True), atol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        reader.posteriors_log_mel(np.zeros((64, FRAMES + 2), np.float32))
