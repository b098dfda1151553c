"""The streaming segmenter and the shared pipeline, without a model (a fake classifier)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realtime import constants as C
from realtime.audiofile import StreamResampler, read_wav, resample
from realtime.pipeline import Recognizer, iter_blocks, recognize_samples, run_blocks
from realtime.segmenter import Segmenter, SegmenterConfig, frame_levels_dbfs, loudest_window_offset

RATE_HZ = 22050
WINDOW = 17640
LABELS = tuple(str(d) for d in range(10))
BLOCK_SIZES = (256, 1024, 4096)
#: Tolerance for resampled audio (full scale 1.0): 1e-6 is -120 dBFS, 1/30 of a 16-bit step. Streamed
#: and whole-signal soxr are different calls (float rounding may differ by CPU and chunking); a
#: misaligned block boundary, a lost or repeated sample or another filter quality is >= 1e-4 off.
RESAMPLE_ATOL = 1e-6


def fake_classify(window: np.ndarray) -> np.ndarray:
    """Deterministic 'probabilities' that depend on every sample of the window."""
    assert window.shape == (WINDOW,) and window.dtype == np.float32
    energy = np.square(window.astype(np.float64)).reshape(-1, 1764).sum(axis=1)  # 10 bands of time
    p = energy + 1e-9
    return (p / p.sum()).astype(np.float32)


def silence(seconds: float, rate: int = RATE_HZ) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)), np.float32)


def noise(seconds: float, dbfs: float, seed: int = 0, rate: int = RATE_HZ) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(round(seconds * rate))) * 10 ** (dbfs / 20)).astype(np.float32)


def clip(fsdd_dir, name: str, rate: int = RATE_HZ) -> np.ndarray:
    y, r = read_wav(fsdd_dir / f"{name}.wav")
    return resample(y, r, rate)


CLIPS = ("4_george_0", "1_jackson_1", "7_lucas_2", "0_nicolas_3", "9_theo_4", "2_yweweler_0")


@pytest.fixture(scope="module")
def stream(fsdd_dir) -> tuple[np.ndarray, list[int]]:
    """Six FSDD official-test clips in low noise (-65 dBFS), 0.5 s apart; returns (stream, clip starts)."""
    parts, starts, pos = [], [], 0
    for i, name in enumerate(CLIPS):
        gap = silence(1.0 if i == 0 else 0.5)
        parts += [gap, clip(fsdd_dir, name)]
        starts.append(pos + gap.size)
        pos += gap.size + parts[-1].size
    parts.append(silence(0.6))
    x = np.concatenate(parts)
    return x + noise(x.size / RATE_HZ, -65.0, seed=1)[: x.size], starts


def segment(x: np.ndarray, block: int, **kw):
    seg = Segmenter(SegmenterConfig(sample_rate_hz=RATE_HZ, window_samples=WINDOW), **kw)
    out = []
    for b in iter_blocks(x, block):
        out += seg.push(b)
    return out + seg.flush()


def test_one_utterance_per_digit_near_its_clip(stream):
    x, starts = stream
    utts = segment(x, 1024)
    assert len(utts) == len(CLIPS)
    for u, s in zip(utts, starts):
        # The window starts at most the pre-roll before the clip, and not after its first 0.3 s.
        assert s - int(C.PRE_ROLL_MS * RATE_HZ / 1000) - 220 <= u.start_sample <= s + int(0.3 * RATE_HZ)
        assert 0 < u.n_samples <= WINDOW
        assert u.end_sample <= u.detected_at_sample


@pytest.mark.parametrize("block", BLOCK_SIZES[1:])
def test_segmenter_block_size_invariance(stream, block):
    x, _ = stream
    ref = segment(x, BLOCK_SIZES[0])
    got = segment(x, block)
    assert [(u.start_sample, u.end_sample, u.detected_at_sample, u.n_samples) for u in got] == \
           [(u.start_sample, u.end_sample, u.detected_at_sample, u.n_samples) for u in ref]
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a.window, b.window)


def test_pipeline_block_size_invariance_with_resampling(stream):
    """Same decisions at a 48 kHz capture rate whatever the block size (streaming soxr)."""
    x, _ = stream
    x48 = resample(x, RATE_HZ, 48000)
    results = []
    for block in BLOCK_SIZES:
        rec = Recognizer(fake_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS,
                         threshold=0.2, input_rate_hz=48000)
        results.append(list(run_blocks(rec, iter_blocks(x48, block))))
    assert len(results[0]) == len(CLIPS)
    for got in results[1:]:
        # the same utterances (sample indices) and labels ...
        assert [(d.utterance.start_sample, d.utterance.end_sample, d.label) for d in got] == \
               [(d.utterance.start_sample, d.utterance.end_sample, d.label) for d in results[0]]
        # ... from the same resampled windows: probabilities (float32 energy shares) within rounding
        for a, b in zip(got, results[0]):
            np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-5, atol=1e-7)


def test_stream_resampler_equals_whole_signal_resampling():
    x = noise(1.3, -20.0, seed=3, rate=44100)
    whole = resample(x, 44100, RATE_HZ)
    r = StreamResampler(44100, RATE_HZ)
    parts = [r.process(b) for b in iter_blocks(x, 777)] + [r.process(np.zeros(0, np.float32), last=True)]
    got = np.concatenate(parts)
    assert got.shape == whole.shape  # no sample lost or repeated at the 777-sample block boundaries
    np.testing.assert_allclose(got, whole, rtol=0, atol=RESAMPLE_ATOL)


@pytest.mark.parametrize("signal", [
    pytest.param(lambda: silence(6.0), id="digital-silence"),
    pytest.param(lambda: noise(6.0, -60.0), id="quiet-white-noise"),
    pytest.param(lambda: noise(6.0, -20.0), id="loud-white-noise"),
    pytest.param(lambda: noise(6.0, -3.0), id="very-loud-white-noise"),
    pytest.param(lambda: np.concatenate([noise(2.0, -70.0), noise(8.0, -25.0, seed=2)]), id="noise-switched-on"),
    pytest.param(lambda: np.concatenate([silence(1.0), 0.3 * np.sin(2 * np.pi * 100 * np.arange(5 * RATE_HZ)
                                                              / RATE_HZ).astype(np.float32)]), id="steady-hum"),
])
@pytest.mark.parametrize("block", BLOCK_SIZES)
def test_silence_and_steady_noise_give_no_decision(signal, block):
    rec = Recognizer(fake_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.0)
    assert list(run_blocks(rec, iter_blocks(signal(), block))) == []


def test_clicks_give_no_decision():
    x = noise(6.0, -60.0)
    for t_s in (1.0, 2.0, 2.05, 3.5, 5.0):  # single-sample clicks and a double click
        x[int(t_s * RATE_HZ)] = 0.9
    x[int(4.2 * RATE_HZ): int(4.2 * RATE_HZ) + 200] = 0.5  # a 9 ms bump
    rec = Recognizer(fake_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.0)
    assert list(run_blocks(rec, iter_blocks(x, 1024))) == []


def test_digits_separated_by_300_ms_come_out_separately(fsdd_dir):
    a, b, c = (clip(fsdd_dir, n) for n in ("3_jackson_0", "8_theo_1", "6_george_2"))
    gap = noise(0.3, -65.0, seed=5)
    x = np.concatenate([noise(1.0, -65.0, seed=4), a, gap, b, gap, c, noise(0.5, -65.0, seed=6)])
    assert len(segment(x, 1024)) == 3


def test_onset_looks_back_over_a_quiet_burst():
    """A plosive burst above the offset but below the onset threshold stays in the window ("two")."""
    floor_db = -60.0
    burst = noise(0.06, floor_db + 9.0, seed=7)  # 9 dB over the floor: active, but no onset
    t = np.arange(int(0.4 * RATE_HZ)) / RATE_HZ
    vowel = (0.2 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    x = np.concatenate([noise(1.0, floor_db), burst, vowel + noise(0.4, floor_db, seed=8), noise(1.0, floor_db, 9)])
    (u,) = segment(x, 1024)
    burst_start = RATE_HZ
    assert abs(u.speech_start_sample - burst_start) <= 220  # within a frame of the burst, not at the vowel
    assert u.start_sample == u.speech_start_sample - round(C.PRE_ROLL_MS * RATE_HZ / 1000)


def test_long_utterance_is_cut_to_one_window():
    t = np.arange(int(1.2 * RATE_HZ)) / RATE_HZ
    vowel = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    x = np.concatenate([noise(1.0, -60.0), vowel + noise(1.2, -60.0, seed=1), noise(1.0, -60.0, seed=2)])
    (u,) = segment(x, 4096)
    assert u.n_samples == WINDOW
    assert u.end_sample - u.speech_start_sample > WINDOW  # the utterance itself was longer
    np.testing.assert_array_equal(u.window, x[u.start_sample: u.start_sample + WINDOW])


def test_long_utterance_gets_its_loudest_window():
    """Quieter speech-like sound runs into a louder word: the window holds the word, not the
    first 0.8 s of the utterance (a digit after babble opened the utterance)."""
    t = np.arange(int(0.7 * RATE_HZ)) / RATE_HZ
    lead = (0.02 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)  # -37 dBFS, 0.7 s
    t = np.arange(int(0.5 * RATE_HZ)) / RATE_HZ
    word = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)  # -13 dBFS, 0.5 s
    x = np.concatenate([noise(1.0, -60.0), lead, word, noise(1.0, -60.0, seed=2)])
    x[RATE_HZ: RATE_HZ + lead.size + word.size] += noise(1.2, -60.0, seed=1)[: lead.size + word.size]
    word_start, word_end = RATE_HZ + lead.size, RATE_HZ + lead.size + word.size
    (u,) = segment(x, 1024)
    assert u.speech_start_sample <= RATE_HZ + 220  # the utterance starts with the quiet lead
    assert u.n_samples == WINDOW
    assert u.start_sample <= word_start and u.start_sample + WINDOW >= word_end  # the whole word is in
    np.testing.assert_array_equal(u.window, x[u.start_sample: u.start_sample + WINDOW])


def test_loudest_window_offset():
    span = np.zeros(1000, np.float32)
    span[700:760] = 1.0
    assert loudest_window_offset(span, 100, 10) == 660  # the earliest window holding all of it
    assert loudest_window_offset(span, 1000, 10) == 0
    span[995:] = 5.0  # the last possible start is a candidate though not on the step grid
    assert loudest_window_offset(span, 7, 10) == 993
    assert loudest_window_offset(np.ones(50, np.float32) + 3.0, 10, 5) == 0  # DC adds nothing: a tie
    with pytest.raises(ValueError):
        loudest_window_offset(span, 1001, 10)
    with pytest.raises(ValueError):
        loudest_window_offset(span, 100, 0)


def test_window_padding_equals_trainer_padding(stream):
    """A segmented utterance is left-aligned and zero-padded exactly as trainer.data.fsdd.pad_and_mask."""
    from trainer.data.fsdd import pad_and_mask

    x, _ = stream
    for u in segment(x, 1024):
        wave, mask = pad_and_mask(x[u.start_sample: u.start_sample + u.n_samples])
        np.testing.assert_array_equal(u.window, wave)
        np.testing.assert_array_equal(u.mask, mask)


def test_file_window_equals_trainer_window(fsdd_dir):
    """recognize on an FSDD file classifies the very window the trainer built from it.

    FSDD clips start with speech: the file's utterance starts at its first sample and
    keeps its whole audio (< 0.8 s), so the window is ``pad_and_mask(librosa.load(f, sr=22050))``.
    """
    from trainer.data.fsdd import load_audio, pad_and_mask

    names = [f"{d}_{s}_{i}" for d, s, i in ((0, "george", 0), (5, "jackson", 3), (8, "lucas", 1),
                                             (2, "nicolas", 4), (6, "theo", 2), (3, "yweweler", 0))]
    whole = 0
    for name in names:
        y8, r = read_wav(fsdd_dir / f"{name}.wav")
        seen = []
        decisions = recognize_samples(y8, r, lambda w: seen.append(w.copy()) or fake_classify(w),
                                      model_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS)
        assert len(decisions) == 1, name
        u = decisions[0].utterance
        y = load_audio(fsdd_dir / f"{name}.wav")  # librosa.load(sr=22050)
        wave, mask = pad_and_mask(y[u.start_sample: u.start_sample + u.n_samples])
        # read_wav + soxr here, librosa.load (its own read, soxr_hq) there: the same samples up to rounding
        np.testing.assert_allclose(seen[0], wave, rtol=0, atol=RESAMPLE_ATOL)
        np.testing.assert_array_equal(u.mask, mask)
        if u.start_sample == 0 and u.n_samples == min(y.size, WINDOW):
            whole += 1
            np.testing.assert_allclose(seen[0], pad_and_mask(y)[0], rtol=0, atol=RESAMPLE_ATOL)
    assert whole >= len(names) // 2


def test_frame_levels():
    x = np.concatenate([np.zeros(220, np.float32), np.full(220, 0.5, np.float32),
                        (0.5 * np.sign(np.sin(np.arange(220)))).astype(np.float32)])
    lv = frame_levels_dbfs(x, 220)
    assert lv[0] == pytest.approx(-120.0) and lv[1] == pytest.approx(-120.0)  # DC is not sound
    assert lv[2] == pytest.approx(20 * np.log10(0.5), abs=0.2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="onset_db"):
        SegmenterConfig(sample_rate_hz=RATE_HZ, window_samples=WINDOW, onset_db=3.0, offset_db=6.0)
    with pytest.raises(ValueError, match="threshold"):
        Recognizer(fake_classify, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=1.5)
    with pytest.raises(ValueError, match="mono"):
        Segmenter(SegmenterConfig(sample_rate_hz=RATE_HZ, window_samples=WINDOW)).push(np.zeros((10, 2)))


SC_COPY = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech_commands_v0.02_test"


@pytest.fixture(scope="module")
def babble_tracks(tmp_path_factory) -> list[np.ndarray]:
    """Three 12 s babble tracks of 5 held-out Speech Commands talkers each, at 22,050 Hz, about -26 dBFS."""
    import soundfile as sf

    from trainer.data.augment import make_babble_bank
    from trainer.data.corpus import UNKNOWN_LABEL, read_folder_per_label

    if not SC_COPY.is_dir():
        pytest.fail(f"{SC_COPY} is missing (the shared data folder)")
    rows = read_folder_per_label(SC_COPY, source="speech_commands")
    speech = [(r.path, r.speaker) for r in rows if r.label == UNKNOWN_LABEL and r.split == "test"][:300]
    bank = make_babble_bank(speech, tmp_path_factory.mktemp("babble"), n_tracks=3, seed=0, duration_s=12.0,
                            talkers=(5, 5))
    return [0.1 * sf.read(p, dtype="float32")[0] for p, _ in bank]


def _longest_speech_s(seg: Segmenter, x: np.ndarray, block: int) -> float:
    longest = run = 0
    for b in iter_blocks(x, block):
        seg.push(b)
        run = run + b.shape[0] if seg.in_speech else 0
        longest = max(longest, run)
    return longest / seg.config.sample_rate_hz


def test_babble_does_not_hold_the_segmenter_in_speech(babble_tracks):
    """In babble the floor follows the noise's body (a percentile of the last 3 s), so the
    segmenter does not stay in 'speech' for seconds; with the fast-falling tracker alone it does."""
    sr = 22050
    with_history = max(_longest_speech_s(Segmenter(SegmenterConfig(sample_rate_hz=sr, window_samples=17640)), x, 441)
                       for x in babble_tracks)
    tracker_only = max(_longest_speech_s(Segmenter(SegmenterConfig(sample_rate_hz=sr, window_samples=17640,
                                                                   floor_history_ms=0)), x, 441)
                       for x in babble_tracks)
    assert with_history < C.MAX_SPEECH_MS / 1000, with_history
    assert tracker_only > with_history + 0.4  # what the history percentile fixes


def test_digit_in_babble_is_found(fsdd_dir, babble_tracks):
    sr = 22050
    y, rate = read_wav(fsdd_dir / "7_theo_0.wav")
    y = resample(y, rate, sr)
    bed = babble_tracks[0][: 8 * sr].copy()
    start = 5 * sr
    # the digit 10 dB above the bed's RMS
    scale = np.sqrt(np.mean(bed**2)) * 10 ** (10 / 20) / np.sqrt(np.mean(y**2))
    x = bed.copy()
    x[start:start + y.size] += scale * y
    seg = Segmenter(SegmenterConfig(sample_rate_hz=sr, window_samples=17640))
    utts = [u for b in iter_blocks(x, 441) for u in seg.push(b)] + seg.flush()
    hits = [u for u in utts if u.speech_start_sample <= start + y.size and u.end_sample >= start]
    assert len(hits) == 1
    assert abs(hits[0].speech_start_sample - start) < 0.25 * sr


# --------------------------------------------------------------------------- digit length gate
def _bursts(lengths_ms: tuple[float, ...]) -> np.ndarray:
    """Tone bursts of the given lengths (ms) at -12 dBFS, 1 s of faint noise before each and at the end."""
    parts = []
    for ms in lengths_ms:
        n = int(round(ms * RATE_HZ / 1000))
        parts += [noise(1.0, -70.0, seed=len(parts)), (0.25 * np.sin(2 * np.pi * 300 * np.arange(n) / RATE_HZ))
                  .astype(np.float32)]
    parts.append(noise(1.0, -70.0, seed=99))
    return np.concatenate(parts)


def _sure_digit(window: np.ndarray) -> np.ndarray:
    p = np.full(len(LABELS), 0.01 / (len(LABELS) - 1), np.float32)
    p[7] = 0.99
    return p


@pytest.mark.parametrize("gate", (0.0, 170.0, None, {"7": 400.0}))
def test_digit_length_gate_rejects_short_utterances_only(gate):
    """Bursts classified '7' (0.99): rejected as too short below the gate, one value or per digit (None: the
    default table, 220 ms for '7'), accepted from it on."""
    gate_ms = {None: C.MIN_DIGIT_SPEECH_MS["7"], 0.0: 0.0, 170.0: 170.0}.get(gate) if not isinstance(gate, dict) \
        else gate["7"]
    lengths = (120.0, 160.0, 200.0, 300.0, 450.0)
    rec = Recognizer(_sure_digit, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5,
                     min_digit_speech_ms=gate)
    out = list(run_blocks(rec, iter_blocks(_bursts(lengths), 1024)))
    assert len(out) == len(lengths)
    for d, ms in zip(out, lengths):
        assert d.utterance.speech_ms == pytest.approx(ms, abs=25.0)  # 10 ms frames, onset lookback
        short = d.utterance.speech_ms < gate_ms
        assert d.too_short is short
        assert d.label == ("_unknown_" if short else "7") and d.top_label == "7" and d.accepted is not short
        assert d.to_json(LABELS)["too_short"] is short and d.to_json(LABELS)["speech_ms"] == round(d.utterance.speech_ms, 1)
    if gate_ms == 0.0:
        assert all(d.accepted for d in out)
    else:
        assert [d.accepted for d in out][0] is False and out[-1].accepted


def test_digit_length_gate_leaves_rejections_and_unsure_digits_alone():
    from realtime.pipeline import decide

    labels = (*LABELS, "_silence_", "_unknown_")
    p = np.zeros(len(labels), np.float32)
    p[10] = 1.0
    assert decide(p, labels, 0.5, speech_ms=50.0, min_digit_speech_ms=170.0) == ("_silence_", "_silence_", 1.0)
    p[:] = 0.0
    p[3] = 0.6
    p[11] = 0.4
    assert decide(p, labels, 0.9, speech_ms=500.0, min_digit_speech_ms=170.0)[0] == "_unknown_"  # unsure, not short
    assert decide(p, labels, 0.5, speech_ms=500.0, min_digit_speech_ms=170.0)[0] == "3"
    assert decide(p, labels, 0.5, speech_ms=169.9, min_digit_speech_ms=170.0)[0] == "_unknown_"
    assert decide(p, labels, 0.5, speech_ms=170.0, min_digit_speech_ms=170.0)[0] == "3"
    assert decide(p, labels, 0.5)[0] == "3"  # no length given: no gate
    per_digit = {"3": 300.0, "5": 100.0}
    assert decide(p, labels, 0.5, speech_ms=250.0, min_digit_speech_ms=per_digit)[0] == "_unknown_"
    p[3], p[5] = 0.0, 0.6
    assert decide(p, labels, 0.5, speech_ms=250.0, min_digit_speech_ms=per_digit)[0] == "5"
    assert decide(p, labels, 0.5, speech_ms=20.0, min_digit_speech_ms={"3": 300.0})[0] == "5"  # not in it: no gate
    with pytest.raises(ValueError, match="min_digit_speech_ms"):
        Recognizer(_sure_digit, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, min_digit_speech_ms=-1)
    with pytest.raises(ValueError, match="min_digit_speech_ms"):
        Recognizer(_sure_digit, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS,
                   min_digit_speech_ms={"3": -5.0})


def _bursts_in(bed_of, lengths_ms: tuple[float, ...], tone_dbfs: float) -> tuple[np.ndarray, list[int]]:
    """Tone bursts (300 Hz, power ``tone_dbfs``) added to a bed, 2 s of bed before each and 1 s after
    the last; returns the signal and the first sample of each burst."""
    parts, starts, pos = [], [], 0
    for i, ms in enumerate(lengths_ms):
        n = int(round(ms * RATE_HZ / 1000))
        tone = (np.sqrt(2) * 10 ** (tone_dbfs / 20) * np.sin(2 * np.pi * 300 * np.arange(n) / RATE_HZ)).astype(np.float32)
        parts += [bed_of(2.0, seed=i), tone + bed_of(ms / 1000, seed=100 + i)[:n]]
        starts.append(pos + parts[-2].size)
        pos += parts[-2].size + n
    parts.append(bed_of(1.0, seed=99))
    return np.concatenate(parts), starts


def _steady(seconds: float, seed: int) -> np.ndarray:
    return noise(seconds, -45.0, seed=seed)


#: Levels of the 100 ms pieces of one second of :func:`_fluctuating` (dBFS).
_FLUCTUATING_DBFS = (-80.0, -72.0, -64.0, -56.0, -45.0, -45.0, -60.0, -68.0, -76.0, -80.0)


def _fluctuating(seconds: float, seed: int) -> np.ndarray:
    """Noise in 100 ms pieces of :data:`_FLUCTUATING_DBFS`, one second after the other: its lower
    levels spread as the pauses of running speech do, its loud pieces are utterances of their own."""
    x = noise(seconds, 0.0, seed=seed)
    step = int(0.1 * RATE_HZ)
    for k, i in enumerate(range(0, x.size, step)):
        x[i:i + step] *= 10 ** (_FLUCTUATING_DBFS[k % len(_FLUCTUATING_DBFS)] / 20)
    return x


def _at(items, starts: list[int], key=lambda u: u):
    """The item whose utterance overlaps each burst start (one each)."""
    out = []
    for st in starts:
        hits = [x for x in items if key(x).speech_start_sample <= st + 2205 and key(x).end_sample >= st]
        assert len(hits) == 1, (st, hits)
        out.append(hits[0])
    return out


def test_utterance_measures_its_background():
    """Peak, floor and the spread of the last seconds' levels, as the steady-noise rule reads them."""
    def utterances(x):
        seg = Segmenter(SegmenterConfig(sample_rate_hz=RATE_HZ, window_samples=WINDOW))
        return [u for b in iter_blocks(x, 1024) for u in seg.push(b)] + seg.flush()

    x, starts = _bursts_in(_steady, (400.0,), -27.0)
    utts = utterances(x)
    assert len(utts) == 1
    u = utts[0]
    assert u.background_dbfs == pytest.approx(-45.0, abs=1.5) and u.floor_dbfs == pytest.approx(-45.0, abs=2.0)
    assert 0.0 <= u.background_spread_db < 1.5
    assert u.peak_dbfs == pytest.approx(-27.0, abs=1.0)  # the tone over the noise
    assert u.in_steady_noise
    x, starts = _bursts_in(_fluctuating, (400.0,), -50.0)
    u = _at(utterances(x), starts)[0]
    assert u.background_spread_db > C.STEADY_NOISE_MAX_SPREAD_DB and not u.in_steady_noise
    assert u.peak_dbfs - u.floor_dbfs < C.STEADY_NOISE_MAX_PEAK_OVER_FLOOR_DB  # the spread alone decides
    x, starts = _bursts_in(_steady, (400.0,), -5.0)
    u = utterances(x)[0]
    assert u.peak_dbfs - u.floor_dbfs > C.STEADY_NOISE_MAX_PEAK_OVER_FLOOR_DB and not u.in_steady_noise
    x, starts = _bursts_in(lambda sec, seed: silence(sec), (400.0,), -50.0)
    u = utterances(x)[0]
    assert u.background_dbfs < C.MIN_NOISE_FLOOR_DBFS and not u.in_steady_noise  # digital silence is not a noise


