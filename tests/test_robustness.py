"""``robustness`` / ``far``: deterministic held-out sets, the scorer, false accepts per hour, the CLI."""
from __future__ import annotations

import filecmp
import json
import os
from pathlib import Path

import numpy as np
import pytest

from trainer.evaluation.robustness.score import (Dec, ModelRunner, accepted, count_items, item_outcome, match_played, right_interval,
                                      run_stream, sweep)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPOKEN_DIGITS_SHARED_DATA", REPO.parent / "shared" / "data"))
RATE = 22050
WINDOW = 17640
LABELS = (*(str(d) for d in range(10)), "_silence_", "_unknown_")


def _needs_shared_data():
    for sub in ("fsdd/recordings", "speech_commands_v0.02_test", "speech_commands_digits", "noise"):
        if not (SHARED / sub).is_dir():
            pytest.skip(f"shared data {SHARED / sub} not found (set SPOKEN_DIGITS_SHARED_DATA)")


# --------------------------------------------------------------------------- a fake classifier
def energy_stub(window: np.ndarray) -> np.ndarray:
    """Probabilities from the window's RMS: loud -> '3' (0.9), medium -> '7' (0.6), quiet -> _unknown_ (0.8).

    Tests the scorer, not a model."""
    x = window[np.abs(window) > 0]
    level = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
    p = np.full(len(LABELS), 0.0, np.float32)
    top, conf = ("3", 0.9) if level > 0.1 else ("7", 0.6) if level > 0.01 else ("_unknown_", 0.8)
    p[LABELS.index(top)] = conf
    rest = [i for i in range(len(LABELS)) if i != LABELS.index(top)]
    p[rest] = (1 - conf) / len(rest)
    return p


