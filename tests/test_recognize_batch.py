"""``recognize`` over several files: one unreadable file is reported, the others are still recognized."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from vmic import CLI

#: Official-test recordings (index < 5) the shipped bundle recognizes.
GOOD = ("3_theo_0", "7_jackson_1")


@pytest.fixture
def batch(fsdd_dir, tmp_path):
    """``[good.wav, empty.wav, good2.wav]``: two FSDD recordings around an empty WAV."""
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, np.float32), 8000, subtype="PCM_16")
    return [fsdd_dir / f"{GOOD[0]}.wav", empty, fsdd_dir / f"{GOOD[1]}.wav"]


def run_recognize(args):
    return subprocess.run(CLI + ["recognize", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_a_bad_file_is_reported_and_the_others_recognized(bundle_path, batch):
    good, empty, good2 = batch
    r = run_recognize(["--model", bundle_path, *batch])
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout.splitlines() == [f"{good}: {GOOD[0][0]}", f"{good2}: {GOOD[1][0]}"], r.stdout
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(empty) in errors[0] and "empty audio file" in errors[0], r.stderr


def test_json_gives_an_error_object_for_the_bad_file(bundle_path, batch):
    good, empty, good2 = batch
    r = run_recognize(["--model", bundle_path, "--json", *batch])
    assert r.returncode == 1, (r.stdout, r.stderr)
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["file"] for o in objs] == [str(good), str(empty), str(good2)], r.stdout
    assert [o.get("digit") for o in objs] == [int(GOOD[0][0]), None, int(GOOD[1][0])], r.stdout
    assert set(objs[1]) == {"file", "error"} and "empty audio file" in objs[1]["error"], objs[1]
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and str(empty) in errors[0], r.stderr


def test_all_good_files_exit_zero(bundle_path, batch):
    r = run_recognize(["--model", bundle_path, batch[0], batch[2]])
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2


def test_an_unusable_bundle_still_stops_at_once(tmp_path, batch):
    r = run_recognize(["--model", tmp_path / "no-bundle", *batch])
    assert r.returncode == 1
    assert r.stdout == ""
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and str(tmp_path / "no-bundle") in errors[0], r.stderr
