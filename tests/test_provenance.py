"""Bundle provenance is reproducible: no absolute path of the machine that made it, the command, versions."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from export.exporter import command_line, portable_path


def strings(obj):
    """Every string value (and key) in a JSON document."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def absolute_paths(doc) -> list[str]:
    return [s for s in strings(doc) if os.path.isabs(s) or s.startswith("~")]


def test_portable_path(tmp_path):
    run = tmp_path / "runs" / "official"
    assert portable_path(run / "spectrogram_aug" / "model.keras", run) == "spectrogram_aug/model.keras"
    assert portable_path(run, tmp_path / "bundles" / "b") == "../../runs/official"
    assert portable_path(run, run) == "."
    assert portable_path("/usr/lib/x.so", tmp_path) == "x.so"  # nothing in common but the root


def test_command_line_has_no_absolute_paths(tmp_path):
    argv = ["/home/someone/venv/bin/spoken-digits", "export", str(tmp_path / "runs" / "official"), "--out",
            str(tmp_path / "bundles" / "b"), f"--cache-dir={tmp_path / 'cache'}", "--model", "spectrogram aug"]
    cmd = command_line(argv, cwd=tmp_path)
    assert cmd == ("spoken-digits export runs/official --out bundles/b --cache-dir=cache --model 'spectrogram aug'")


def test_shipped_bundle_records_no_absolute_path(bundle_path):
    from realtime.bundle import find_bundle_json, load_bundle

    doc = json.loads(find_bundle_json(bundle_path).read_text())
    assert absolute_paths(doc) == []
    load_bundle(bundle_path)  # the checksums cover the model files, not the JSON


def test_exported_provenance(tiny_bundles, tiny_run):
    d = tiny_bundles["int8"]
    doc = json.loads((d / f"{d.name}.json").read_text())
    assert absolute_paths(doc) == [], absolute_paths(doc)
    prov = doc["provenance"]
    assert (d / prov["run"]).resolve() == Path(tiny_run).resolve()
    assert prov["model_path"] == "spectrogram/model.keras"
    assert prov["command"]
    assert {"python", "tensorflow", "keras", "numpy", "librosa"} <= set(prov["versions"])
    assert "commit" in prov


def test_git_commit_marks_a_run_from_uncommitted_code(tmp_path):
    """A run started from a modified checkout records ``<sha>-dirty``, not a commit whose code differs."""
    import shutil
    import subprocess

    from trainer.recipes.train import git_commit

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert git_commit(tmp_path) is None  # not a checkout

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_commit(tmp_path) == sha
    (tmp_path / "new.py").write_text("untracked files are not the run's code\n")
    assert git_commit(tmp_path) == sha
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == f"{sha}-dirty"
