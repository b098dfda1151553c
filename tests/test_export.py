"""Export (export/): bundle contents, builtin-only TFLite, and parity of every variant with Keras."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from click.testing import CliRunner

from export.convert import FUSED_LSTM_OP, ConversionError, edge_model, model_ops
from export.exporter import export_run
from realtime.bundle import SPEC_VERSION, load_bundle, sha256_file
from realtime.classifier import Classifier
from trainer.config import FRONT_END, FSDD_VERSION, LABELS
from trainer.errors import RunError

VARIANTS = ("int8", "float16", "dynamic", "float32")
#: Every interpreter installed here; CI installs tflite-runtime and ai-edge-litert (and TF has tf.lite).
INTERPRETERS = [n for n in ("tflite_runtime", "ai_edge_litert", "tensorflow") if importlib.util.find_spec(n) is not None]
#: Issue 3: minimum top-1 agreement with Keras float on the same windows.
MIN_AGREEMENT = {"int8": 0.99, "float16": 0.99, "dynamic": 0.99, "float32": 0.995}
INT8_MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def keras_reference(tiny_run, tiny_cache):
    """Keras float on the tiny run's test part: (model, log_mels, labels, probabilities)."""
    from trainer.data.dataset import build_arrays
    from trainer.runs import load_model, load_run

    run = load_run(tiny_run)
    split = run.split()
    test = build_arrays(split.test, cache_dir=tiny_cache, progress=False)
    model = load_model(run.model_dir("spectrogram", split.name) / "model.keras")
    probs = np.asarray(model(test.log_mel, training=False))
    return model, test.log_mel, test.label, probs


@pytest.fixture(scope="module")
def parity_report(request):
    """Collects one line per variant/interpreter; printed after the module (visible with -q too)."""
    lines: list[str] = []
    yield lines
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and lines:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line("parity with Keras float (tiny run, test part):")
            for line in lines:
                reporter.write_line("  " + line)


