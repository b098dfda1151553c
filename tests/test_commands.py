"""The seeds' 12-class Speech Commands task (trainer/recipes/commands.py): labels, corpus table, splits."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_labels_and_relabel():
    from trainer.recipes.commands import DEFAULT_WORDS, labels_for, relabel
    from trainer.data.corpus import CorpusClip

    assert labels_for(DEFAULT_WORDS) == [*DEFAULT_WORDS, "_silence_", "_unknown_"] and len(labels_for(DEFAULT_WORDS)) == 12
    rows = [CorpusClip(Path("yes/a_nohash_0.wav"), "_unknown_", "yes", "a", "speech_commands", "train"),
            CorpusClip(Path("_unknown_/bed_b_nohash_0.wav"), "_unknown_", "bed", "b", "speech_commands", "test"),
            CorpusClip(Path("seven/c_nohash_0.wav"), "7", "seven", "c", "speech_commands", "val"),
            CorpusClip(Path("_silence_/1.wav"), "_silence_", "_silence_", "", "speech_commands", "train")]
    assert [r.label for r in relabel(rows, DEFAULT_WORDS)] == ["yes", "_unknown_", "_unknown_", "_silence_"]
    assert [r.label for r in relabel(rows, ["bed"])] == ["_unknown_", "bed", "_unknown_", "_silence_"]


@pytest.mark.slow
def test_commands_table_is_speaker_disjoint_with_held_out_silence(tmp_path):
    from trainer.recipes.commands import DEFAULT_WORDS, commands_table

    if not SHARED.is_dir():
        pytest.fail(f"the shared data folder {SHARED} is missing")
    rows = commands_table(SHARED, DEFAULT_WORDS, cache_dir=tmp_path, seed=0)
    counts = Counter((r.split, r.label) for r in rows)
    for split in ("train", "val", "test"):
        for label in (*DEFAULT_WORDS, "_silence_", "_unknown_"):
            assert counts[(split, label)] > 0, (split, label)
    speakers = {}
    for r in rows:
        if r.source == "speech_commands" and r.speaker:
            assert speakers.setdefault(r.speaker, r.split) == r.split, r.speaker  # digits copy included
    # the digit words are _unknown_ here; test silence comes from test-split noise recordings only
    assert any(r.word == "seven" and r.label == "_unknown_" for r in rows)
    noise_split = {r.path.name: r.split for r in rows if r.label == "_background_noise_"}
    test_silence = [r for r in rows if r.split == "test" and r.label == "_silence_"]
    assert {r.source for r in test_silence} == {"generated"}
    assert not [r for r in rows if r.split != "train" and r.source == "speech_commands" and r.label == "_silence_"]
    assert "test" in noise_split.values() and "train" in noise_split.values()
