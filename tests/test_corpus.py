"""The corpus layer, the augmentation chain, generated negatives and calibration helpers of the deploy protocol."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trainer.data.corpus import (
    NOISE_LABEL, SILENCE_LABEL, UNKNOWN_LABEL, CorpusPaths, check_speaker_disjoint, read_corpus,
    read_folder_per_label, read_noise, read_synth, split_of, word_label,
)
from trainer.errors import DataError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _wav(path: Path, seconds: float = 0.3, sr: int = 16000, freq: float = 440.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)
    return path


def test_split_of_is_a_pure_function_of_source_and_speaker():
    fr = (0.7, 0.1, 0.2)
    # Pinned: the same on every machine and in every process (a salted hash() would differ between runs),
    # and a change of the hashing would move speakers of existing corpora between train and test.
    assert [split_of("sc", f"spk{i}", fr) for i in range(12)] == [
        "train", "train", "train", "train", "val", "train", "test", "train", "train", "train", "val", "train"]
    got = [split_of("sc", f"spk{i}", fr) for i in range(2000)]
    share = {s: got.count(s) / len(got) for s in ("train", "val", "test")}
    assert share["train"] == pytest.approx(0.7, abs=0.04) and share["test"] == pytest.approx(0.2, abs=0.04)
    # another source hashes differently: not the same assignment
    assert got != [split_of("other", f"spk{i}", fr) for i in range(2000)]
    with pytest.raises(ValueError, match="summing to 1"):
        split_of("sc", "x", (0.5, 0.5, 0.5))


def test_word_labels_follow_speech_commands():
    assert word_label("seven") == "7" and word_label("Zero") == "0" and word_label("3") == "3"
    assert word_label("tree") == UNKNOWN_LABEL and word_label("ten") == UNKNOWN_LABEL
    assert word_label("_silence_") == SILENCE_LABEL and word_label("_background_noise_") == NOISE_LABEL


def test_folder_per_label_reads_speakers_words_and_keeps_silence_in_train(tmp_path):
    root = tmp_path / "sc"
    _wav(root / "seven" / "abcd1234_nohash_0.wav")
    _wav(root / "seven" / "abcd1234_nohash_1.wav")
    _wav(root / "stop" / "ffff0000_nohash_0.wav")
    _wav(root / "_unknown_" / "bird_abcd1234_nohash_2.wav")
    _wav(root / "_silence_" / "17.wav")
    _wav(root / "_background_noise_" / "tap.wav")
    rows = {r.path.relative_to(root).as_posix(): r for r in read_folder_per_label(root, source="x")}
    assert rows["seven/abcd1234_nohash_0.wav"].label == "7"
    assert rows["seven/abcd1234_nohash_0.wav"].speaker == "abcd1234"
    assert rows["stop/ffff0000_nohash_0.wav"].label == UNKNOWN_LABEL and rows["stop/ffff0000_nohash_0.wav"].word == "stop"
    bird = rows["_unknown_/bird_abcd1234_nohash_2.wav"]
    assert (bird.label, bird.word, bird.speaker) == (UNKNOWN_LABEL, "bird", "abcd1234")
    # one speaker, one split, across words
    assert bird.split == rows["seven/abcd1234_nohash_0.wav"].split == rows["seven/abcd1234_nohash_1.wav"].split
    assert rows["_silence_/17.wav"].split == "train" and rows["_silence_/17.wav"].label == SILENCE_LABEL
    assert rows["_background_noise_/tap.wav"].label == NOISE_LABEL


def test_missing_sources_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        read_folder_per_label(tmp_path / "nope")
    (tmp_path / "empty" / "yes").mkdir(parents=True)
    with pytest.raises(DataError, match="no '<label>/<audio file>'"):
        read_folder_per_label(tmp_path / "empty")
    with pytest.raises(DataError, match="data synth"):
        read_synth(tmp_path)
    with pytest.raises(DataError, match="no data source"):
        read_corpus(CorpusPaths())


def test_noise_split_by_file_keeps_both_sides_and_speech_commands_noise_in_train(tmp_path):
    for i in range(4):
        _wav(tmp_path / "coll" / f"n{i}.wav")
    _wav(tmp_path / "speech_commands" / "running_tap.wav")
    rows = read_noise(tmp_path)
    coll = [r.split for r in rows if r.path.parent.name == "coll"]
    assert set(coll) == {"train", "test"}
    assert [r.split for r in rows if r.path.parent.name == "speech_commands"] == ["train"]


def test_synth_manifest_held_out_voices_stay_test(tmp_path):
    _wav(tmp_path / "seven" / "espeak-en+m1_nohash_0.wav")
    _wav(tmp_path / "seven" / "flite-slt_nohash_0.wav")
    (tmp_path / "manifest.csv").write_text(
        "path,word,speaker,split\nseven/espeak-en+m1_nohash_0.wav,seven,espeak-en+m1,train\n"
        "seven/flite-slt_nohash_0.wav,seven,flite-slt,test\n")
    rows = {r.speaker: r for r in read_synth(tmp_path)}
    assert rows["flite-slt"].split == "test"
    assert rows["espeak-en+m1"].split in ("train", "val") and rows["espeak-en+m1"].label == "7"


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_shared_corpus_is_speaker_disjoint_and_complete():
    rows = read_corpus(CorpusPaths.shared(SHARED))
    check_speaker_disjoint(rows)  # raises on a speaker in two splits
    by_group: dict[str, set[str]] = {}
    for r in rows:
        if r.source != "fsdd" and r.speaker:
            by_group.setdefault(r.group, set()).add(r.split)
    assert by_group and all(len(s) == 1 for s in by_group.values())
    sources = {r.source for r in rows}
    assert {"fsdd", "speech_commands", "speech_commands_digits", "noise"} <= sources
    # nothing in the Speech Commands copy is a digit; every SC digit clip is one
    assert not any(r.is_digit for r in rows if r.source == "speech_commands")
    assert all(r.is_digit for r in rows if r.source == "speech_commands_digits")
    # the FLAC copies are read, and one Speech Commands speaker is in one split across every copy
    assert {"speech_commands_digits_extra", "speechocean762"} <= sources
    assert any(r.path.suffix == ".flac" for r in rows if r.source == "speech_commands_digits_extra")
    sc: dict[str, set[str]] = {}
    for r in rows:
        if r.source.startswith("speech_commands") and r.speaker:
            sc.setdefault(r.speaker, set()).add(r.split)
    assert all(len(s) == 1 for s in sc.values())
    ocean = [r for r in rows if r.source == "speechocean762"]
    assert {r.split for r in ocean} == {"train", "val", "test"}
    assert all(r.word for r in ocean)  # transcripts kept
    noise = [r for r in rows if r.label == NOISE_LABEL]
    assert {r.split for r in noise} == {"train", "test"}


def test_flac_is_read_as_wav_is(tmp_path):
    root = tmp_path / "sc"
    _wav(root / "seven" / "abcd1234_nohash_0.wav")
    _wav(root / "seven" / "abcd1234_nohash_1.flac")
    (root / "seven" / "notes.txt").write_text("not audio")
    rows = read_folder_per_label(root, source="x")
    assert sorted(r.path.name for r in rows) == ["abcd1234_nohash_0.wav", "abcd1234_nohash_1.flac"]
    _wav(tmp_path / "noise" / "rain" / "a.flac", seconds=1.0)
    _wav(tmp_path / "noise" / "rain" / "b.flac", seconds=1.0)
    assert len(read_noise(tmp_path / "noise")) == 2
    from trainer.recipes.deploy import load_clip

    y = load_clip(rows[1].path)  # through the deploy reader: resampled to the front end's rate
    assert y.ndim == 1 and y.size == pytest.approx(0.3 * 22050, abs=2)


def test_one_speech_commands_speaker_one_split_in_every_copy(tmp_path):
    from trainer.data.corpus import SPEECH_COMMANDS_SOURCES

    # the split depends on the speaker only, not on which copy (folder) a clip is in
    for i in range(200):
        splits = set()
        for source in SPEECH_COMMANDS_SOURCES:
            root = tmp_path / source
            _wav(root / "five" / f"spk{i:04d}_nohash_0.wav", seconds=0.05)
        for source in SPEECH_COMMANDS_SOURCES:
            splits |= {r.split for r in read_folder_per_label(tmp_path / source, source=source)
                       if r.speaker == f"spk{i:04d}"}
        assert len(splits) == 1
    got = [r.split for r in read_folder_per_label(tmp_path / "speech_commands_digits", source="speech_commands_digits")]
    assert {"train", "val", "test"} == set(got)


def test_speechocean762_keeps_transcripts_and_splits_by_speaker(tmp_path):
    from trainer.data.corpus import DIGIT_STRING_LABEL, PASSAGE_LABEL, read_speechocean

    root = tmp_path / "so"
    text, utt2spk = [], []
    for i in range(40):
        spk = f"{i:04d}"
        _wav(root / "nondigit" / f"SPEAKER{spk}" / f"0000{i:05d}.flac", seconds=0.1)
        text.append(f"0000{i:05d} TOM GIVES UP BOXING")
        utt2spk.append(f"0000{i:05d} {spk}")
    _wav(root / "digit_strings" / "SPEAKER0001" / "000010035.flac", seconds=0.1)
    text.append("000010035 ZERO THREE FIVE ONE")
    utt2spk.append("000010035 0001")
    (root / "text").write_text("\n".join(text) + "\n")
    (root / "utt2spk").write_text("\n".join(utt2spk) + "\n")
    rows = read_speechocean(root)
    strings = [r for r in rows if r.label == DIGIT_STRING_LABEL]
    assert [(r.word, r.speaker) for r in strings] == [("zero three five one", "0001")]
    sentences = [r for r in rows if r.label == PASSAGE_LABEL]
    assert len(sentences) == 40 and {r.word for r in sentences} == {"tom gives up boxing"}
    assert {r.split for r in sentences} == {"train", "val", "test"}
    assert strings[0].split == next(r.split for r in sentences if r.speaker == "0001")  # by speaker
    with pytest.raises(DataError, match="nondigit"):
        read_speechocean(tmp_path)


def test_check_speaker_disjoint_catches_a_leak(tmp_path):
    from trainer.data.corpus import CorpusClip

    a = CorpusClip(tmp_path / "a.wav", "7", "seven", "s1", "sc", "train")
    b = CorpusClip(tmp_path / "b.wav", "3", "three", "s1", "sc", "test")
    with pytest.raises(DataError, match="sc/s1"):
        check_speaker_disjoint([a, b])
    # one person in two Speech Commands copies is one speaker
    c = CorpusClip(tmp_path / "c.wav", "7", "seven", "s2", "speech_commands", "train")
    d = CorpusClip(tmp_path / "d.flac", "8", "eight", "s2", "speech_commands_digits_extra", "test")
    with pytest.raises(DataError, match="speech_commands/s2"):
        check_speaker_disjoint([c, d])


# ---------------------------------------------------------------------------- augmentation
def test_augmentation_is_reproducible_and_varied(tmp_path):
    from trainer.data.augment import augment, build_chain, make_babble_bank

    speech = [(_wav(tmp_path / f"s{i}" / f"{j}.wav", 0.4, 22050, 200 + 50 * i + 7 * j), f"s{i}")
              for i in range(8) for j in range(2)]
    bank = make_babble_bank(speech, tmp_path / "babble", n_tracks=4, seed=0, duration_s=1.0)
    assert len(bank) == 4 and all(3 <= len(who) <= 7 for _, who in bank)
    written = {p: p.stat().st_mtime_ns for p, _ in bank}
    again = make_babble_bank(speech, tmp_path / "babble", n_tracks=4, seed=0, duration_s=1.0)
    assert [(p, w) for p, w in again] == [(p, w) for p, w in bank]  # the same tracks ...
    assert {p: p.stat().st_mtime_ns for p, _ in again} == written  # ... read from the cache, not rewritten
    noise = [_wav(tmp_path / "noise.wav", 2.0, 22050, 1000)]
    chain = build_chain(noise_files=noise, babble_files=[p for p, _ in bank])
    y = sf.read(speech[0][0], dtype="float32")[0]
    a, b, c = augment(y, chain, seed=1), augment(y, chain, seed=1), augment(y, chain, seed=2)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)
    assert np.all(np.isfinite(a)) and np.abs(a).max() <= 1.0



def test_faint_floor_and_quantization_reach_the_silence_between_words(tmp_path):
    """The faint floor (AddColorNoise 30-50 dB) and BitCrush: digital silence gets a floor, samples a bit grid."""
    import dataclasses

    from trainer.data.augment import DEFAULT_AUGMENT, augment, build_chain

    assert DEFAULT_AUGMENT.p_faint_noise > 0 and DEFAULT_AUGMENT.p_bit_crush > 0
    quiet = dataclasses.replace(DEFAULT_AUGMENT, p_noise=0.0, p_speed=0.0, p_pitch=0.0, p_microphone=0.0, p_room=0.0,
                                gain_dbfs_min=0.0, p_faint_noise=0.0, p_bit_crush=1.0, bit_depth_min=8, bit_depth_max=8,
                                segmenter_cut=False, max_lead_s=0.0, max_tail_s=0.0)
    tone = np.sin(2 * np.pi * 440 * np.arange(8820) / 22050).astype(np.float32)
    y = np.concatenate([np.zeros(4410, np.float32), tone, np.zeros(4410, np.float32)])
    crushed = augment(y, build_chain(noise_files=[], babble_files=[], settings=quiet), seed=0, settings=quiet)
    q = 2 ** 8 / 2 + 1  # audiomentations' BitCrush grid at 8 bits
    assert np.allclose(crushed * q, np.round(crushed * q), atol=1e-3)
    assert len(np.unique(np.round(crushed * q))) <= 2 * q + 1
    floor = dataclasses.replace(quiet, p_bit_crush=0.0, p_faint_noise=1.0)
    noisy = augment(y, build_chain(noise_files=[], babble_files=[], settings=floor), seed=0, settings=floor)
    lead = noisy[:4000]
    assert np.abs(lead).max() > 0  # the digital silence now has a floor ...
    level_db = 20 * np.log10(np.sqrt(np.mean(lead ** 2)) / np.sqrt(np.mean(noisy ** 2)))
    assert -60 < level_db < -25, level_db  # ... 30-50 dB under the clip

def test_generated_negatives_inherit_splits_and_labels(tmp_path, fsdd_dir):
    from trainer.data.corpus import CorpusClip, read_fsdd
    from trainer.data.negatives import make_negatives

    fsdd = [r for r in read_fsdd(fsdd_dir) if r.speaker == "theo" and r.label in ("1", "2")]
    noise = [CorpusClip(_wav(tmp_path / "n" / f"{s}.wav", 1.0, 22050, 900), NOISE_LABEL, NOISE_LABEL, "", "noise", s)
             for s in ("train", "test")]
    counts = {"train": {"reversed": 2, "two_digits": 2, "tone": 1, "noise_segment": 2},
              "test": {"reversed": 2, "chord": 1}}
    neg = make_negatives(fsdd + noise, tmp_path / "neg", counts=counts, seed=3)
    kinds = {(r.split, r.word) for r in neg}
    assert kinds == {("train", "reversed"), ("train", "two_digits"), ("train", "tone"), ("train", "noise_segment"),
                     ("test", "reversed"), ("test", "chord")}
    assert all(r.label == UNKNOWN_LABEL for r in neg if r.word in ("reversed", "two_digits"))
    assert all(r.label == SILENCE_LABEL for r in neg if r.word in ("tone", "chord", "noise_segment"))
    for r in neg:
        y, sr = sf.read(r.path)
        assert sr == 22050 and y.size > 0 and np.abs(y).max() > 0
    # a reversed test clip is a reversed FSDD *test* recording
    test_rev = sf.read(next(r.path for r in neg if r.split == "test" and r.word == "reversed"))[0]
    import librosa

    srcs = [librosa.load(str(r.path), sr=22050)[0][::-1] for r in fsdd if r.split == "test"]
    assert any(len(s) == len(test_rev) and np.allclose(s / np.abs(s).max(), test_rev / np.abs(test_rev).max(), atol=1e-4)
               for s in srcs)
    written = {r.path: r.path.stat().st_mtime_ns for r in neg}
    assert make_negatives(fsdd + noise, tmp_path / "neg", counts=counts, seed=3) == neg  # the same set ...
    assert {r.path: r.path.stat().st_mtime_ns for r in neg} == written  # ... read from the cache, not rewritten


def test_segmenter_window_cuts_the_loudest_utterance_as_the_recognizer_does():
    from trainer.data.augment import segmenter_window

    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(int(0.3 * sr)) / sr

    def burst(level_dbfs, f):
        return (10 ** (level_dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * f * t)).astype(np.float32)

    gap = lambda s: np.zeros(int(s * sr), np.float32)  # noqa: E731
    quiet, loud = burst(-32, 300), burst(-10, 700)
    z = np.concatenate([gap(0.4), quiet, gap(0.5), loud, gap(0.4)])
    z += (1e-4 * rng.standard_normal(z.size)).astype(np.float32)
    loud_start = int(0.4 * sr) + quiet.size + int(0.5 * sr)
    w = segmenter_window(z)
    assert w is not None and w.dtype == np.float32 and w.size <= 17640
    # the window is a slice of z: find where it starts
    starts = [s for s in range(z.size - w.size + 1) if np.array_equal(z[s:s + 64], w[:64])]
    assert len(starts) == 1 and np.array_equal(z[starts[0]:starts[0] + w.size], w)
    start = starts[0]
    # the loud burst, not the quiet one: from just before its onset (pre-roll, look-back) past its end
    assert loud_start - int(0.25 * sr) <= start <= loud_start
    assert start + w.size >= loud_start + loud.size
    # steady noise holds no utterance
    assert segmenter_window((0.1 * rng.standard_normal(3 * sr)).astype(np.float32)) is None


def test_speech_run_and_babble_negatives_come_from_words_of_their_own_split(tmp_path, caplog):
    from trainer.data.corpus import CorpusClip
    from trainer.data.negatives import make_negatives

    # "words": 0.25 s tones, 400-700 Hz for the train speakers, 2,000 Hz for the val speakers
    words = []
    for split, speakers, base in (("train", ("a", "b", "c"), 400), ("val", ("d", "e", "f"), 2000)):
        for i, spk in enumerate(speakers):
            for k in range(3):
                f = base + (100 * (i + k) if split == "train" else 0)
                words.append(CorpusClip(_wav(tmp_path / "w" / f"{spk}_{k}.wav", 0.25, 16000, f), UNKNOWN_LABEL,
                                        "word", spk, "synth", split))
    counts = {"train": {"speech_run": 6, "babble": 3}, "val": {"speech_run": 3}, "test": {"speech_run": 2}}
    with caplog.at_level("WARNING"):
        neg = make_negatives(words, tmp_path / "neg", counts=counts, seed=5)
    # the test split has no words: skipped with a warning, nothing invented
    assert "no speech_run negatives in the test split" in caplog.text
    assert sorted((r.split, r.word) for r in neg) == sorted(
        [("train", "speech_run")] * 6 + [("train", "babble")] * 3 + [("val", "speech_run")] * 3)
    assert all(r.label == UNKNOWN_LABEL and r.source == "generated" for r in neg)
    for r in neg:
        y, sr = sf.read(r.path, dtype="float32")
        # a classifier window: real samples of at most 0.8 s, more than the segmenter's minimum speech
        assert sr == 22050 and 0.1 * sr <= y.size <= 17640 and np.abs(y).max() > 0
        spectrum = np.abs(np.fft.rfft(y))
        peak_hz = np.argmax(spectrum) * sr / y.size
        if r.split == "val":
            assert abs(peak_hz - 2000) < 60, peak_hz  # only the val speakers' words
        else:
            assert 350 < peak_hz < 1000, peak_hz  # only the train speakers' words
    # a run of words holds more than one word: its clip is longer than any single 0.25 s word
    assert max(sf.info(str(r.path)).duration for r in neg if r.word == "speech_run") > 0.5


def _reading(path: Path, freq: float, seconds: float = 6.0, sr: int = 22050) -> Path:
    """Running 'speech': 0.2 s bursts at ``freq`` Hz, -10 dBFS, 0.25 s apart over a -45 dBFS murmur."""
    rng = np.random.default_rng(int(freq))
    t = np.arange(int(0.2 * sr)) / sr
    burst = (0.3 * np.sin(2 * np.pi * freq * t) * np.hanning(t.size)).astype(np.float32)
    parts = []
    while sum(p.size for p in parts) < seconds * sr:
        parts += [burst, np.zeros(int(0.25 * sr), np.float32)]
    y = np.concatenate(parts)
    y += (0.005 * rng.standard_normal(y.size)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr)
    return path


def test_passage_pieces_are_segmenter_windows_of_readings_of_their_own_split(tmp_path, caplog):
    from trainer.data.corpus import PASSAGE_LABEL, CorpusClip
    from trainer.data.negatives import make_negatives

    rows = [CorpusClip(_reading(tmp_path / "p" / "a.wav", 500.0), PASSAGE_LABEL, "passage", "a", "synth", "train"),
            CorpusClip(_reading(tmp_path / "p" / "b.wav", 2000.0), PASSAGE_LABEL, "passage", "b", "synth", "val")]
    counts = {"train": {"passage_piece": 8}, "val": {"passage_piece": 4}, "test": {"passage_piece": 2}}
    with caplog.at_level("WARNING"):
        neg = make_negatives(rows, tmp_path / "neg", counts=counts, seed=3)
    assert "no passage_piece negatives in the test split" in caplog.text
    assert sorted((r.split, r.word, r.label) for r in neg) == sorted(
        [("train", "passage_piece", UNKNOWN_LABEL)] * 8 + [("val", "passage_piece", UNKNOWN_LABEL)] * 4)
    for r in neg:
        y, sr = sf.read(r.path, dtype="float32")
        # one burst with the segmenter's pre-/post-roll, not the whole reading and not a fixed cut
        assert sr == 22050 and 0.2 * sr <= y.size <= 0.5 * sr, y.size / sr
        peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * sr / y.size
        assert abs(peak_hz - (500.0 if r.split == "train" else 2000.0)) < 60, (r.split, peak_hz)
    # 8 pieces of a 6 s reading of ~13 bursts: distinct windows, not one piece repeated
    assert len({sf.read(r.path)[0].tobytes() for r in neg if r.split == "train"}) == 8


def test_real_speech_pieces_come_from_real_sentences_only(tmp_path):
    from trainer.data.corpus import PASSAGE_LABEL, CorpusClip
    from trainer.data.negatives import make_negatives

    rows = [CorpusClip(_reading(tmp_path / "p" / "tts.wav", 500.0), PASSAGE_LABEL, "passage", "a", "synth", "train"),
            CorpusClip(_reading(tmp_path / "p" / "real.flac", 2000.0), PASSAGE_LABEL, "tom gives up", "0001",
                       "speechocean762", "train")]
    counts = {"train": {"passage_piece": 4, "real_speech_piece": 4}}
    neg = make_negatives(rows, tmp_path / "neg", counts=counts, seed=3)
    assert sorted(r.word for r in neg) == ["passage_piece"] * 4 + ["real_speech_piece"] * 4
    for r in neg:
        y, sr = sf.read(r.path, dtype="float32")
        peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * sr / y.size
        assert abs(peak_hz - (2000.0 if r.word == "real_speech_piece" else 500.0)) < 60, (r.word, peak_hz)


def test_real_speech_words_are_the_stretches_between_pauses_of_real_sentences(tmp_path):
    """A fluent real reading is one utterance to the segmenter, but each of its words is a piece."""
    from trainer.data.augment import segmenter_utterances
    from trainer.data.corpus import PASSAGE_LABEL, CorpusClip
    from trainer.data.negatives import make_negatives

    sr = 22050
    rng = np.random.default_rng(5)
    t = np.arange(int(0.2 * sr)) / sr
    words = []
    for k in range(5):  # 5 "words" of different pitch, 60 ms apart: shorter than the segmenter's hangover
        words += [(0.3 * np.sin(2 * np.pi * (1000.0 + 150 * k) * t) * np.hanning(t.size)).astype(np.float32),
                  np.zeros(int(0.06 * sr), np.float32)]
    y = np.concatenate([np.zeros(int(0.5 * sr), np.float32)] + words + [np.zeros(int(0.5 * sr), np.float32)])
    y += (0.0005 * rng.standard_normal(y.size)).astype(np.float32)
    (tmp_path / "p").mkdir()
    sf.write(tmp_path / "p" / "real.flac", y, sr)
    sf.write(tmp_path / "p" / "tts.wav", y[::-1].copy(), sr)
    assert len(segmenter_utterances(y)) == 1
    rows = [CorpusClip(tmp_path / "p" / "real.flac", PASSAGE_LABEL, "tom gives up", "0001", "speechocean762", "train"),
            CorpusClip(tmp_path / "p" / "tts.wav", PASSAGE_LABEL, "passage", "a", "synth", "train")]
    neg = make_negatives(rows, tmp_path / "neg", counts={"train": {"real_speech_word": 5}}, seed=3)
    assert [r.word for r in neg] == ["real_speech_word"] * 5 and {r.label for r in neg} == {UNKNOWN_LABEL}
    pitches = set()
    for r in neg:
        z, _ = sf.read(r.path, dtype="float32")
        assert 0.18 * sr <= z.size <= 0.25 * sr, z.size / sr  # one word and the pre-roll, not the sentence
        pitches.add(int(round(np.argmax(np.abs(np.fft.rfft(z))) * sr / z.size / 50.0)) * 50)
    assert pitches == {1000 + 150 * k for k in range(5)}, pitches  # every word once, of the real reading


def test_real_digit_copies_even_out_uneven_words():
    from trainer.data.corpus import CorpusClip
    from trainer.recipes.deploy import DeploySettings, copies_of

    st = DeploySettings(real_digit_copies=12, real_digit_log_mels_per_class=2400, digit_copies=6)
    eight = CorpusClip(Path("e.flac"), "8", "eight", "s", "speech_commands_digits_extra", "train")
    two = CorpusClip(Path("t.wav"), "2", "two", "s", "speech_commands_digits", "train")
    fsdd = CorpusClip(Path("f.wav"), "2", "two", "jackson", "fsdd", "train")
    assert copies_of(eight, "train", st, 700) == 4  # ceil(2400 / 700): 2,800 real log-mels of eight ...
    assert copies_of(two, "train", st, 10) == 12    # ... the cap for a rare word
    assert copies_of(fsdd, "train", st, 10) == 6 and copies_of(eight, "val", st, 700) == st.val_copies
    assert copies_of(eight, "train", st, 5000) == 1


def test_read_synth_reads_training_passages_with_their_voices_split(tmp_path):
    from trainer.data.corpus import PASSAGE_LABEL

    root = tmp_path / "synth"
    _wav(root / "seven" / "espeak-en+m1_nohash_0.wav")
    _wav(root / "seven" / "espeak-en+f4_nohash_0.wav")
    _reading(root / "train_passages" / "espeak-en+m1.wav", 500.0, seconds=1.0)
    (root / "manifest.csv").write_text("path,word,speaker,split\nseven/espeak-en+m1_nohash_0.wav,seven,espeak-en+m1,train\n"
                                       "seven/espeak-en+f4_nohash_0.wav,seven,espeak-en+f4,test\n")
    (root / "train_passages.csv").write_text("path,speaker,duration_s\ntrain_passages/espeak-en+m1.wav,espeak-en+m1,1.0\n")
    rows = read_synth(root)
    passage = [r for r in rows if r.label == PASSAGE_LABEL]
    word = next(r for r in rows if r.speaker == "espeak-en+m1" and r.label == "7")
    assert len(passage) == 1 and passage[0].split == word.split and passage[0].path.name == "espeak-en+m1.wav"
    check_speaker_disjoint(rows)
    # a held-out voice's reading is never training material
    (root / "train_passages.csv").write_text("path,speaker,duration_s\ntrain_passages/espeak-en+f4.wav,espeak-en+f4,1.0\n")
    with pytest.raises(DataError, match="held-out voice"):
        read_synth(root)


def test_read_synth_reads_digit_strings_in_their_voices_split(tmp_path):
    from trainer.data.corpus import DIGIT_STRING_LABEL

    root = tmp_path / "synth"
    for name in ("seven/espeak-en+m1_nohash_0.wav", "seven/espeak-en+f4_nohash_0.wav", "strings/espeak-en+m1_nohash_0.wav",
                 "strings/espeak-en+f4_nohash_0.wav"):
        _wav(root / name)
    (root / "manifest.csv").write_text("path,word,speaker,split\nseven/espeak-en+m1_nohash_0.wav,seven,espeak-en+m1,train\n"
                                       "seven/espeak-en+f4_nohash_0.wav,seven,espeak-en+f4,test\n")
    (root / "strings.csv").write_text("path,speaker,digits,text,rate,pitch,split\n"
                                      "strings/espeak-en+m1_nohash_0.wav,espeak-en+m1,4102,four one oh two,160,50,train\n"
                                      "strings/espeak-en+f4_nohash_0.wav,espeak-en+f4,37,three seven,120,30,test\n")
    rows = read_synth(root)
    strings = {r.speaker: r for r in rows if r.label == DIGIT_STRING_LABEL}
    words = {r.speaker: r for r in rows if r.label == "7"}
    assert strings["espeak-en+m1"].word == "four one oh two" and strings["espeak-en+m1"].source == "synth"
    assert strings["espeak-en+m1"].split == words["espeak-en+m1"].split
    assert strings["espeak-en+f4"].split == "test" and not strings["espeak-en+f4"].is_digit
    check_speaker_disjoint(rows)


# ---------------------------------------------------------------------------- calibration
def test_temperature_fit_recovers_a_known_temperature():
    from trainer.recipes.deploy import expected_calibration_error, fit_temperature, softmax

    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 5)) * 2.0
    labels = np.array([rng.choice(5, p=p) for p in softmax(true_logits)])
    t = fit_temperature(true_logits * 3.0, labels)  # over-confident by 3x
    assert t == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(softmax(true_logits * 3.0), labels)
    after = expected_calibration_error(softmax(true_logits * 3.0, t), labels)
    assert after < before and after < 0.03


def test_expected_calibration_error_of_known_cases():
    from trainer.recipes.deploy import expected_calibration_error

    p = np.array([[0.9, 0.1]] * 10)
    assert expected_calibration_error(p, np.array([0] * 9 + [1])) == pytest.approx(0.0, abs=1e-9)
    assert expected_calibration_error(p, np.array([1] * 10)) == pytest.approx(0.9)


def test_threshold_meets_the_false_accept_target():
    from trainer.recipes.deploy import choose_threshold

    # 3 classes: digits 0, 1 and a negative class 2; negatives' top digit confidences 0.55..0.95
    conf = np.linspace(0.55, 0.95, 100)
    p_neg = np.stack([conf, 1 - conf, np.zeros_like(conf)], axis=1)
    labels = np.full(100, 2)
    thr = choose_threshold(p_neg, labels, digit_classes=2, target_fa=0.1)
    accepted = np.mean(conf >= thr)
    assert accepted <= 0.1 and np.mean(conf >= thr - 0.01) > 0.1
