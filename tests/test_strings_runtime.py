"""The edge path of digit strings without a model: the whole-utterance front end, the segmenter's
utterance audio, and the recognizer's route (long utterances to the string model)."""
from __future__ import annotations

import numpy as np
import pytest

from realtime import constants as C
from realtime.bundle import DEFAULT_BUNDLE, load_bundle
from realtime.ctc import CtcToken
from realtime.frontend import FrontEnd
from realtime.pipeline import Recognizer, iter_blocks, run_blocks
from realtime.strings import StringReading

RATE_HZ = 22050
WINDOW = 17640
LABELS = tuple(str(d) for d in range(10))


def syllables(n: int, *, on_s: float = 0.25, off_s: float = 0.03, seed: int = 0) -> np.ndarray:
    """``n`` tone bursts with short gaps (shorter than the hangover): one utterance of connected "digits"."""
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(0.8 * RATE_HZ), np.float32)]
    for i in range(n):
        t = np.arange(int(on_s * RATE_HZ)) / RATE_HZ
        parts.append((0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32))
        parts.append(np.zeros(int(off_s * RATE_HZ), np.float32))
    parts.append(np.zeros(int(0.8 * RATE_HZ), np.float32))
    x = np.concatenate(parts)
    return x + (rng.standard_normal(x.size) * 10 ** (-65 / 20)).astype(np.float32)


def sure_classify(window):
    p = np.full(10, 0.01, np.float32)
    p[7] = 0.91
    return p


def test_whole_utterance_log_mel_is_the_training_front_end():
    from trainer.data.strings import string_log_mel

    fe = FrontEnd.from_bundle(load_bundle(DEFAULT_BUNDLE))
    y = syllables(5)
    got = fe.log_mel_utterance(y)
    assert got.shape == (64, fe.utterance_frames(y.size)) == string_log_mel(y).shape
    np.testing.assert_allclose(got, string_log_mel(y), atol=1e-3)
    # one window through either method is the same computation
    w = y[:WINDOW]
    np.testing.assert_allclose(fe.log_mel_utterance(w), fe.log_mel(w), atol=1e-5)
    with pytest.raises(ValueError, match="non-empty mono"):
        fe.log_mel_utterance(np.zeros(0, np.float32))


def test_long_utterances_go_to_the_string_model_whole_and_short_ones_to_the_classifier():
    read = []

    def read_string(audio):
        read.append(audio.copy())
        tokens = (CtcToken("4", 10, 12, 0.97), CtcToken("1", 20, 22, 0.88))
        return StringReading("41", tokens, 0.88, 512 * 2 / RATE_HZ)

    x = np.concatenate([syllables(8), syllables(1, seed=1)])  # a 2.2 s "string", then one short "digit"
    rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                     read_string=read_string, string_min_speech_ms=800.0, string_threshold=0.8,
                     initial_floor_dbfs=-65.0)
    decisions = list(run_blocks(rec, iter_blocks(x, 1024)))
    assert [d.label for d in decisions] == ["41", "7"]
    s, d = decisions
    assert s.is_string and s.digits == "41" and s.digit is None and s.symbol == "41"
    assert not d.is_string and d.digits == "7" and d.digit == 7
    # the string model got the whole utterance (8 x 0.28 s) with its rolls, not a 0.8 s window
    assert len(read) == 1 and 8 * 0.28 - 0.05 < read[0].size / RATE_HZ < 8 * 0.28 + 0.3
    u = s.utterance
    np.testing.assert_array_equal(read[0], x[u.audio_start_sample: u.audio_start_sample + read[0].size])
    doc = s.to_json(LABELS)
    assert doc["kind"] == "string" and doc["digits"] == "41" and doc["digit"] is None and doc["probabilities"] == {}
    offset = u.audio_start_sample / RATE_HZ
    assert [t["digit"] for t in doc["digit_times"]] == ["4", "1"]
    assert doc["digit_times"][0]["start_s"] == pytest.approx(offset + 10 * 1024 / RATE_HZ, abs=1e-3)
    assert doc["digit_times"][1]["confidence"] == 0.88
    assert d.to_json(LABELS)["kind"] == "digit" and d.to_json(LABELS)["digits"] == "7"


