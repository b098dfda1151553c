"""An edge-only install works: a fresh venv without TensorFlow or librosa recognizes an FSDD clip.

The venv gets the project as a user of the recognizer installs it, ``pip install .`` without
the ``train`` extra, from a copy of its packaged files (so the checkout is not on the path):
its declared requirements decide what else is installed. Needs access to the package index.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # a fresh venv and a pip install

REPO = Path(__file__).resolve().parents[1]
#: What the project's packaging needs to build it (setup.py reads README.md if present).
PROJECT_FILES = ("pyproject.toml", "setup.py", "README.md", "spoken_digits_cli.py", "trainer", "export", "realtime")
#: The training stack: none of it may come with the edge install.
TRAINING_STACK = ("tensorflow", "librosa", "keras", "tf_keras", "sklearn", "audiomentations", "pyroomacoustics")


def _run(cmd, *, cwd, timeout=900, env=None):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def edge_venv(tmp_path_factory) -> Path:
    """``.../venv/bin`` of a fresh venv holding the project and what its install requirements bring."""
    if sys.version_info >= (3, 12):
        pytest.fail("tflite-runtime has no wheels for Python >= 3.12; run this test with Python 3.11")
    root = tmp_path_factory.mktemp("edge")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in PROJECT_FILES:
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        elif p.exists():
            shutil.copy2(p, src / name)
    _run([sys.executable, "-m", "venv", root / "venv"], cwd=root)
    bin_dir = root / "venv" / "bin"
    pip = [bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, src], cwd=root)
    return bin_dir


@pytest.fixture(scope="module")
def confident_clips(tiny_run, tiny_bundles):
    """Three test clips of different digits that the int8 bundle classifies right with the most confidence."""
    from realtime.classifier import Classifier
    from trainer.data.fsdd import load_audio, pad_and_mask
    from trainer.runs import load_run

    clf = Classifier(tiny_bundles["int8"])
    scored = []
    for r in load_run(tiny_run).split().test:
        p = clf.predict(pad_and_mask(load_audio(r.path))[0])
        if int(p.argmax()) == r.digit:
            scored.append((float(p.max()), r))
    best: dict[int, tuple] = {}
    for conf, r in sorted(scored, key=lambda x: x[0], reverse=True):
        best.setdefault(r.digit, (conf, r))
    chosen = sorted(best.values(), key=lambda x: x[0], reverse=True)[:3]
    assert len(chosen) == 3
    return [r for _, r in chosen]


def _edge_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_edge_install_brings_an_interpreter_and_no_training_stack(edge_venv, tmp_path):
    """setup.py's install requirements: on Python 3.11 Linux tflite-runtime (not ai-edge-litert), no training stack."""
    wanted = ("numpy", "tflite_runtime", "soundfile", "soxr", "sounddevice", "click", "rich")
    unwanted = (*TRAINING_STACK, "ai_edge_litert")
    code = "import importlib.util as u, sys; print(' '.join(m for m in sys.argv[1:] if u.find_spec(m) is not None))"
    out = _run([edge_venv / "python", "-c", code, *wanted, *unwanted], cwd=tmp_path, env=_edge_env())
    installed = set(out.split())
    assert installed & set(unwanted) == set()
    assert set(wanted) <= installed, set(wanted) - installed


def test_realtime_imports_without_tensorflow_or_librosa(edge_venv, tiny_bundles, confident_clips, tmp_path):
    rec = confident_clips[0]
    code = f"""
import sys, json
import numpy as np, soundfile as sf, soxr
import realtime.classifier, realtime.frontend, realtime.bundle
from realtime.classifier import Classifier
clf = Classifier({str(tiny_bundles['int8'])!r})
y, sr = sf.read({str(rec.path)!r}, dtype="float32")
y = soxr.resample(y, sr, clf.sample_rate_hz).astype(np.float32)[: clf.window_samples]
w = np.zeros(clf.window_samples, np.float32); w[: y.size] = y
p = clf.predict(w)
print(json.dumps({{"digit": int(p.argmax()), "interpreter": clf.interpreter_name, "realtime": realtime.__file__,
                  "loaded": [m for m in ("tensorflow", "librosa", "keras", "trainer", "export") if m in sys.modules]}}))
"""
    out = json.loads(_run([edge_venv / "python", "-c", code], cwd=tmp_path, env=_edge_env()).strip().splitlines()[-1])
    assert out["loaded"] == []
    assert out["interpreter"] == "tflite_runtime"
    assert str(edge_venv.parent) in out["realtime"]  # the installed copy, not the checkout
    assert out["digit"] == rec.digit


def test_recognize_command(edge_venv, tiny_bundles, confident_clips, tmp_path):
    files = [str(r.path) for r in confident_clips]
    out = _run([edge_venv / "spoken-digits", "recognize", *files, "--model", tiny_bundles["int8"], "--json"],
               cwd=tmp_path, env=_edge_env())
    decisions = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for r in confident_clips:
        mine = [d for d in decisions if d["file"] == str(r.path)]
        assert len(mine) == 1, f"{r.name}: {mine}"
        assert mine[0]["top"] == r.digit, f"{r.name}: {mine[0]}"
    # the plain output names each file with its digit
    text = _run([edge_venv / "spoken-digits", "recognize", files[0], "--model", tiny_bundles["int8"]],
                cwd=tmp_path, env=_edge_env())
    assert text.strip().endswith(f": {confident_clips[0].digit}")


def test_bench_strings_runs_on_the_edge_install(edge_venv, tmp_path):
    """The string model's benchmark is edge-only: it times the shipped bundle's string model in a venv
    without TensorFlow, with the interpreter that venv has."""
    out = _run([edge_venv / "spoken-digits", "bench-strings", "--repeats", "2"], cwd=tmp_path,
               env=_edge_env())
    rows = [line for line in out.splitlines() if "tflite_runtime" in line]
    assert [float(r.split("│")[2]) for r in rows] == [1.0, 2.0, 4.0, 8.0]  # audio s
    assert all(float(r.split("│")[6]) > 0 for r in rows)  # ms per s of audio
    assert "ai_edge_litert" not in out and "tensorflow" not in out.lower().split("string model")[-1]
