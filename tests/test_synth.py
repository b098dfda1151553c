"""``data synth``: a tiny render with real TTS engines (CI installs the Debian packages).

A missing engine or voice fails with the Debian package to install, never a silent skip.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trainer.data import synth
from trainer.errors import DataError

#: One training voice and one held-out voice, two words (both digits): 2 x 2 x 3 = 12 clips.
TINY_SPEAKERS = ("espeak-en-us", "flite-slt")
TINY_WORDS = ("one", "seven")
TINY_ENGINES = ("espeak", "flite")


def require_engine(engine: str) -> None:
    prog = synth.ENGINE_PROGRAMS[engine]
    if shutil.which(prog) is None:
        pytest.fail(f"'{prog}' is not installed: apt-get install {synth.ENGINE_PACKAGES[engine]} "
                    f"(CI installs {synth.DEBIAN_PACKAGES})")


def _frames_db(y: np.ndarray, sr: int, frame_s: float = 0.01) -> np.ndarray:
    """RMS of consecutive 10 ms frames, in dB relative to the loudest frame."""
    n = int(frame_s * sr)
    frames = y[: len(y) // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return 20 * np.log10(rms / rms.max() + 1e-12)


def _wavs(dest: Path) -> list[Path]:
    return [p for p in dest.glob("*/*.wav") if not p.name.startswith(".")]


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    for e in TINY_ENGINES:
        require_engine(e)
    dest = tmp_path_factory.mktemp("synth")
    report = synth.synthesize(dest, engines=TINY_ENGINES, words=TINY_WORDS, speakers=TINY_SPEAKERS, n_jobs=2,
                              progress=False)
    return dest, report


def test_every_voice_of_the_debian_packages_works():
    """All 104 catalogue voices are installed and render (else: the package to install)."""
    for e in synth.ENGINES:
        require_engine(e)
    found = {v.speaker for v in synth.available_voices()}
    missing = [v for v in synth.catalogue() if v.speaker not in found]
    assert not missing, "voices missing; apt-get install " + " ".join(sorted({v.package for v in missing})) + \
        " (" + ", ".join(v.speaker for v in missing) + ")"


def test_tiny_render_files(tiny):
    dest, report = tiny
    assert report.rendered == len(TINY_SPEAKERS) * len(TINY_WORDS) * synth.SETTINGS_PER_WORD
    assert not report.rejected and not report.failed
    for row in report.rows:
        path = dest / row["path"]
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16"), path
        y, sr = sf.read(path, dtype="float32")
        peak = np.abs(y).max()
        assert peak == pytest.approx(10 ** (synth.PEAK_DBFS / 20), abs=2e-3), path  # normalized, not silent
        assert 0.15 < len(y) / sr < 2.0, path
        db = _frames_db(y, sr)
        # trimmed: the edges are quiet next to the word, and the word starts and ends within 100 ms of them
        assert db[0] < -12 and db[-1] < -12, (path, db[:3], db[-3:])
        assert (db[:10] > -30).any() and (db[-10:] > -30).any(), (path, db[:10], db[-10:])


def test_manifest_matches_files(tiny):
    dest, report = tiny
    rows = _read_csv(dest / "manifest.csv")
    assert rows and list(rows[0]) == list(synth.MANIFEST_COLUMNS)
    on_disk = {p.relative_to(dest).as_posix() for p in _wavs(dest)}
    assert {r["path"] for r in rows} == on_disk
    assert len(rows) == len(TINY_SPEAKERS) * len(TINY_WORDS) * synth.SETTINGS_PER_WORD
    for r in rows:
        word, name = r["path"].split("/")
        assert word == r["word"] and r["word"] in TINY_WORDS
        assert r["is_digit"] == "1" and r["digit"] == str(synth.DIGIT_WORDS.index(r["word"]))
        speaker, n = name[: -len(".wav")].split("_nohash_")
        assert speaker == r["speaker"] and re.fullmatch(r"[a-z0-9+.-]+", speaker)
        grid = synth.Voice(r["engine"], r["voice"], r["variant"]).grid()
        s = grid[int(n)]
        assert r["rate"] == f"{s.rate:g}" and r["pitch"] == ("" if s.pitch is None else f"{s.pitch:g}")
    # each (speaker, word) has SETTINGS_PER_WORD distinct settings
    per = {}
    for r in rows:
        per.setdefault((r["speaker"], r["word"]), set()).add(r["path"])
    assert all(len(v) == synth.SETTINGS_PER_WORD for v in per.values())
    assert (dest / "SOURCE.md").read_text().count("flite-slt") >= 1


def test_held_out_voices(tiny):
    dest, _ = tiny
    rows = _read_csv(dest / "manifest.csv")
    splits = {}
    for r in rows:
        splits.setdefault(r["speaker"], set()).add(r["split"])
    assert splits == {"espeak-en-us": {"train"}, "flite-slt": {"test"}}
    cat = synth.catalogue()
    held = [v for v in cat if v.split == "test"]
    assert {v.speaker for v in held} == synth.HELD_OUT_SPEAKERS
    assert 0.15 <= len(held) / len(cat) <= 0.21
    assert {"espeak", "flite", "festival"} <= {v.engine for v in held}
    # the Arctic SLT speaker is held out in both engines that have her
    assert {"flite-slt", "festival-cmu-us-slt-arctic-hts"} <= synth.HELD_OUT_SPEAKERS


def test_rerun_skips_existing_files(tiny):
    dest, first = tiny
    mtimes = {p: p.stat().st_mtime_ns for p in _wavs(dest)}
    stale = dest / "one" / ".tmp-interrupted.wav"  # what a killed run leaves
    stale.write_bytes(b"RIFF")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))  # an hour old: not a concurrent run's
    fresh = dest / "one" / ".tmp-concurrent.wav"  # another run writing into DEST right now
    fresh.write_bytes(b"RIFF")
    manifest = (dest / "manifest.csv").read_text()
    again = synth.synthesize(dest, engines=TINY_ENGINES, words=TINY_WORDS, speakers=TINY_SPEAKERS, n_jobs=2,
                             progress=False)
    assert (again.rendered, again.skipped) == (0, len(mtimes))
    assert {p: p.stat().st_mtime_ns for p in _wavs(dest)} == mtimes
    assert not stale.exists() and fresh.exists()
    fresh.unlink()
    assert (dest / "manifest.csv").read_text() == manifest


def test_missing_engine_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng, flite or text2wave
    with pytest.raises(DataError, match=r"apt-get install espeak-ng flite festival festvox-kallpc16k"):
        synth.synthesize(tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_missing_engine_cli(tmp_path):
    from click.testing import CliRunner

    from spoken_digits_cli import main

    res = CliRunner().invoke(main, ["data", "synth", "--dest", str(tmp_path / "out")], env={"PATH": str(tmp_path)})
    assert res.exit_code == 1
    assert "no text-to-speech engine is installed" in res.output and "apt-get install espeak-ng" in res.output


def test_unavailable_speaker_names_its_package():
    require_engine("flite")
    with pytest.raises(synth.SynthError, match="not selected"):
        synth.synthesize("/nonexistent/never-written", engines=("flite",), words="digits",
                         speakers=["festival-ked-diphone"], progress=False)
    with pytest.raises(synth.SynthError, match="unknown speaker"):
        synth.synthesize("/nonexistent/never-written", engines=("flite",), speakers=["flite-nobody"], progress=False)


def test_cli_help_explains_units():
    from click.testing import CliRunner

    from spoken_digits_cli import main

    out = CliRunner().invoke(main, ["data", "synth", "--help"]).output
    for text in ("words per minute", "stretch", "0-99", "Hz", "--passages", "--all-settings", "--jobs"):
        assert text in out


def test_festival_voices_render_and_obey_rate():
    """Each festival voice renders; its duration follows the stretch (Duration_Stretch / hts -r)."""
    require_engine("festival")
    for name, package in synth.FESTIVAL_VOICES.items():
        v = synth.Voice("festival", name)
        lengths = []
        for rate in (0.8, 1.25):
            pitch = v.normal_setting().pitch
            try:
                y, sr = synth.render_raw(v, "seven", synth.Setting(rate, pitch))
            except synth.SynthError as e:
                pytest.fail(f"festival voice {name} does not work ({e}): apt-get install {package}")
            z = synth.postprocess(y, sr)
            assert z is not None, f"festival voice {name} rendered nothing: apt-get install {package}"
            lengths.append(len(z))
        assert lengths[1] > 1.2 * lengths[0], (name, lengths)


def test_empty_renders_are_rejected():
    assert synth.postprocess(np.zeros(0, np.float32), 16000) is None
    assert synth.postprocess(np.zeros(16000, np.float32), 16000) is None
    assert synth.postprocess(np.full(16000, 1e-6, np.float32), 16000) is None
    tone = np.sin(2 * np.pi * 200 * np.arange(16000) / 16000).astype(np.float32) * 0.1
    out = synth.postprocess(np.concatenate([np.zeros(8000, np.float32), tone, np.zeros(8000, np.float32)]), 16000)
    assert out is not None and abs(len(out) / 22050 - 1.0) < 0.1  # 0.5 s silences trimmed to ~1 s of tone


def test_word_lists_and_passage_are_clean():
    assert 40 <= len(synth.NON_DIGIT_WORDS) <= 60
    assert len(set(synth.ALL_WORDS)) == len(synth.ALL_WORDS)
    assert not set(synth.NON_DIGIT_WORDS) & (set(synth.DIGIT_WORDS) | set(synth.DIGIT_HOMOPHONES))
    assert synth.passage_violations() == []
    assert len(synth.PASSAGE.split()) >= 500
    assert synth.passage_violations("Someone went to the shop for bread at seven, twice.") == \
        ["someone", "to", "for", "seven", "twice"]


def test_settings_choice_is_deterministic():
    v = synth.Voice("espeak", "en-gb-scotland", "m3")
    assert v.speaker == "espeak-en-gb-scotland+m3"
    assert synth.Voice("festival", "ked_diphone").speaker == "festival-ked-diphone"
    a = [synth.choose_settings(v, w, seed=42) for w in synth.ALL_WORDS]
    assert a == [synth.choose_settings(v, w, seed=42) for w in synth.ALL_WORDS]
    assert a != [synth.choose_settings(v, w, seed=1) for w in synth.ALL_WORDS]
    assert all(len(set(i)) == 3 and max(i) < len(v.grid()) for i in a)
    jobs = synth.plan([v], ["one"], all_settings=True)
    assert [j.index for j in jobs] == list(range(9))
    assert all("_nohash_" not in x.speaker and re.fullmatch(r"[a-z0-9+.-]+", x.speaker) for x in synth.catalogue())


def test_passage_by_held_out_voice(tmp_path):
    require_engine("espeak")
    speakers = ["espeak-en-us-nyc+f4", "espeak-en-us-nyc"]  # held out, train
    report = synth.synthesize(tmp_path, engines=("espeak",), words=("nine",), speakers=speakers, passages=True,
                              progress=False)
    rows = _read_csv(tmp_path / "passages.csv")
    assert [r["speaker"] for r in rows] == ["espeak-en-us-nyc+f4"] and report.passages == rows
    info = sf.info(str(tmp_path / rows[0]["path"]))
    assert (info.samplerate, info.channels) == (22050, 1)
    assert info.duration > 150 and float(rows[0]["duration_s"]) == pytest.approx(info.duration, abs=0.01)
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "passages").iterdir())
    assert os.path.getsize(tmp_path / "manifest.csv") > 0
    # the training voice reads the other passage (continuous-speech negatives), never the test one
    train_rows = _read_csv(tmp_path / "train_passages.csv")
    assert [r["speaker"] for r in train_rows] == ["espeak-en-us-nyc"] and report.train_passages == train_rows
    assert train_rows[0]["path"] == "train_passages/espeak-en-us-nyc.wav"
    assert not (tmp_path / "passages" / "espeak-en-us-nyc.wav").exists()
    assert 60 < float(train_rows[0]["duration_s"]) < info.duration  # ~320 words vs ~640


def test_passages_hold_no_digit_words():
    assert synth.passage_violations() == [] and synth.passage_violations(synth.TRAIN_PASSAGE) == []
    assert synth.passage_violations("we went to town for one day") == ["to", "for", "one"]
    shared = set(synth.PASSAGE.lower().split()) & set(synth.TRAIN_PASSAGE.lower().split())
    assert synth.TRAIN_PASSAGE != synth.PASSAGE and len(shared) < 0.4 * len(set(synth.TRAIN_PASSAGE.lower().split()))


def test_extra_variants_are_training_voices_and_leave_the_held_out_ones_alone(tmp_path):
    """``data synth --extra-variants``: 12 more espeak-ng variants with every accent but the held-out
    one; none of them is held out, the held-out voices are the same, and they render."""
    require_engine("espeak")
    base, extra = synth.catalogue(), synth.catalogue(extra_variants=True)
    assert extra[: len(base)] == base  # the other voices keep their order
    added = extra[len(base):]
    assert len(added) == len(synth.ESPEAK_EXTRA_VARIANTS) * (len(synth.ESPEAK_ACCENTS) - len(synth.HELD_OUT_ESPEAK_ACCENTS))
    assert all(v.split == "train" and v.voice not in synth.HELD_OUT_ESPEAK_ACCENTS for v in added)
    assert not set(synth.ESPEAK_EXTRA_VARIANTS) & set(synth.ESPEAK_VARIANTS)
    assert {v.speaker for v in extra if v.split == "test"} == synth.HELD_OUT_SPEAKERS
    found = {v.speaker for v in synth.available_voices(("espeak",), extra_variants=True)}
    assert {v.speaker for v in added} <= found
    assert not {v.speaker for v in added} & {v.speaker for v in synth.available_voices(("espeak",))}
    # an extra voice renders by its speaker id, but only when asked for
    who = "espeak-en-gb-scotland+grandma"
    with pytest.raises(synth.SynthError, match="--extra-variants"):
        synth.synthesize(tmp_path / "no", engines=("espeak",), words=("one",), speakers=[who], progress=False)
    report = synth.synthesize(tmp_path / "yes", engines=("espeak",), words=("one",), speakers=[who],
                              extra_variants=True, progress=False)
    assert [r["speaker"] for r in report.rows] == [who] * synth.SETTINGS_PER_WORD
    assert {r["split"] for r in report.rows} == {"train"} and {r["variant"] for r in report.rows} == {"grandma"}
    assert "--extra-variants" in (tmp_path / "yes" / "SOURCE.md").read_text()


def test_string_texts_say_their_digits_with_spaces_and_some_ohs():
    import random

    from trainer.data.strings import digits_of_transcript

    rng = random.Random(0)
    texts = [synth.string_text("1000507", rng) for _ in range(40)]
    assert all(digits_of_transcript(t) == "1000507" for t in texts)
    assert all("," not in t and "." not in t for t in texts)  # punctuation would make the engine pause
    zeros = [w for t in texts for w in t.split() if w in ("oh", "zero")]
    assert 0.1 < zeros.count("oh") / len(zeros) < 0.5


def test_string_plans_are_per_voice_deterministic_and_in_range():
    voices = [synth.Voice("espeak", "en-us"), synth.Voice("flite", "slt")]
    jobs = synth.plan_strings(voices, 20, seed=3)
    assert len(jobs) == 40 and len({j.rel_path for j in jobs}) == 40
    lo, hi = synth.STRING_LENGTHS
    assert all(lo <= len(j.word) <= hi and j.word.isdigit() for j in jobs)
    assert all(j.setting in j.voice.grid() for j in jobs)
    # a voice's strings do not depend on the other voices planned with it
    alone = synth.plan_strings(voices[1:], 20, seed=3)
    assert [(j.word, j.text, j.setting) for j in alone] == [(j.word, j.text, j.setting) for j in jobs[20:]]
    assert [j.word for j in synth.plan_strings(voices, 20, seed=4)] != [j.word for j in jobs]


def test_strings_are_rendered_as_one_utterance_and_listed(tmp_path):
    require_engine("espeak")
    speakers = ["espeak-en-us-nyc+f4", "espeak-en-us-nyc"]  # held out, train
    report = synth.synthesize(tmp_path, engines=("espeak",), words=("nine",), speakers=speakers, strings=2,
                              progress=False)
    rows = _read_csv(tmp_path / "strings.csv")
    assert rows == report.strings and len(rows) == 4 and tuple(rows[0]) == synth.STRING_COLUMNS
    assert {r["speaker"]: r["split"] for r in rows} == {"espeak-en-us-nyc+f4": "test", "espeak-en-us-nyc": "train"}
    for r in rows:
        y, sr = sf.read(tmp_path / r["path"])
        assert sr == 22050 and y.ndim == 1
        # a string of n digits lasts about as long as n words, not one
        assert 0.2 * len(r["digits"]) < len(y) / sr < 1.0 * len(r["digits"]) + 0.5
    assert "`strings/`: 4 digit strings (2 by held-out voices)" in (tmp_path / "SOURCE.md").read_text()
    # a rerun without strings keeps the list
    again = synth.synthesize(tmp_path, engines=("espeak",), words=("nine",), speakers=speakers, progress=False)
    assert again.strings == rows and (tmp_path / "strings.csv").is_file()