def test_an_unsure_or_empty_string_is_unknown():
    for digits, conf in (("41", 0.5), ("", 1.0)):
        tokens = tuple(CtcToken(c, 0, 1, conf) for c in digits)
        rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                         read_string=lambda a, t=tokens, s=digits, c=conf: StringReading(s, t, c, 0.046),
                         string_threshold=0.8, initial_floor_dbfs=-65.0)
        (d,) = run_blocks(rec, iter_blocks(syllables(6), 4096))
        assert d.label == "_unknown_" and d.symbol == "?" and d.digits == "" and d.is_string


def test_without_a_string_model_long_utterances_are_dropped_as_before():
    rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                     initial_floor_dbfs=-65.0)
    assert syllables(8).size / RATE_HZ - 1.6 > C.MAX_SPEECH_MS / 1000
    assert list(run_blocks(rec, iter_blocks(syllables(8), 1024))) == []
    # with one, an utterance up to STRING_MAX_SPEECH_MS is kept; a longer one is still dropped
    got = []
    rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                     read_string=lambda a: got.append(a) or StringReading("", (), 1.0, 0.046),
                     initial_floor_dbfs=-65.0)
    list(run_blocks(rec, iter_blocks(np.concatenate([syllables(20), syllables(40, seed=2)]), 4096)))
    assert len(got) == 1 and got[0].size / RATE_HZ == pytest.approx(20 * 0.28 + 0.1, abs=0.15)