def burst(amplitude: float, seconds: float = 0.4, f: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sqrt(2) * np.sin(2 * np.pi * f * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


RUNNER = ModelRunner(energy_stub, LABELS, RATE, WINDOW)


def test_scorer_counts_right_missed_extra_wrong_rejected():
    items = {
        "right": ("3", np.concatenate([silence(0.5), burst(0.3), silence(0.5)])),
        "missed": ("3", silence(1.5)),
        "extra": ("3", np.concatenate([silence(0.5), burst(0.3), silence(0.6), burst(0.3), silence(0.5)])),
        "wrong": ("3", np.concatenate([silence(0.5), burst(0.03), silence(0.5)])),
        "rejected": ("3", np.concatenate([silence(0.5), burst(0.003), silence(0.5)])),
    }
    results = {}
    for name, (digit, y) in items.items():
        decs = RUNNER.recognize(y, RATE)
        results[name] = (digit, decs)
        assert item_outcome(digit, decs, 0.5) == name, (name, decs)
    assert len(results["extra"][1]) == 2 and len(results["missed"][1]) == 0
    c = count_items(results.values(), 0.5)
    assert (c.n, c.right, c.missed, c.extra, c.wrong, c.rejected, c.split) == (5, 1, 1, 1, 1, 1, 1)
    assert c.accuracy == pytest.approx(0.2)
    # '7' at 0.6: above 0.7 it is no longer accepted -> the 'wrong' item becomes a rejection
    assert item_outcome("3", results["wrong"][1], 0.7) == "rejected"
    # the plain window path of the same utterance
    assert RUNNER.classify_window(burst(0.3), RATE).top == "3"


def test_right_interval_and_sweep_by_hand():
    d = lambda top, c: Dec(top, c, top if top.isdigit() else "0", c, 0.0, 0.1)  # noqa: E731
    assert right_interval("3", [d("3", 0.9)]) == (-np.inf, 0.9)
    assert right_interval("3", [d("3", 0.9), d("5", 0.4)]) == (0.4, 0.9)
    assert right_interval("3", [d("5", 0.9), d("3", 0.4)]) is None
    assert right_interval("3", [d("3", 0.9), d("_unknown_", 0.95)]) == (-np.inf, 0.9)
    items = [("3", [d("3", 0.9)]), ("3", [d("3", 0.9), d("5", 0.4)]), ("4", [d("_silence_", 0.99)]), ("4", [])]
    negatives = [d("1", 0.3), d("2", 0.6), d("_unknown_", 0.99), d("8", 0.95)]
    s = sweep(items, negatives, hours=0.5, thresholds=[0.0, 0.35, 0.5, 0.92, 1.0])
    assert s["miss_rate"] == pytest.approx([0.75, 0.75, 0.5, 1.0, 1.0])
    assert s["false_accepts"] == [3, 2, 2, 1, 0]
    assert s["fa_per_hour"] == pytest.approx([6, 4, 4, 2, 0])


def test_false_accepts_per_hour_on_a_stream_with_injected_accepts():
    # 60 s of faint noise; 6 loud bursts (-> '3', accepted at 0.5), 4 medium ones (-> '7' at 0.6), 2 quiet (-> _unknown_)
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(60 * RATE) * 1e-4).astype(np.float32)
    plan = [0.3] * 6 + [0.03] * 4 + [0.003] * 2
    for i, a in enumerate(plan):
        start = int((2.0 + 4.5 * i) * RATE)
        b = burst(a)
        y[start:start + b.size] += b
    res = run_stream(RUNNER, np.array_split(y, 7), RATE)
    assert res.seconds == pytest.approx(60.0, abs=1e-3)
    assert len(res.decisions) == 12
    assert res.false_accepts(0.5) == 10 and res.false_accepts(0.7) == 6
    assert res.false_accepts(0.5) / res.hours == pytest.approx(600.0)
    assert res.max_speech_s < 1.0 and res.long_speech == []
    # the speech length of each false accept is its burst's (0.4 s, see burst()), within the segmenter's 10 ms frames
    assert len(res.false_accept_speech_s(0.7)) == 6
    assert res.false_accept_speech_s(0.7) == pytest.approx([0.4] * 6, abs=0.03)
    s = sweep([], res.decisions, res.hours, [0.5, 0.7, 0.95])
    assert s["fa_per_hour"] == pytest.approx([600.0, 360.0, 0.0])
    # decisions matched to what was played: every burst found once, no extra
    played = [("3" if a == 0.3 else "7", 2.0 + 4.5 * i, 2.4 + 4.5 * i) for i, a in enumerate(plan)]
    m = match_played(played, res.decisions, 0.5)
    assert (m["played"], m["found"], m["right"], m["extra"]) == (12, 12, 10, 0)  # the quiet two: rejected
    m = match_played(played[:6], res.decisions, 0.5)  # the medium bursts now are false accepts
    assert (m["found"], m["right"], m["extra"]) == (6, 6, 4)


def string_stub(audio: np.ndarray):
    """A digit-string model that reads "41" (least sure digit 0.95) in any utterance: tests the scorer, not a model."""
    from realtime.ctc import CtcToken
    from realtime.strings import StringReading

    return StringReading("41", (CtcToken("4", 0, 1, 0.99), CtcToken("1", 2, 3, 0.95)), 0.95, 0.02)


def test_string_decisions_are_accepted_by_their_own_rule_and_count_every_digit():
    # short bursts go to the window classifier; a 1.2 s one (over the 800 ms route) to the string model
    strings = ModelRunner(energy_stub, LABELS, RATE, WINDOW, string_options={
        "read_string": string_stub, "string_min_speech_ms": 800.0, "string_threshold": 0.9})
    assert strings.reads_strings and not RUNNER.reads_strings
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(20 * RATE) * 1e-4).astype(np.float32)
    for start_s, b in ((2.0, burst(0.3)), (6.0, burst(0.03)), (10.0, burst(0.3, seconds=1.2))):
        y[int(start_s * RATE):int(start_s * RATE) + b.size] += b
    alone = run_stream(RUNNER, [y], RATE)
    res = run_stream(strings, [y], RATE)
    assert [d.string for d in alone.decisions] == [None, None, None]
    assert [d.string for d in res.decisions] == [None, None, "41"] and res.decisions[2].fixed
    assert res.decisions[2].to_json()["string"] == "41"
    # the string's 2 digits at every threshold, the window classifier's '3' (0.9) and '7' (0.6) by the threshold
    assert [res.false_accepts(t) for t in (0.0, 0.7, 0.95)] == [4, 3, 2]
    assert [alone.false_accepts(t) for t in (0.0, 0.7, 0.95)] == [3, 2, 0]
    assert sweep([], res.decisions, res.hours, [0.0, 0.7, 0.95])["false_accepts"] == [4, 3, 2]
    assert sum(res.false_accepts_by_file(0.95).values()) == 0  # one recording: nothing to attribute
    # a digit item the string model claims is never right; a string rejected by its rule is no decision
    d = lambda top, c: Dec(top, c, top, c, 0.0, 0.1)  # noqa: E731
    s_ok = Dec("41", 0.95, None, 0.0, 0.0, 1.0, string="41", string_accepted=True)
    s_no = Dec("41", 0.5, None, 0.0, 0.0, 1.0, string="41", string_accepted=False)
    assert item_outcome("4", [s_ok], 0.99) == "wrong" and right_interval("4", [s_ok]) is None
    assert item_outcome("4", [s_no, d("4", 0.9)], 0.5) == "right" and right_interval("4", [s_no, d("4", 0.9)]) == (-np.inf, 0.9)
    one = Dec("4", 0.95, None, 0.0, 0.0, 1.0, string="4", string_accepted=True)  # a long utterance read as one digit
    assert right_interval("4", [one, d("7", 0.6)]) == (0.6, np.inf) and item_outcome("4", [one, d("7", 0.6)], 0.7) == "right"


