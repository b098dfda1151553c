"""Bundle reading (realtime/bundle.py) and the edge classifier (realtime/classifier.py)."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import realtime.classifier as classifier_module
from realtime.bundle import DEFAULT_BUNDLE, SPEC_VERSION, find_bundle_json, load_bundle
from realtime.classifier import (
    Classifier,
    dequantize,
    load_interpreter_class,
    quantize,
)
from realtime.errors import BundleError, InterpreterMissingError

#: Edge interpreters installed here (found without importing them; CI installs both).
EDGE_INTERPRETERS = [n for n in ("tflite_runtime", "ai_edge_litert") if importlib.util.find_spec(n) is not None]


@pytest.fixture
def bundle_copy(tmp_path, bundle_path):
    """A writable copy of the shipped int8 bundle (no training needed): (directory, NAME)."""
    dst = tmp_path / "copy"
    shutil.copytree(bundle_path, dst)
    return dst, find_bundle_json(bundle_path).stem


def _windows(tiny_run, n=4):
    from trainer.data.fsdd import load_audio, pad_and_mask
    from trainer.runs import load_run

    test = load_run(tiny_run).split().test
    recs = [test[i] for i in np.linspace(0, len(test) - 1, n).astype(int)]
    return [pad_and_mask(load_audio(r.path))[0] for r in recs], [r.digit for r in recs]


def test_load_bundle_by_directory_or_json(tiny_bundles):
    d = tiny_bundles["int8"]
    a, b = load_bundle(d), load_bundle(d / f"{d.name}.json")
    assert a.spec == b.spec and a.json_path == b.json_path
    assert a.spec["spec_version"] == SPEC_VERSION
    assert (a.sample_rate_hz, a.window_samples, a.log_mel_shape) == (22050, 17640, (64, 35))
    assert a.labels == tuple(str(i) for i in range(10))
    assert a.tflite_path == d / f"{d.name}.tflite" and a.mel_basis.shape == (64, 1025)
    assert a.input.quantized and a.input.dtype == "int8" and a.output.dtype == "int8"


def test_refuses_missing_paths(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match="no NAME.json"):
        load_bundle(tmp_path)
    (tmp_path / "x.tflite").write_bytes(b"0")
    with pytest.raises(BundleError, match=r"\.json"):
        load_bundle(tmp_path / "x.tflite")


def test_refuses_two_json_files(bundle_copy):
    d, name = bundle_copy
    shutil.copy(d / f"{name}.json", d / "other.json")
    with pytest.raises(BundleError, match="several .json"):
        load_bundle(d)
    assert load_bundle(d / f"{name}.json").name == name


def test_refuses_unknown_spec_version(bundle_copy):
    d, name = bundle_copy
    spec = json.loads((d / f"{name}.json").read_text())
    spec["spec_version"] = SPEC_VERSION + 1
    (d / f"{name}.json").write_text(json.dumps(spec))
    with pytest.raises(BundleError, match=f"spec version {SPEC_VERSION + 1}.*reads versions 1, {SPEC_VERSION}"):
        load_bundle(d)
    with pytest.raises(BundleError, match="spec version"):
        Classifier(d)


@pytest.mark.parametrize("suffix", [".tflite", ".mel.npz"])
def test_refuses_missing_file(bundle_copy, suffix):
    d, name = bundle_copy
    (d / f"{name}{suffix}").unlink()
    with pytest.raises(BundleError, match=f"{name}{suffix} is missing"):
        load_bundle(d)


@pytest.mark.parametrize("suffix", [".tflite", ".mel.npz"])
def test_refuses_checksum_mismatch(bundle_copy, suffix):
    d, name = bundle_copy
    f = d / f"{name}{suffix}"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum mismatch"):
        load_bundle(d)


def test_refuses_unsupported_front_end_and_bad_json(bundle_copy):
    d, name = bundle_copy
    path = d / f"{name}.json"
    spec = json.loads(path.read_text())
    path.write_text(json.dumps({**spec, "front_end": {**spec["front_end"], "window": "hamming"}}))
    with pytest.raises(BundleError, match="window 'hamming'"):
        load_bundle(d)
    fe = dict(spec["front_end"])
    del fe["top_db"]
    path.write_text(json.dumps({**spec, "front_end": fe}))
    with pytest.raises(BundleError, match="lacks top_db"):
        load_bundle(d)
    path.write_text("{not json")
    with pytest.raises(BundleError, match="unreadable"):
        load_bundle(d)


def test_default_bundle_ships_and_recognizes(fsdd_dir):
    """``Classifier()`` loads the bundle shipped in the package (realtime/models/default), a working model."""
    from trainer.data.fsdd import load_audio, pad_and_mask

    import realtime

    clf = Classifier()
    shipped = Path(realtime.__file__).resolve().parent / "models" / "default" / "spoken-digits.json"
    assert clf.bundle.json_path.resolve() == shipped and DEFAULT_BUNDLE.resolve() == shipped.parent
    assert clf.bundle.input.dtype == "int8" and len(clf.labels) >= 10
    p = clf.predict(pad_and_mask(load_audio(fsdd_dir / "7_theo_0.wav"))[0])  # an FSDD official-test clip
    assert clf.labels[int(p.argmax())] == "7", dict(zip(clf.labels, p.round(3)))


def test_missing_default_bundle_is_a_clear_error(monkeypatch, tmp_path):
    missing = tmp_path / "models" / "default"
    monkeypatch.setattr(classifier_module, "DEFAULT_BUNDLE", missing)
    with pytest.raises(BundleError, match=re.escape(str(missing))):
        Classifier()


@pytest.mark.parametrize("variant", ["int8", "float32"])
@pytest.mark.parametrize("interpreter", EDGE_INTERPRETERS)
def test_predict_returns_probabilities(tiny_bundles, tiny_run, variant, interpreter):
    clf = Classifier(tiny_bundles[variant], interpreter=interpreter)
    assert clf.interpreter_name == interpreter
    assert (clf.sample_rate_hz, clf.window_samples, clf.labels) == (22050, 17640, tuple("0123456789"))
    windows, _ = _windows(tiny_run, 2)
    p = clf.predict(windows[0])
    assert p.shape == (10,) and p.dtype == np.float32
    assert np.all(p >= 0) and abs(p.sum() - 1) < (0.03 if variant == "int8" else 1e-4)
    # predict is predict_log_mel of log_mel: the same computation, so bit for bit the same
    np.testing.assert_array_equal(p, clf.predict_log_mel(clf.log_mel(windows[0])))


@pytest.mark.parametrize("interpreter", EDGE_INTERPRETERS)
def test_state_is_reset_before_every_window(tiny_bundles, tiny_run, interpreter):
    """A window's result does not depend on what came before (the fused LSTM keeps state otherwise)."""
    windows, _ = _windows(tiny_run, 4)
    fresh = [Classifier(tiny_bundles["float32"], interpreter=interpreter).predict(w) for w in windows]
    clf = Classifier(tiny_bundles["float32"], interpreter=interpreter)
    for _ in range(2):
        for w, expected in zip(windows, fresh):
            np.testing.assert_array_equal(clf.predict(w), expected)


