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


def test_validation_word_stream_plays_the_validation_words_of_real_speakers(tmp_path):
    """Only validation-split Speech Commands ``_unknown_`` clips, each once, with far's gaps and floor."""
    import numpy as np
    import soundfile as sf

    from export.threshold import validation_word_stream
    from trainer.evaluation.robustness.sets import ITEM_RATE_HZ, WORD_GAP_S

    rate = 16000
    rows = []
    for name, label, source, split in [("v1", "_unknown_", "speech_commands", "val"),
                                       ("v2", "_unknown_", "speech_commands", "val"),
                                       ("t1", "_unknown_", "speech_commands", "train"),
                                       ("h1", "_unknown_", "speech_commands", "test"),
                                       ("s1", "_silence_", "speech_commands", "val"),
                                       ("d1", "3", "speech_commands_digits", "val"),
                                       ("y1", "_unknown_", "synth", "val")]:
        path = tmp_path / f"{name}.wav"
        # a 1 s tone whose frequency names the clip; only v1 and v2 may be heard
        freq = 300.0 if name.startswith("v") else 2000.0
        sf.write(path, 0.3 * np.sin(2 * np.pi * freq * np.arange(rate) / rate), rate)
        rows.append([str(path), label, "w", name, source, split])
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "corpus.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        w.writerows(rows)
    out = validation_word_stream(run, tmp_path / "words.wav", seed=3)
    y, sr = sf.read(out)
    assert sr == ITEM_RATE_HZ and y.ndim == 1
    n_words = 2
    assert n_words * (1 + WORD_GAP_S[0]) <= y.shape[0] / sr <= n_words * (1 + WORD_GAP_S[1]) + 0.01
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(y.shape[0], 1 / sr)
    assert spectrum[np.argmin(np.abs(freqs - 300))] > 100 * spectrum[np.argmin(np.abs(freqs - 2000))]
    again = validation_word_stream(run, tmp_path / "again.wav", seed=3)
    np.testing.assert_array_equal(sf.read(again)[0], y)
    only_train = tmp_path / "run2"
    only_train.mkdir()
    with open(only_train / "corpus.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        w.writerows(r for r in rows if r[5] != "val")
    assert validation_word_stream(only_train, tmp_path / "none.wav") is None
    assert not (tmp_path / "none.wav").exists()
    with pytest.raises(FileNotFoundError, match="corpus.csv"):
        validation_word_stream(tmp_path / "nowhere", tmp_path / "x.wav")