def test_a_confirmed_digit_is_accepted_up_to_the_bundles_threshold():
    from realtime.ctc import CtcToken
    from realtime.strings import StringReading

    def reads_seven(audio):
        return StringReading("7", (CtcToken("7", 0, 1, 0.95),), 0.95, 0.02)

    runner = ModelRunner(energy_stub, LABELS, RATE, WINDOW, string_options={
        "read_string": reads_seven, "string_min_speech_ms": 800.0, "string_confirm_threshold": 0.5,
        "string_confirm_string_threshold": 0.9}, confirmed_up_to=0.91)
    y = np.concatenate([silence(0.5), burst(0.03), silence(0.5), burst(0.3), silence(0.5)])  # '7' at 0.6, '3' at 0.9
    seven, three = runner.recognize(y, RATE)
    assert seven.top == "7" and seven.confirmed and seven.candidate and seven.score == pytest.approx(0.91)
    assert three.top == "3" and not three.confirmed and three.score == pytest.approx(0.9)  # the string model read "7"
    # a stricter threshold than the bundle's 0.91 turns confirmation off: the '7' then needs its own 0.6
    assert [accepted(seven, t) for t in (0.0, 0.7, 0.91, 0.95)] == [True, True, True, False]
    assert [accepted(three, t) for t in (0.0, 0.7, 0.91, 0.95)] == [True, True, False, False]
    assert item_outcome("7", [seven], 0.91) == "right" and item_outcome("7", [seven], 0.95) == "rejected"
    assert right_interval("7", [seven, three]) == pytest.approx((0.9, 0.91))
    assert sweep([("7", [seven])], [three], 1.0, [0.5, 0.91, 0.95])["miss_rate"] == [0.0, 0.0, 1.0]
    assert sweep([("7", [seven])], [three], 1.0, [0.5, 0.91, 0.95])["false_accepts"] == [1, 0, 0]
    assert seven.to_json()["confirmed"] is True