def test_rejects_bad_inputs(bundle_path):
    clf = Classifier(bundle_path)
    with pytest.raises(ValueError, match="shape"):
        clf.predict_log_mel(np.zeros((35, 64), np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        clf.predict_log_mel(np.full((64, 35), np.nan, np.float32))
    with pytest.raises(ValueError, match="shape"):
        clf.predict(np.zeros(8000, np.float32))
    with pytest.raises(ValueError, match="num_threads"):
        Classifier(bundle_path, num_threads=0)
    with pytest.raises(ValueError, match="unknown interpreter"):
        Classifier(bundle_path, interpreter="onnx")


def test_no_interpreter_is_one_clear_error(bundle_path, monkeypatch):
    real = classifier_module.importlib.import_module

    def no_tflite(name, *a, **k):
        if name.split(".")[0] in ("tflite_runtime", "ai_edge_litert", "tensorflow"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *a, **k)

    monkeypatch.setattr(classifier_module.importlib, "import_module", no_tflite)
    with pytest.raises(InterpreterMissingError) as e:
        Classifier(bundle_path)
    msg = str(e.value)
    assert "pip install tflite-runtime" in msg and "pip install ai-edge-litert" in msg and "\n" not in msg
    with pytest.raises(InterpreterMissingError, match="pip install ai-edge-litert"):
        load_interpreter_class("ai_edge_litert")


def test_quantize_round_trip():
    x = np.linspace(-80, 0, 1000, dtype=np.float32)
    scale, zp = 80 / 255, 127
    q = quantize(x, scale, zp, np.int8)
    assert q.dtype == np.int8 and q.min() >= -128 and q.max() <= 127
    assert np.abs(dequantize(q, scale, zp) - x).max() <= scale / 2 + 1e-5
    assert quantize(np.array([1e9, -1e9]), scale, zp, np.int8).tolist() == [127, -128]  # clipped


def test_realtime_imports_neither_tensorflow_nor_librosa():
    code = ("import sys, realtime.classifier, realtime.frontend, realtime.bundle; "
            "bad = [m for m in ('tensorflow', 'librosa', 'keras', 'trainer', 'export') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif("ai_edge_litert" not in EDGE_INTERPRETERS or "tflite_runtime" not in EDGE_INTERPRETERS,
                    reason="needs both edge interpreters")
def test_auto_choice_after_tensorflow(tiny_bundles):
    """tflite-runtime imported after TensorFlow cannot load models (or crashes): the automatic choice
    avoids it, and asking for it gives an error that says why, without trying to load it."""
    code = (
        "import tensorflow, numpy as np\n"
        "from realtime.classifier import Classifier\n"
        "import sys\n"
        "from realtime.errors import InterpreterMissingError\n"
        f"c = Classifier({str(tiny_bundles['int8'])!r})\n"
        "assert c.interpreter_name == 'ai_edge_litert', c.interpreter_name\n"
        "assert c.predict_log_mel(np.full((64, 35), -40, np.float32)).shape == (10,)\n"
        "try:\n"
        f"    Classifier({str(tiny_bundles['int8'])!r}, interpreter='tflite_runtime')\n"
        "except InterpreterMissingError as e:\n"
        "    assert 'TensorFlow was imported first' in str(e), e\n"
        "else:\n"
        "    raise AssertionError('tflite_runtime was not refused')\n"
        "assert 'tflite_runtime.interpreter' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
