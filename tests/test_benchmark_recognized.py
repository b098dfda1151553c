"""``python -m trainer.benchmarks.recognized``: scoring ``recognize --json`` output of digit clips and of speech."""
import json

import numpy as np
import pytest
import soundfile as sf

from trainer.benchmarks import recognized as R


def _line(path, digit):
    return json.dumps({"file": str(path), "digit": digit, "label": str(digit) if digit is not None else "_unknown_"})


def test_digit_clips_right_wrong_rejected(tmp_path, capsys):
    files = [tmp_path / "eight" / "a_nohash_0.flac", tmp_path / "eight" / "b_nohash_0.flac",
             tmp_path / "eight" / "c_nohash_0.flac", tmp_path / "1" / "d.wav", tmp_path / "1" / "e.wav"]
    lines = [_line(files[0], 8),                      # right
             _line(files[1], 8), _line(files[1], 3),  # two digits: wrong
             _line(files[2], None),                   # rejected
             _line(files[3], 1), _line(files[3], None)]  # right ('?' beside it does not count)
    # files[4]: recognize printed nothing (no utterance found): rejected
    s = R.score_digits(files, R.accepted_by_file(lines))
    assert (s.items[8], s.right[8], s.wrong[8], s.rejected(8)) == (3, 1, 1, 1)
    assert (s.items[1], s.right[1], s.wrong[1], s.rejected(1)) == (2, 1, 0, 1)

    jsonl = tmp_path / "out.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    assert R.main([str(jsonl), *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "| 8 | 3 | 1 | 1 | 1 | 0.333 |" in out
    assert "| all | 5 | 2 | 1 | 2 | **0.400** |" in out


def test_false_digits_per_hour(tmp_path):
    rate = 16000
    a, b = tmp_path / "s1" / "a.flac", tmp_path / "s2" / "b.flac"
    for f, seconds in ((a, 30.0), (b, 6.0)):
        f.parent.mkdir()
        sf.write(f, np.zeros(int(rate * seconds), dtype=np.float32), rate)
    n, hours = R.false_digits_per_hour([a, b], R.accepted_by_file([_line(a, 4), _line(a, None), _line(a, 7)]))
    assert n == 2 and hours == pytest.approx(36.0 / 3600)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="not a digit word"):
        R.label_of(tmp_path / "yes" / "x.wav")
    with pytest.raises(ValueError, match="could not read"):
        R.accepted_by_file([json.dumps({"file": "x.wav", "error": "empty audio file"})])
    with pytest.raises(ValueError, match="line 2"):
        R.accepted_by_file([_line("a/1/x.wav", 1), "not json"])