@pytest.mark.parametrize("bed, tone_dbfs, gated", ((_steady, -30.0, False), (_fluctuating, -50.0, True)))
def test_digit_length_gate_is_lifted_in_steady_noise_only(bed, tone_dbfs, gated):
    """A short '7' (0.99) in a steady noise 15 dB under it is accepted: there the floor eats a digit's
    edges and the speech measured is shorter than was said. In a fluctuating noise (as the pauses of
    running speech, whose syllables the gate is for) it is still rejected."""
    lengths = (120.0, 160.0, 450.0)
    rec = Recognizer(_sure_digit, sample_rate_hz=RATE_HZ, window_samples=WINDOW, labels=LABELS, threshold=0.5)
    x, starts = _bursts_in(bed, lengths, tone_dbfs)
    out = _at(list(run_blocks(rec, iter_blocks(x, 1024))), starts, key=lambda d: d.utterance)
    for d, ms in zip(out, lengths):
        short = d.utterance.speech_ms < C.MIN_DIGIT_SPEECH_MS["7"]
        assert short is (ms < 200)
        assert d.utterance.in_steady_noise is not gated
        assert d.too_short is (short and gated) and d.accepted is not (short and gated)
        assert d.to_json(LABELS)["steady_noise"] is not gated
def test_decide_without_gate_in_steady_noise():
    from realtime.pipeline import decide

    p = np.zeros(10, np.float32)
    p[3] = 0.9
    assert decide(p, LABELS, 0.5, speech_ms=100.0, min_digit_speech_ms=170.0)[0] == "_unknown_"
    assert decide(p, LABELS, 0.5, speech_ms=100.0, min_digit_speech_ms=170.0, steady_noise=True)[0] == "3"
    assert decide(p, LABELS, 0.95, speech_ms=500.0, steady_noise=True)[0] == "_unknown_"  # the threshold still holds