def test_bundle_contents(tiny_bundles, tiny_run):
    d = tiny_bundles["int8"]
    name = d.name
    assert sorted(p.name for p in d.iterdir()) == sorted([f"{name}.json", f"{name}.tflite", f"{name}.mel.npz"])
    spec = json.loads((d / f"{name}.json").read_text())
    assert spec["spec_version"] == SPEC_VERSION and spec["name"] == name
    assert spec["model"] == "spectrogram" and spec["quantization"] == "int8"
    assert spec["front_end"] == FRONT_END.to_dict()
    assert spec["front_end"]["window_samples"] == 17640 and spec["front_end"]["window_s"] == 0.8
    assert spec["labels"] == list(LABELS)
    prov = spec["provenance"]
    assert prov["dataset"]["version"] == FSDD_VERSION and prov["protocol"] == "official"
    assert "commit" in prov and prov["created"].startswith("20")
    metrics_file = tiny_run / "metrics.json"  # the tiny run is evaluated: the bundle records its test accuracy
    assert metrics_file.is_file()
    assert prov["metrics"]["accuracy"] == json.loads(metrics_file.read_text())["models"]["spectrogram"]["accuracy"]
    for entry in spec["files"].values():
        assert sha256_file(d / entry["name"]) == entry["sha256"]
        assert (d / entry["name"]).stat().st_size == entry["bytes"]
    assert spec["representative_dataset"]["samples"] > 0
    from trainer.data.features import mel_filterbank

    with np.load(d / f"{name}.mel.npz") as z:
        np.testing.assert_array_equal(z["mel_basis"], mel_filterbank())
        assert z["mel_basis"].shape == (64, 1 + 2048 // 2)


@pytest.mark.parametrize("variant", VARIANTS)
def test_builtin_ops_fused_lstm_and_io(tiny_bundles, variant):
    bundle = load_bundle(tiny_bundles[variant])
    ops = model_ops(bundle.tflite_path.read_bytes())
    assert FUSED_LSTM_OP in ops
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    assert "WHILE" not in ops
    if variant == "int8":
        assert bundle.input.dtype == bundle.output.dtype == "int8"
        assert bundle.input.scale > 0 and bundle.output.scale > 0
        assert bundle.tflite_path.stat().st_size <= INT8_MAX_BYTES
    else:
        assert bundle.input.dtype == bundle.output.dtype == "float32"
        assert not bundle.input.quantized and not bundle.output.quantized


def test_tf_keras_copy_equals_keras(keras_reference):
    model, log_mels, _, probs = keras_reference
    copy = edge_model(model)
    out = np.concatenate([copy(log_mels[i:i + 1], training=False).numpy() for i in range(0, len(log_mels), 10)])
    np.testing.assert_allclose(out, probs[::10], atol=1e-5)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_parity_with_keras(tiny_bundles, keras_reference, parity_report, variant, interpreter):
    _, log_mels, labels, keras_probs = keras_reference
    clf = Classifier(tiny_bundles[variant], interpreter=interpreter)
    probs = np.stack([clf.predict_log_mel(x) for x in log_mels])
    agreement = float((probs.argmax(1) == keras_probs.argmax(1)).mean())
    max_diff = float(np.abs(probs - keras_probs).max())
    acc, keras_acc = float((probs.argmax(1) == labels).mean()), float((keras_probs.argmax(1) == labels).mean())
    parity_report.append(f"{variant:8s} {interpreter:15s} top-1 agreement {agreement:.2%}  max |dp| {max_diff:.4f}  "
                         f"accuracy {acc:.2%} (Keras {keras_acc:.2%}, n={len(labels)})")
    assert agreement >= MIN_AGREEMENT[variant], f"{variant}/{interpreter}: agreement {agreement:.2%}"
    if variant == "int8":
        assert abs(acc - keras_acc) <= 0.01 + 1e-9, f"int8 accuracy {acc:.2%} vs Keras {keras_acc:.2%}"
    if variant == "float32":
        assert max_diff < 1e-3


def test_raw_models_are_refused(tiny_run, tmp_path):
    from trainer.models.lstm import build_raw_model

    with pytest.raises(ConversionError, match="spectrogram"):
        edge_model(build_raw_model(frame_length=441))
    with pytest.raises(RunError, match="only spectrogram"):
        export_run(tiny_run, tmp_path / "b", model="raw")


def test_cli_export_and_errors(tiny_run, tiny_cache, tmp_path):
    from spoken_digits_cli import main

    runner = CliRunner()
    out = tmp_path / "bundles" / "cli-test"
    args = ["export", str(tiny_run), "--model", "spectrogram", "--quantize", "float32", "--out", str(out),
            "--cache-dir", str(tiny_cache)]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "float32" in r.output and load_bundle(out).quantization == "float32"
    first = (out / "cli-test.json").read_text()

    r = runner.invoke(main, args)
    assert r.exit_code == 1 and "already exists" in r.output and "--force" in r.output
    assert (out / "cli-test.json").read_text() == first  # refused: left as it was
    (out / "cli-test.tflite").write_bytes(b"stale")  # --force must replace the bundle, not keep what is there
    r = runner.invoke(main, [*args, "--force"])
    assert r.exit_code == 0, r.output
    load_bundle(out)  # rewritten: its checksums hold again (a kept stale file raises BundleError)
    assert json.loads((out / "cli-test.json").read_text())["provenance"]["created"] >= json.loads(first)["provenance"]["created"]

    r = runner.invoke(main, ["export", str(tmp_path), "--out", str(tmp_path / "b2")])
    assert r.exit_code == 1 and "not a spoken-digits run" in r.output and "Traceback" not in r.output
    r = runner.invoke(main, ["export", str(tiny_run), "--model", "spectrogram_aug", "--out", str(tmp_path / "b3")])
    assert r.exit_code == 1 and "'spectrogram_aug' is not trained" in r.output
    r = runner.invoke(main, [*args[:-2], "--quantize", "int4"])
    assert r.exit_code == 2 and "int4" in r.output
    # nothing half-written is left behind
    assert sorted(p.name for p in (tmp_path / "bundles").iterdir()) == ["cli-test"]
    assert not (tmp_path / "b2").exists() and not (tmp_path / "b3").exists()


def test_bench_smoke(tiny_bundles, tiny_cache, keras_reference):
    """bench runs end to end; its edge processes import neither TensorFlow nor librosa; its agreement and
    accuracies are those of the first test windows against Keras (no timing asserted)."""
    from rich.console import Console

    from export.bench import bench, format_table

    n = 6
    _, _, labels, keras_probs = keras_reference
    keras_acc = float((keras_probs[:n].argmax(1) == labels[:n]).mean())  # the first n windows of the test part
    edge = [name for name in INTERPRETERS if name != "tensorflow"]
    result = bench(tiny_bundles["int8"], cache_dir=tiny_cache, variants=["int8"], interpreters=edge, max_windows=n)
    assert result["windows"] == n and [r["runtime"] for r in result["rows"]] == edge
    # bench's Keras column: the same model on the same windows with the same labels as the reference
    assert result["keras"]["accuracy"] == pytest.approx(keras_acc)
    for row in result["rows"]:
        assert "error" not in row["extra"], row["extra"]
        assert row["extra"]["modules"] == {"tensorflow": False, "librosa": False, "trainer": False, "keras": False}
        assert row["size_bytes"] == load_bundle(tiny_bundles["int8"]).tflite_path.stat().st_size
        assert 0 < row["peak_rss_mb"] < 500
        # int8 agrees with Keras on >= 99% of the test part (test_parity_with_keras): at most 1 of these n
        assert row["agreement"] >= (n - 1) / n, row
        # a window where both agree counts alike for both accuracies: they differ by the disagreements at most
        assert abs(row["accuracy"] - keras_acc) <= 1 - row["agreement"] + 1e-9, row
        assert row["front_end_ms"]["median"] > 0 and row["model_ms"]["p95"] >= row["model_ms"]["median"]
    console = Console(record=True, width=200)
    console.print(format_table(result))
    text = console.export_text()
    assert all(f"{r['agreement']:.2%}" in text for r in result["rows"]) and f"{keras_acc:.2%}" in text
    assert all(name in text for name in edge) and "int8" in text


def _float_tflite(flat: bytes):
    """A function running a float32 TFLite model (TensorFlow's interpreter) one row at a time."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_content=flat)
    interp.allocate_tensors()
    i, o = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

    def run(batch: np.ndarray) -> np.ndarray:
        got = []
        for row in batch:
            interp.set_tensor(i, row[None])
            interp.invoke()
            got.append(interp.get_tensor(o)[0])
        return np.stack(got)

    return run


def test_band_mean_norm_subtracts_each_bands_mean(keras_reference):
    from trainer.models.layers import BandMeanNormalization

    _, log_mels, _, _ = keras_reference
    x = log_mels[:8]
    out = np.asarray(BandMeanNormalization()(x))
    np.testing.assert_allclose(out, x - x.mean(axis=-1, keepdims=True), atol=1e-4)
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-3)


@pytest.mark.parametrize("conv_filters, op", [(0, "MEAN"), (4, "CONV_2D")])
def test_band_mean_lstm_exports_to_builtin_ops(keras_reference, tmp_path, conv_filters, op):
    """``--log-mel-norm band_mean`` (and ``--conv-filters``: a convolution in front of the LSTM)
    survives a .keras round trip and converts to builtin ops (MEAN + SUB; CONV_2D) and the fused
    LSTM: float32 close to Keras and invariant to a fixed gain per band, int8 builtin only."""
    from export.convert import convert
    from trainer.models.lstm import build_spectrogram_model
    from trainer.runs import load_model

    _, log_mels, _, _ = keras_reference
    x = log_mels[:8]
    model = build_spectrogram_model(n_classes=12, lstm_units=16, band_mean_norm=True, spec_augment=True,
                                    conv_filters=conv_filters)
    assert "band_mean_norm" in [layer.name for layer in model.layers]
    model.save(tmp_path / "m.keras")
    model = load_model(tmp_path / "m.keras")
    keras_probs = np.asarray(model(x, training=False))
    flat = convert(model, "float32")
    ops = model_ops(flat)
    assert op in ops and FUSED_LSTM_OP in ops
    run = _float_tflite(flat)
    # float32 TFLite of an untrained model differs from Keras by ~3e-3 with or without the layer
    np.testing.assert_allclose(run(x), keras_probs, atol=1e-2)
    # a fixed gain per band (a microphone's response) cancels, in the converted model too
    tilt = np.linspace(-6.0, 6.0, x.shape[1], dtype=np.float32)[None, :, None]
    np.testing.assert_allclose(run(x + tilt), run(x), atol=1e-4)
    int8_ops = model_ops(convert(model, "int8", calibration=log_mels[:50]))
    assert op in int8_ops and not [o for o in int8_ops if o.startswith("Flex") or o == "CUSTOM"]