def test_a_vetoed_digit_is_rejected_at_every_threshold():
    from realtime.ctc import CtcToken
    from realtime.strings import StringReading

    def heard_only_seven(audio):
        peaks = tuple((str(k), 0.9 if k == 7 else 0.001) for k in range(10))
        return StringReading("7", (CtcToken("7", 0, 1, 0.9),), 0.9, 0.02, peaks=peaks)

    runner = ModelRunner(energy_stub, LABELS, RATE, WINDOW, string_options={
        "read_string": heard_only_seven, "string_min_speech_ms": 800.0, "string_veto_threshold": 0.05})
    y = np.concatenate([silence(0.5), burst(0.03), silence(0.5), burst(0.3), silence(0.5)])  # '7' at 0.6, '3' at 0.9
    seven, three = runner.recognize(y, RATE)  # recorded at threshold 0: the string model asked about both
    assert not seven.vetoed and seven.candidate and three.vetoed and not three.candidate
    assert [accepted(three, t) for t in (0.0, 0.5, 0.9)] == [False, False, False]
    assert [accepted(seven, t) for t in (0.0, 0.6, 0.7)] == [True, True, False]
    assert sweep([("7", [seven])], [three], 1.0, [0.0, 0.5])["false_accepts"] == [0, 0]
    assert three.to_json()["vetoed"] is True and "vetoed" not in seven.to_json()


def test_false_accepts_are_attributed_to_the_recording_they_came_from(tmp_path):
    """A stream of several recordings (the held-out voices' passages) counts its false accepts per recording."""
    import soundfile as sf

    from trainer.evaluation.robustness.report import stream_segments

    rng = np.random.default_rng(1)
    loud_bursts = {"a": 3, "b": 0, "c": 1}  # loud bursts ('3', accepted at 0.5) per 10 s recording
    paths = []
    for name, n in loud_bursts.items():
        y = (rng.standard_normal(10 * RATE) * 1e-4).astype(np.float32)
        for i in range(n):
            b = burst(0.3)
            y[int((1.0 + 3.0 * i) * RATE):][:b.size] += b
        paths.append(tmp_path / f"{name}.wav")
        sf.write(paths[-1], y, RATE)
    files: list = []
    res = run_stream(RUNNER, stream_segments(paths, files), RATE)
    res.files = files
    assert [f[0] for f in files] == ["a", "b", "c"]
    assert files[1][1] == pytest.approx(10.5) and files[2][2] == pytest.approx(31.0)  # 0.5 s between recordings
    assert res.false_accepts(0.5) == 4
    assert res.false_accepts_by_file(0.5) == {"a": 3, "c": 1}
    assert res.false_accepts_by_file(0.99) == {}


def test_the_length_gate_rejects_short_digits_at_every_threshold():
    """A 0.1 s burst -> '3' at 0.9: accepted without the gate, rejected by it on the item and stream paths,
    in the sweep and in the threshold interval; the 0.4 s burst stays accepted."""
    from realtime import constants as C

    assert RUNNER.min_digit_speech_ms == C.MIN_DIGIT_SPEECH_MS  # the scorer measures what listen does
    assert C.MIN_DIGIT_SPEECH_MS["3"] > 100.0
    y = np.concatenate([silence(0.5), burst(0.3, seconds=0.1), silence(0.6), burst(0.3), silence(0.5)])
    ungated = ModelRunner(energy_stub, LABELS, RATE, WINDOW, min_digit_speech_ms=0.0)
    short, long_ = RUNNER.recognize(y, RATE)
    assert short.top == "3" and short.too_short and not long_.too_short
    assert not accepted(short, 0.0) and accepted(long_, 0.5)
    assert item_outcome("3", [short], 0.0) == "rejected" and right_interval("3", [short]) is None
    assert item_outcome("3", [short, long_], 0.5) == "right"
    assert item_outcome("3", ungated.recognize(y, RATE), 0.5) == "extra"
    assert short.to_json()["too_short"] is True and "too_short" not in long_.to_json()
    assert sweep([], [short, long_], 1.0, [0.0, 0.5])["false_accepts"] == [1, 1]
    res, res0 = run_stream(RUNNER, [y], RATE), run_stream(ungated, [y], RATE)
    assert (res.false_accepts(0.5), res0.false_accepts(0.5)) == (1, 2)


