"""Augmentation grid, labels carried along, caching and atomic writes."""
from __future__ import annotations

import numpy as np
import pytest

import trainer.data.dataset as dataset
from trainer.data.fsdd import discover, load_audio
from trainer.data.dataset import augment_clip, build_arrays
from trainer.errors import DataError


def test_augment_grid(fsdd_dir):
    y = load_audio(fsdd_dir / "2_theo_7.wav")
    clips = augment_clip(y, sample_rate_hz=22050)
    assert len(clips) == 9
    np.testing.assert_array_equal(clips[4], y)  # rate 1.0, 0 semitones: the original
    # rate-major order: 0.7 (slower, longer), 1.0, 1.3 (faster, shorter)
    assert len(clips[0]) > len(y) > len(clips[8])
    assert all(c.dtype == np.float32 and np.isfinite(c).all() for c in clips)
    assert not np.allclose(clips[3][: len(y)], y)  # pitch shifted


def test_build_arrays_augmented_carries_labels_and_caches(tmp_path, fsdd_dir, monkeypatch):
    recs = [r for r in discover(fsdd_dir, speakers=["nicolas"]) if r.index == 0][:3]
    a = build_arrays(recs, augment=True, cache_dir=tmp_path, progress=False, n_jobs=1)
    assert len(a) == 27
    assert a.wave.shape == (27, 17640) and a.mask.shape == (27, 17640) and a.log_mel.shape == (27, 64, 35)
    assert a.label.tolist() == [r.digit for r in recs for _ in range(9)]
    assert set(a.speaker) == {"nicolas"} and a.source.tolist() == [i for i in range(3) for _ in range(9)]
    # the mask covers the real (non-padded) part, which differs with the stretch rate
    lengths = a.mask.sum(axis=1)
    assert lengths[0] > lengths[4] > lengths[8]
    # a rerun reads the cache and computes nothing
    monkeypatch.setattr(dataset, "_process", lambda *a, **k: pytest.fail("recomputed a cached clip"))
    b = build_arrays(recs, augment=True, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(a.log_mel, b.log_mel)


def test_bad_file_leaves_no_partial_cache_entry(tmp_path, fsdd_dir):
    data = tmp_path / "data"
    data.mkdir()
    (data / "1_theo_0.wav").symlink_to(fsdd_dir / "1_theo_0.wav")
    (data / "1_theo_1.wav").write_bytes(b"not a wav at all")
    recs = discover(data)
    with pytest.raises(DataError, match="1_theo_1.wav"):
        build_arrays(recs, cache_dir=tmp_path / "cache", progress=False, n_jobs=1)
    files = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].endswith(".npz")  # the good file, complete; no temp file
