"""FSDD discovery, loading, padding, bad input and the evaluation protocols."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from trainer.config import FRONT_END
from trainer.data.fsdd import Recording, discover, load_audio, make_splits, pad_and_mask, parse_name
from trainer.errors import DataError


def test_parse_name(tmp_path):
    r = parse_name(tmp_path / "7_jackson_32.wav")
    assert (r.digit, r.speaker, r.index) == (7, "jackson", 32)
    for bad in ("jackson_7_32.wav", "12_theo_1.wav", "7_theo.wav", "7_theo_1.mp3"):
        with pytest.raises(DataError, match=bad.replace(".", r"\.")):
            parse_name(tmp_path / bad)


def test_discover_full_copy(fsdd_dir):
    recs = discover(fsdd_dir)
    assert len(recs) == 3000
    assert recs == sorted(recs)
    assert {r.speaker for r in recs} == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    assert len(discover(fsdd_dir, speakers=["theo"])) == 500


def test_discover_skips_misnamed_with_warning(tmp_path, fsdd_dir, caplog):
    (tmp_path / "3_theo_0.wav").symlink_to(fsdd_dir / "3_theo_0.wav")
    (tmp_path / "three_theo.wav").symlink_to(fsdd_dir / "3_theo_1.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    with caplog.at_level(logging.WARNING):
        recs = discover(tmp_path)
    assert [r.name for r in recs] == ["3_theo_0.wav"]
    assert "three_theo.wav" in caplog.text


def test_discover_missing_or_empty_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        discover(tmp_path / "nope")
    with pytest.raises(DataError, match="holds no FSDD recording"):
        discover(tmp_path)


def test_load_and_pad(fsdd_dir):
    y = load_audio(fsdd_dir / "0_jackson_0.wav")
    info = sf.info(str(fsdd_dir / "0_jackson_0.wav"))
    assert y.dtype == np.float32 and y.ndim == 1
    # 8 kHz -> 22,050 Hz keeps the duration
    assert abs(len(y) / FRONT_END.sample_rate_hz - info.frames / info.samplerate) < 1e-3
    wave, mask = pad_and_mask(y)
    assert wave.shape == mask.shape == (17640,)
    assert wave.dtype == np.float32 and mask.dtype == bool
    n = min(len(y), 17640)
    assert mask[:n].all() and not mask[n:].any()
    np.testing.assert_array_equal(wave[:n], y[:n])
    assert not wave[n:].any()


def test_pad_truncates_long_clip():
    y = np.linspace(-1, 1, 20000, dtype=np.float32)
    wave, mask = pad_and_mask(y)
    assert mask.all()
    np.testing.assert_array_equal(wave, y[:17640])


@pytest.mark.parametrize(
    "kind, match",
    [("corrupt", "unreadable or corrupt"), ("empty", "empty audio"), ("stereo", "2 channels"), ("44k", "44100 Hz")],
)
def test_bad_audio_files_name_the_file(tmp_path, kind, match):
    path = tmp_path / "5_theo_0.wav"
    if kind == "corrupt":
        path.write_bytes(b"RIFF\x00\x00garbage that is not a wav file")
    elif kind == "empty":
        sf.write(path, np.zeros(0, np.int16), 8000, subtype="PCM_16")
    elif kind == "stereo":
        sf.write(path, np.zeros((800, 2), np.int16), 8000, subtype="PCM_16")
    else:
        sf.write(path, np.zeros(4410, np.int16), 44100, subtype="PCM_16")
    with pytest.raises(DataError, match=match) as e:
        load_audio(path)
    assert str(path) in str(e.value)


def test_protocol_seed(fsdd_dir):
    recs = discover(fsdd_dir)
    (s,) = make_splits(recs, "seed")
    assert len(s.train) + len(s.val) == 1600 and len(s.test) == 400
    assert len(s.val) == 160
    assert {r.speaker for r in s.test} == {"jackson", "nicolas", "theo", "yweweler"}
    assert not set(s.train) & set(s.test) and not set(s.val) & set(s.test) and not set(s.train) & set(s.val)
    # stratified: every digit 40 times in the test part
    assert np.bincount([r.digit for r in s.test]).tolist() == [40] * 10
    assert make_splits(recs, "seed")[0] == s  # same seed, same split
    assert make_splits(recs, "seed", seed=1)[0].test != s.test


def test_protocol_official_and_speaker(fsdd_dir):
    recs = discover(fsdd_dir)
    (o,) = make_splits(recs, "official")
    assert len(o.test) == 300 and all(r.index < 5 for r in o.test)
    assert len(o.train) + len(o.val) == 2700 and all(r.index >= 5 for r in o.train + o.val)
    folds = make_splits(recs, "speaker")
    assert [f.name for f in folds] == sorted({r.speaker for r in recs})
    for f in folds:
        assert {r.speaker for r in f.test} == {f.name} and len(f.test) == 500
        assert f.name not in {r.speaker for r in f.train + f.val}


def test_unknown_protocol(fsdd_dir):
    with pytest.raises(DataError, match="unknown protocol"):
        make_splits([Recording(fsdd_dir / "0_theo_0.wav", 0, "theo", 0)], "weird")