def test_the_default_bundle_reads_fsdd_test_digits_said_without_pauses(fsdd_dir):
    """The shipped bundle reads strings by default: four FSDD official-test digits of one speaker
    joined with -50..+100 ms gaps are read as one string; the window classifier alone
    (``--no-strings``) reads almost none of them whole (one utterance, one window)."""
    from realtime.bundle import load_bundle, packaged_bundle_names
    from realtime.classifier import Classifier
    from realtime.strings import recognizer_options
    from realtime.pipeline import recognize_samples
    from trainer.data.fsdd import load_audio
    from trainer.data.strings import assemble_string

    assert "default" in packaged_bundle_names() and load_bundle("default").strings is not None
    clf = Classifier("default")
    options = recognizer_options(clf)
    rng = np.random.default_rng(0)
    speakers = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
    with_strings = alone = 0
    for i in range(20):
        digits = "".join(str(d) for d in rng.integers(0, 10, 4))
        clips = [load_audio(fsdd_dir / f"{d}_{speakers[i % 6]}_{int(rng.integers(0, 5))}.wav") for d in digits]
        s = assemble_string(clips, digits, sample_rate_hz=RATE_HZ, rng=rng, gap_ms=(-50.0, 100.0))
        y = np.concatenate([np.zeros(RATE_HZ // 2, np.float32), s.audio, np.zeros(RATE_HZ // 2, np.float32)])
        run = dict(model_rate_hz=RATE_HZ, window_samples=clf.window_samples, labels=clf.labels,
                   threshold=clf.bundle.threshold)
        with_strings += "".join(d.digits for d in recognize_samples(y, RATE_HZ, clf.predict, **run, **options)) == digits
        alone += "".join(d.digits for d in recognize_samples(y, RATE_HZ, clf.predict, **run)) == digits
    assert with_strings >= 12 and alone <= 2, (with_strings, alone)


def test_the_classifier_decides_what_the_string_model_does_not_claim():
    from realtime.pipeline import string_accepted

    # the rule: not empty, least sure digit >= threshold, at least min_digits_per_s digits per second of speech
    assert string_accepted("41", 0.9, 1500.0, threshold=0.5, min_digits_per_s=1.0)
    assert not string_accepted("41", 0.4, 1500.0, threshold=0.5, min_digits_per_s=1.0)
    assert not string_accepted("41", 0.9, 2500.0, threshold=0.5, min_digits_per_s=1.0)  # 0.8 digits/s
    assert not string_accepted("", 1.0, 900.0, threshold=None)

    def one_digit(audio):
        return StringReading("3", (CtcToken("3", 5, 7, 0.99),), 0.99, 0.046)

    # a 1.1 s utterance read as one digit: the window classifier decides (its "7"), as without a string model
    rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                     read_string=one_digit, string_min_speech_ms=800.0, string_threshold=0.5,
                     initial_floor_dbfs=-65.0)
    (d,) = run_blocks(rec, iter_blocks(syllables(4), 4096))
    assert 800 < d.utterance.speech_ms < C.MAX_SPEECH_MS
    assert not d.is_string and d.label == "7" and d.reading is not None and d.reading.digits == "3"
    # over 1.5 s the classifier never decides: the string model's reading stands (here rejected by the rate rule)
    rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                     read_string=one_digit, string_threshold=0.5, string_min_digits_per_s=1.0,
                     initial_floor_dbfs=-65.0)
    (d,) = run_blocks(rec, iter_blocks(syllables(8), 4096))
    assert d.utterance.speech_ms > C.MAX_SPEECH_MS and d.is_string and d.label == "_unknown_"


def test_bench_strings_times_the_string_model_per_utterance_length():
    from realtime.bench_strings import bench_strings, burst_string
    from realtime.bundle import find_bundle_json
    from realtime.errors import BundleError

    y = burst_string(2.0, 22050)
    assert y.shape == (44100,) and y.dtype == np.float32 and 0.4 < np.abs(y).max() < 0.52
    res = bench_strings(find_bundle_json("default"), interpreters=["ai_edge_litert"], lengths_s=(1.0, 8.0, 20.0),
                        repeats=2)
    assert res["kb"] > 10 and [r["interpreter"] for r in res["rows"]] == ["ai_edge_litert"] * 3
    # 20 s is longer than the model reads: it is timed at the model's longest utterance (8 s)
    assert [r["seconds"] for r in res["rows"]] == pytest.approx([1.0, 8.0, 8.0], abs=0.02)
    assert all(r["model_ms"] > 0 and r["total_ms"] >= r["model_ms"] for r in res["rows"])
    with pytest.raises(BundleError, match="no digit-string model"):
        bench_strings(bundle_without_strings())


def bundle_without_strings():
    """The shipped bundle as it was before it had a string model (its JSON without ``strings``)."""
    import dataclasses

    return dataclasses.replace(load_bundle(DEFAULT_BUNDLE), strings=None)


def test_the_string_model_confirms_an_unsure_digit_only_when_it_reads_the_same_one():
    # the window classifier is unsure of its "7" (0.91 < threshold 0.95); a short (0.5 s) utterance
    def reads(digits, conf):
        return lambda audio: StringReading(digits, tuple(CtcToken(c, 0, 1, conf) for c in digits), conf, 0.046)

    def run(read_string, **kw):
        rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.95,
                         read_string=read_string, initial_floor_dbfs=-65.0, **kw)
        (d,) = run_blocks(rec, iter_blocks(syllables(2), 4096))
        return d

    confirm = {"string_confirm_threshold": 0.8, "string_confirm_string_threshold": 0.9}
    d = run(reads("7", 0.97), **confirm)
    assert d.utterance.speech_ms < 800 and d.confirmed and d.label == "7" and d.digit == 7 and not d.is_string
    assert d.to_json(LABELS)["confirmed"] is True and d.reading.digits == "7"
    assert run(reads("7", 0.97)).label == "_unknown_"  # no confirmation rule: as before
    for other in (reads("1", 0.97), reads("7", 0.85), reads("77", 0.97), reads("", 1.0)):  # another, unsure, two, none
        d = run(other, **confirm)
        assert not d.confirmed and d.label == "_unknown_"
    d = run(reads("7", 0.97), string_confirm_threshold=0.95)  # the classifier's 0.91 is under the confirm threshold
    assert not d.confirmed and d.reading is None and d.label == "_unknown_"
    # a digit the length gate rejects is never confirmed
    rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.95,
                     read_string=reads("7", 0.97), initial_floor_dbfs=-65.0, min_digit_speech_ms=2000.0, **confirm)
    (d,) = run_blocks(rec, iter_blocks(syllables(2), 4096))
    assert not d.confirmed and d.label == "_unknown_"
    with pytest.raises(ValueError, match="string_confirm_threshold"):
        Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS,
                   read_string=reads("7", 0.97), string_confirm_threshold=1.5)


