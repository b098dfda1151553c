"""export.threshold.validation_passages: which readings the bundle threshold is chosen on."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from export.threshold import validation_passages

FIELDS = ["path", "label", "word", "speaker", "source", "split"]


def _run(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "corpus.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for speaker, source, split in rows:
            w.writerow([f"/x/{speaker}.wav", "3", "three", speaker, source, split])
    return run


def _synth(tmp_path: Path, speakers: list[str]) -> Path:
    synth = tmp_path / "synth"
    synth.mkdir()
    lines = ["path,speaker,duration_s"] + [f"train_passages/{s}.wav,{s},100.0" for s in speakers]
    (synth / "train_passages.csv").write_text("\n".join(lines) + "\n")
    return synth


def test_only_validation_synthetic_voices_are_used(tmp_path):
    run = _run(tmp_path, [("espeak-b", "synth", "val"), ("espeak-a", "synth:espeak", "val"),
                          ("espeak-t", "synth", "train"), ("espeak-h", "synth", "test"),
                          ("george", "fsdd", "val"), ("espeak-b", "synth", "val")])
    synth = _synth(tmp_path, ["espeak-t", "espeak-b", "espeak-h", "espeak-a", "george", "espeak-z"])
    assert validation_passages(run, synth) == [synth / "train_passages/espeak-a.wav",
                                               synth / "train_passages/espeak-b.wav"]


def test_clear_errors(tmp_path):
    run = _run(tmp_path, [("espeak-t", "synth", "train"), ("george", "fsdd", "val")])
    with pytest.raises(FileNotFoundError, match="corpus.csv"):
        validation_passages(tmp_path / "nowhere", tmp_path)
    with pytest.raises(FileNotFoundError, match="--passages"):
        validation_passages(run, tmp_path / "nosynth")
    synth = _synth(tmp_path, ["espeak-t"])
    with pytest.raises(ValueError, match="no validation synthetic voices"):
        validation_passages(run, synth)
    run2 = tmp_path / "r2"
    run2.mkdir()
    (run2 / "corpus.csv").write_text(",".join(FIELDS) + "\n/x/v.wav,3,three,espeak-v,synth,val\n")
    with pytest.raises(ValueError, match="has a reading"):
        validation_passages(run2, synth)