def test_a_steady_tone_shows_as_a_long_speech_state():
    y = np.concatenate([silence(1.0), burst(0.1, seconds=5.0), silence(1.0)])
    res = run_stream(RUNNER, [y], RATE)
    assert res.max_speech_s > 2.0 and res.long_speech
    assert res.decisions == []  # longer than MAX_SPEECH_MS: dropped, no decision


def test_bundle_threshold_lookup():
    from trainer.evaluation.robustness.report import bundle_threshold

    assert bundle_threshold({"labels": []}) is None
    assert bundle_threshold({"threshold": 0.7, "calibration": {"threshold": 0.2}}) == 0.7
    assert bundle_threshold({"calibration": {"threshold": 0.35}}) == 0.35
    assert bundle_threshold({"threshold": 3}) is None


# --------------------------------------------------------------------------- the sets
def test_synth_contributes_only_its_test_voices(tmp_path):
    _needs_shared_data()
    import shutil

    from trainer.data.corpus import CorpusPaths, read_corpus
    from trainer.evaluation.robustness.sets import select_sources

    synth = tmp_path / "synth"
    fsdd = SHARED / "fsdd" / "recordings"
    rows = ["path,word,speaker,split"]
    for voice, split in (("heldout", "test"), ("trained", "train")):
        for word, src in (("seven", "7_theo_0.wav"), ("banana", "1_theo_1.wav")):
            (synth / word).mkdir(parents=True, exist_ok=True)
            shutil.copy(fsdd / src, synth / word / f"{voice}_nohash_0.wav")
            rows.append(f"{word}/{voice}_nohash_0.wav,{word},{voice},{split}")
    (synth / "manifest.csv").write_text("\n".join(rows) + "\n")
    (synth / "passages").mkdir()
    shutil.copy(fsdd / "0_theo_0.wav", synth / "passages" / "heldout.wav")
    corpus = read_corpus(CorpusPaths.shared(SHARED, synth=synth))
    src = select_sources(corpus, passages_dir=synth)
    assert [(c.speaker, c.label) for c in src.digits["synth"]] == [("heldout", "7")]
    assert [(c.speaker, c.word) for c in src.words["synth"]] == [("heldout", "banana")]
    assert src.passages == [synth / "passages" / "heldout.wav"]
    assert {"fsdd", "speech_commands_digits"} <= set(src.digits)


def _small_sizes():
    from trainer.evaluation.robustness.sets import Sizes

    return Sizes(digits_per_source=6, negative_words=6, generated_per_kind=1, babble_tracks=8, bed_tracks=1,
                 bed_track_s=10.0, stream_words=8, stream_digits=4)


def _build(cache: Path, jobs: int = 1):
    from trainer.data.corpus import CorpusPaths, read_corpus
    from trainer.evaluation.robustness import sets as S

    rows = read_corpus(CorpusPaths.shared(SHARED))
    sizes = _small_sizes()
    src = S.select_sources(rows, sizes=sizes)
    conds = [S.CONDITION_BY_NAME[n] for n in ("clean", "babble_10", "babble_0", "noise_5", "reverb")]
    digits = S.build_digit_items(src, cache, conditions=conds, sizes=sizes, progress=False, jobs=jobs)
    negatives = S.build_negative_items(src, cache, sizes=sizes, progress=False, jobs=jobs)
    streams = S.build_streams(src, cache, sizes=sizes, progress=False)
    return rows, digits, negatives, streams


@pytest.fixture(scope="module")
def built_twice(tmp_path_factory):
    _needs_shared_data()
    a = tmp_path_factory.mktemp("sets_a")
    b = tmp_path_factory.mktemp("sets_b")
    return _build(a, jobs=1), _build(b, jobs=2), a  # a fork pool of 2 must not change a byte