def test_the_string_model_vetoes_a_sure_window_digit_it_did_not_hear():
    # the window classifier accepts its "7" (0.91 >= 0.5); a short (0.5 s) utterance
    def reads(digits, peak7):
        peaks = tuple((str(k), peak7 if k == 7 else 0.001) for k in range(10))
        tokens = tuple(CtcToken(c, 0, 1, 0.97) for c in digits)
        return lambda audio: StringReading(digits, tokens, 0.97 if digits else 1.0, 0.046, peaks=peaks)

    def run(read_string, **kw):
        rec = Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                         read_string=read_string, initial_floor_dbfs=-65.0, **kw)
        (d,) = run_blocks(rec, iter_blocks(syllables(2), 4096))
        return d

    d = run(reads("", 0.01), string_veto_threshold=0.05)
    assert d.vetoed and d.label == "_unknown_" and d.top_label == "7" and not d.accepted
    assert d.to_json(LABELS)["vetoed"] is True and d.reading.peak("7") == 0.01
    assert run(reads("", 0.01)).label == "7"  # no veto rule: as before
    # the level gate: the veto only where the speech peaks far enough over the noise floor
    level = d.utterance.peak_over_floor_db
    assert 20.0 < level < 120.0
    assert run(reads("", 0.01), string_veto_threshold=0.05, string_veto_min_peak_over_floor_db=level - 1).vetoed
    d = run(reads("", 0.01), string_veto_threshold=0.05, string_veto_min_peak_over_floor_db=level + 1)
    assert not d.vetoed and d.label == "7"
    d = run(reads("", 0.2), string_veto_threshold=0.05)  # the string model half heard a 7: it stands
    assert not d.vetoed and d.label == "7" and d.to_json(LABELS)["vetoed"] is False
    # a reading without posteriors (peak unknown) vetoes nothing; a confirmed digit is never vetoed
    no_peaks = lambda audio: StringReading("", (), 1.0, 0.046)  # noqa: E731
    assert run(no_peaks, string_veto_threshold=0.5).label == "7" and no_peaks(None).peak("7") is None
    d = run(reads("7", 0.3), string_veto_threshold=0.5, string_confirm_threshold=0.8,
            string_confirm_string_threshold=0.0)
    assert d.confirmed and not d.vetoed and d.label == "7"
    with pytest.raises(ValueError, match="string_veto_threshold"):
        Recognizer(sure_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS,
                   read_string=no_peaks, string_veto_threshold=-0.1)


def test_the_string_reader_records_how_much_it_heard_each_digit():
    from realtime.strings import StringReader

    reader = StringReader(DEFAULT_BUNDLE)
    rng = np.random.default_rng(0)
    reading = reader.read((0.05 * rng.standard_normal(RATE_HZ)).astype(np.float32))
    assert [name for name, _ in reading.peaks] == [str(k) for k in range(10)]  # every label but the blank
    assert all(0.0 <= p <= 1.0 for _, p in reading.peaks)
    for token in reading.tokens:  # a digit read peaks at least at its own confidence
        assert reading.peak(token.label) >= token.confidence - 1e-4
    assert reading.peak("_blank_") is None


def test_a_threshold_stricter_than_the_bundles_turns_confirmation_off():
    import dataclasses

    from realtime.strings import confirms_at

    bundle = load_bundle(DEFAULT_BUNDLE)
    assert bundle.strings.confirm_threshold is not None  # the shipped bundle confirms unsure digits
    assert confirms_at(bundle, None) and confirms_at(bundle, bundle.threshold) and confirms_at(bundle, 0.5)
    assert not confirms_at(bundle, bundle.threshold + 0.01) and not confirms_at(bundle, 1.0)
    plain = dataclasses.replace(bundle, strings=dataclasses.replace(bundle.strings, confirm_threshold=None))
    assert not confirms_at(plain, None)