@pytest.mark.slow
def test_sets_are_deterministic_and_reused(built_twice):
    (rows, d1, n1, s1), (_, d2, n2, s2), cache_a = built_twice
    for x, y in ((d1, d2), (n1, n2), (s1, s2)):
        assert x["key"] == y["key"] and x["items" if "items" in x else "streams"] == y["items" if "items" in y else "streams"]
        fa, fb = Path(x["folder"]), Path(y["folder"])
        files = sorted(p.relative_to(fa) for p in fa.rglob("*.wav"))
        assert files and files == sorted(p.relative_to(fb) for p in fb.rglob("*.wav"))
        for f in files:
            assert filecmp.cmp(fa / f, fb / f, shallow=False), f
    # a rerun reuses the set: nothing is rewritten
    wav = next(Path(d1["folder"]).rglob("*.wav"))
    mtime = wav.stat().st_mtime_ns
    again = _build(cache_a)[1]
    assert again["folder"] == d1["folder"] and wav.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_mixed_snr_is_the_target(built_twice):
    import soundfile as sf

    from trainer.evaluation.robustness.sets import load_clip, snr_db

    (_, digits, _, _), _, _ = built_twice
    folder = Path(digits["folder"])
    noisy = [it for it in digits["items"] if "snr_db_target" in it]
    assert len(noisy) >= 10
    for it in noisy:
        y, rate = sf.read(folder / it["file"], dtype="float32")
        assert rate == digits["rate_hz"]
        a, b = it["trim"]
        speech = load_clip(it["clip"])[a:b]
        st, n = it["speech_start"], it["speech_len"]
        assert n == speech.size and y.size == st + n + st
        noise = y / np.float32(it["gain"])
        noise[st:st + n] -= speech
        assert abs(snr_db(speech, noise) - it["snr_db_target"]) < 0.5, it["id"]


@pytest.mark.slow
def test_sets_hold_only_held_out_material(built_twice):
    from trainer.data.corpus import legacy_split
    from trainer.evaluation.robustness.sets import held_out_speech_commands_speakers

    (rows, digits, negatives, streams), _, _ = built_twice
    by_path = {str(r.path): r for r in rows}
    noise_split = {f"{r.path.parent.name}/{r.path.name}": r.split for r in rows if r.source == "noise"}
    held = held_out_speech_commands_speakers(rows)
    train_sc = {r.speaker for r in rows if r.source.startswith("speech_commands") and r.split != "test"}
    assert held and not held & train_sc
    sources = set()
    for it in digits["items"]:
        r = by_path[it["clip"]]
        sources.add(r.source)
        assert r.split == "test", it["id"]
        if r.source.startswith("speech_commands"):
            assert r.speaker in held and r.speaker not in train_sc
        if r.source == "speech_commands_digits":  # held out from bundles of the old split too
            assert legacy_split(r) == "test"
        if "babble" in it:
            spk = {s.split("/", 1)[1] for s in it["babble"]["speakers"]}
            assert spk <= held and r.speaker not in spk
        if "noise" in it:
            assert noise_split[it["noise"]["file"]] == "test"
    assert sources == {"fsdd", "speech_commands_digits", "speech_commands_digits_extra"}
    for it in negatives["items"]:
        if it["kind"].startswith("words:"):
            r = by_path[it["clip"]]
            assert r.split == "test" and r.speaker in held
        else:
            assert it["split"] == "test"
    for n in negatives["data"]["generated_inputs"]["noise_files"]:
        assert noise_split[n] == "test"
    by_id = {f"{r.source}/{r.path.parent.name}/{r.path.stem}": r for r in rows}
    for name, s in streams["streams"].items():
        for p in s.get("played", []):
            assert by_id[p[3]].source == "fsdd" and by_id[p[3]].split == "test"
        for f in s.get("files", []):
            assert noise_split[f] == "test"
    for t in digits["data"]["babble_tracks"] + digits["data"]["babble_bed_tracks"]:
        assert {s.split("/", 1)[1] for s in t["speakers"]} <= held


# --------------------------------------------------------------------------- the CLI
@pytest.mark.slow
def test_quick_cli_on_the_shipped_bundle(tmp_path):
    _needs_shared_data()
    from click.testing import CliRunner

    from spoken_digits_cli import main

    common = ["--quick", "--data-root", str(SHARED), "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    r = CliRunner().invoke(main, ["robustness", *common, "--out", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert "Digit accuracy through the segmenter" in r.output and "babble 10 dB" in r.output
    assert "Segmenter in steady noise" in r.output
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["bundle"]["sha256"]["tflite"] and rep["table"]["rows"]["fsdd"]["clean"]["n"] == 20
    assert {"clean_window", "clean", "babble_0", "noise_5", "reverb"} <= set(rep["table"]["columns"])
    # the shipped bundle reads strings: its string model on every item, and a table of held-out strings
    assert rep["inputs"]["strings"] is True and "with its digit-string model" in r.output
    assert "digit strings, held-out speakers and voices" in r.output
    table = rep["strings"]["table"]
    assert table["real:speechocean762:clean"]["strings"] >= 1 and table["assembled:fsdd:clean"]["strings"] == 10
    assert not any(k.startswith(("speech:", "isolated:")) for k in table)  # those are robustness's and far's rows

    png = tmp_path / "det.png"
    r = CliRunner().invoke(main, ["far", *common, "--out", str(tmp_path / "f.json"), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert "False-accept rate on held-out negative clips" in r.output and "FA / h" in r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rep = json.loads((tmp_path / "f.json").read_text())
    assert rep["streams"]["all"]["hours"] > 0 and rep["det"]["operating_point"]["threshold"] == rep["threshold"]
    assert set(rep["negative_clips"]) >= {"words:speech_commands", "reversed", "tone", "all"}
    assert rep["inputs"]["strings"] is True


def test_bench_spans_measures_speech_length_and_its_rule(tmp_path):
    """``python -m trainer.benchmarks.spans``: the segmenter's speech length of a clip, and the 1st-percentile rule."""
    import soundfile as sf

    from trainer.benchmarks.spans import digit_speech_ms, gate_ms

    for ms in (220.0, 480.0):
        path = tmp_path / f"tone_{ms:.0f}.wav"
        sf.write(path, np.concatenate([silence(0.2), burst(0.2, seconds=ms / 1000), silence(0.3)]), RATE,
                 subtype="PCM_16")
        in_context, as_file = digit_speech_ms(path)
        assert in_context == pytest.approx(ms, abs=25.0) and as_file == pytest.approx(ms, abs=25.0)
    sf.write(tmp_path / "quiet.wav", silence(1.0), RATE, subtype="PCM_16")
    assert digit_speech_ms(tmp_path / "quiet.wav") == (None, None)
    assert gate_ms([float(v) for v in range(100, 1100)]) == 100.0  # p1 = 109.99 -> 100
    assert gate_ms([183.0] * 50 + [400.0] * 50) == 180.0
    with pytest.raises(ValueError):
        gate_ms([])


def test_recorded_summary_names_the_segmenter_window():
    """--record: a summary says which segmenter cut its windows and how the digit length gate was
    applied (the figures move with both)."""
    from realtime.constants import DIGIT_GATE_VERSION, SEGMENTER_WINDOW_VERSION
    from trainer.evaluation.robustness.cli import _summary

    rep = {"command": "robustness", "threshold": 0.79, "inputs": {"quick": True, "min_digit_speech_ms": None},
           "table": {"rows": {"fsdd": {"clean": {"accuracy": 0.9, "n": 10, "extra": 1}}}},
           "streams": {"babble_10": {"found": 9, "played": 10, "right": 8, "decision_list": [1, 2]}}}
    s = _summary(rep, "robustness")
    assert s["segmenter_window"] == SEGMENTER_WINDOW_VERSION and s["threshold"] == 0.79
    assert s["digit_gate"] == DIGIT_GATE_VERSION
    assert s["accuracy"] == {"fsdd": {"clean": {"accuracy": 0.9, "n": 10}}}
    assert s["steady_noise"] == {"babble_10": {"found": 9, "played": 10, "right": 8}}
