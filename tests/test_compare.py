"""``spoken-digits compare``: one table over several bundles (issue 10)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPOKEN_DIGITS_SHARED_DATA", REPO.parent / "shared" / "data"))


def _row(**kw) -> dict:
    row = {"bundle": "/x/bundles/ds_cnn", "model": "ds_cnn", "threshold": 0.6, "labels": 12,
           "accuracy": {"clean": 0.9123, "babble_10": None}, "items": {"clean": 343, "babble_10": 0},
           "window_accuracy": {"clean": 0.95, "babble_10": None}, "fa_rate": 0.0512, "fa_clips": 916, "fa_per_hour": None, "params": 24332,
           "trainable_params": 23000, "tflite_bytes": 46080, "quantization": "int8", "front_end_ms": 0.31,
           "invoke_ms": 2.345, "interpreter": "tflite_runtime", "train_s": 1800.0, "epochs": 30, "notes": []}
    return {**row, **kw}


def test_table_cells_and_markdown():
    from trainer.evaluation.compare import COLUMNS, markdown, table_cells

    cells = table_cells(_row())
    assert len(cells) == len(COLUMNS)
    assert cells[:11] == ["ds_cnn", "ds_cnn", "0.6", "0.912 (343)", "- (0)", "0.950", "-", "- (0)", "0.051 (916)",
                          "-", "-"]
    assert cells[11:14] == ["- (0)", "- (0)", "- (0)"]  # no string columns
    assert cells[14:17] == ["-", "-", "-"]  # no --fa-per-hour: no DET budgets
    assert cells[17:] == ["24,332", "45.0", "0.31", "2.35", "30 min (30 ep)"]
    with_det = table_cells(_row(fa_per_hour=37.6, real_accuracy=0.8123, real_items=480, real_fa_per_hour=12.34,
                                miss_at_fa_per_hour={
        "40": {"threshold": 0.9, "miss_rate": 0.4012, "fa_per_hour": 37.6}, "10": None,
        "5": {"threshold": 0.99, "miss_rate": 0.7, "fa_per_hour": 4.2}}))
    assert with_det[7] == "0.812 (480)"
    assert with_det[9:11] == ["38", "12.3"] and with_det[14:17] == ["0.401", "-", "0.700"]
    with_strings = table_cells(_row(string_exact={"real": 0.6667, "tts": 0.63, "assembled": None},
                                    string_items={"real": 3, "tts": 200, "assembled": 0}))
    assert with_strings[11:14] == ["0.667 (3)", "0.630 (200)", "- (0)"]
    md = markdown({"rows": [_row(), _row(bundle="/y/deploy", model="spectrogram_aug", params=None, train_s=None)]})
    lines = md.splitlines()
    assert lines[0].startswith("| bundle | model | threshold | clean | babble 10 dB |") and len(lines) == 4
    assert lines[3].startswith("| deploy | spectrogram_aug |") and "| - |" in lines[3]


def test_string_columns_pool_every_source_of_a_kind_in_clean():
    from trainer.evaluation.compare import Row, set_string_columns

    table = {"assembled:fsdd:clean": {"strings": 10, "exact": 0.6},
             "assembled:speech_commands:clean": {"strings": 30, "exact": 0.2},
             "assembled:speech_commands:babble_10": {"strings": 30, "exact": 0.0},
             "real:speechocean762:clean": {"strings": 3, "exact": 2 / 3},
             "speech:speechocean762:clean": {"items": 5, "false_digits": 1}}
    row = Row("b", "m", 0.5, 12, {}, {}, {}, None, 0)
    set_string_columns(row, table)
    assert row.string_exact == {"real": 0.6667, "tts": None, "assembled": 0.3}
    assert row.string_items == {"real": 3, "tts": 0, "assembled": 40} and row.string_table is table


def test_pocketsphinx_baseline_decodes_digits_and_says_how_to_install_it(monkeypatch):
    import builtins

    import numpy as np
    import soundfile as sf

    from trainer.data.corpus import word_label
    from trainer.evaluation.baselines import PocketSphinxDigits
    from trainer.errors import DataError

    clips = sorted((SHARED / "speech_commands_digits").glob("*/*.wav"))[::6]
    if not clips:
        pytest.skip("needs ../shared/data/speech_commands_digits")
    dec = PocketSphinxDigits()
    got = []
    for p in clips:
        y, rate = sf.read(p, dtype="float32")
        got.append(dec.decode(y, rate) == word_label(p.parent.name))
    assert np.mean(got) >= 0.6, np.mean(got)  # a real digit recognizer, not a stub
    assert dec.decode(np.zeros(16000, np.float32), 16000) in (None, *map(str, range(10)))  # never a word
    # the digit-loop grammar (for digit strings) reads several digits from three clips said in a row
    loop = PocketSphinxDigits(loop=True)
    three = []
    for i in range(0, 15, 3):
        parts = []
        for p in clips[i:i + 3]:
            y, rate = sf.read(p, dtype="float32")
            parts += [y, np.zeros(int(0.2 * rate), np.float32)]
        three.append(loop.decode_string(np.concatenate(parts), rate))
    assert all(s.isdigit() or s == "" for s in three) and sum(len(s) >= 2 for s in three) >= 4, three
    assert len(dec.decode_string(np.concatenate(parts), rate)) <= 1  # the one-digit grammar: one word at most
    real_import = builtins.__import__

    def no_pocketsphinx(name, *a, **kw):
        if name == "pocketsphinx":
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pocketsphinx)
    with pytest.raises(DataError, match=r"spoken-digits\[baselines\]"):
        PocketSphinxDigits()


def test_display_names_tell_bundles_of_one_folder_name_apart():
    from trainer.evaluation.compare import display_names, markdown

    assert display_names(["bundles/ds_cnn/spoken-digits", "bundles/lstm/spoken-digits", "realtime/models/default"]) == [
        "ds_cnn/spoken-digits", "lstm/spoken-digits", "default"]
    assert display_names(["a/x", "a/x"]) == ["a/x", "a/x"]  # the same path twice: all of it
    md = markdown({"rows": [_row(bundle="b/one/spoken-digits"), _row(bundle="b/two/spoken-digits")]})
    assert "| one/spoken-digits | ds_cnn |" in md and "| two/spoken-digits | ds_cnn |" in md


def test_miss_at_fa_per_hour_picks_the_best_threshold_within_each_budget():
    from trainer.evaluation.robustness.score import Dec, miss_at_fa_per_hour, sweep

    def dec(top, p):
        return Dec(top=top, confidence=p, top_digit=top if top.isdigit() else "1", top_digit_p=p, start_s=0.0, end_s=0.3)

    # 4 digit items: right at confidences 0.95, 0.8, 0.6; the last one wrong (a "7" for a "3")
    items = [("1", [dec("1", 0.95)]), ("2", [dec("2", 0.8)]), ("4", [dec("4", 0.6)]), ("3", [dec("7", 0.99)])]
    # negatives over 2 hours: false digits at 0.9, 0.7, 0.5, and one rejection that never counts
    negatives = [dec("5", 0.9), dec("6", 0.7), dec("8", 0.5), dec("_unknown_", 0.99)]
    curve = sweep(items, negatives, hours=2.0)
    best = miss_at_fa_per_hour(curve, [10.0, 1.0, 0.5, 0.0])
    # <= 10/h: every threshold; the lowest miss (0.25, only the wrong item) at threshold 0 (1.5 FA/h)
    assert best[10.0] == {"threshold": 0.0, "miss_rate": 0.25, "fa_per_hour": 1.5}
    # <= 1/h: thresholds above 0.5 (two false digits, 1/h) keep the 0.6 and 0.8 and 0.95 digits: miss 0.25
    assert best[1.0]["miss_rate"] == 0.25 and best[1.0]["fa_per_hour"] == 1.0 and 0.5 < best[1.0]["threshold"] <= 0.6
    # <= 0.5/h: above 0.7, the 0.6 digit is lost: miss 0.5
    assert best[0.5]["miss_rate"] == 0.5 and best[0.5]["fa_per_hour"] == 0.5
    # 0/h: above 0.9 only the 0.95 digit remains
    assert best[0.0]["miss_rate"] == 0.75 and best[0.0]["fa_per_hour"] == 0.0
    assert miss_at_fa_per_hour({"threshold": [0.5], "miss_rate": [0.1], "fa_per_hour": [3.0]}, [1.0]) == {1.0: None}


@pytest.mark.slow
def test_quick_compare_of_two_copies_of_the_shipped_bundle(tmp_path):
    for sub in ("fsdd/recordings", "speech_commands_v0.02_test", "speech_commands_digits", "noise"):
        if not (SHARED / sub).is_dir():
            pytest.fail(f"shared data {SHARED / sub} not found (set SPOKEN_DIGITS_SHARED_DATA)")
    from click.testing import CliRunner

    from realtime.bundle import DEFAULT_BUNDLE, load_bundle
    from spoken_digits_cli import main

    shipped = load_bundle(DEFAULT_BUNDLE)
    copy = tmp_path / "copy"
    shutil.copytree(shipped.directory, copy)
    out = tmp_path / "c.json"
    r = CliRunner().invoke(main, ["compare", str(shipped.directory), str(copy), "--quick", "--data-root", str(SHARED),
                                  "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--out", str(out),
                                  "--markdown", "--fa-per-hour", "--baseline", "pocketsphinx"])
    assert r.exit_code == 0, r.output
    assert "| bundle | model | threshold | clean | babble 10 dB | clean, window |" in r.output
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 3
    a, b, peer = rows
    # the peer decoder, on the same items: digit columns only
    assert peer["baseline"] and peer["model"].startswith("pocketsphinx") and peer["threshold"] is None
    assert peer["items"] == a["items"] and peer["real_items"] == a["real_items"] and peer["fa_rate"] is None
    assert 0.3 < peer["accuracy"]["clean"] <= 1.0  # it does recognize digits
    assert "| pocketsphinx |" in r.output
    # the same model on the same cached sets: the same numbers
    for key in ("accuracy", "items", "fa_rate", "fa_clips", "tflite_bytes", "threshold", "fa_per_hour",
                "miss_at_fa_per_hour"):
        assert a[key] == b[key], key
    assert "| miss @ 40 FA/h | miss @ 10 FA/h | miss @ 5 FA/h |" in r.output
    # digit strings through the recognize path (the shipped bundle reads them), and the peer's digit loop on the same
    assert a["strings"] and a["string_exact"] == b["string_exact"] and a["string_items"] == peer["string_items"]
    assert a["string_items"]["assembled"] == 20 and a["string_items"]["real"] >= 1  # 10 per group with --quick
    assert a["string_exact"]["assembled"] > 0.2 and peer["string_exact"]["assembled"] is not None
    assert a["fa_per_hour"] >= 0 and set(a["miss_at_fa_per_hour"]) == {"40", "10", "5"}
    # a tighter budget never misses less, and each point keeps within its budget
    points = [(float(k), a["miss_at_fa_per_hour"][k]) for k in ("40", "10", "5")]
    assert points[0][1] is not None
    reached = [(k, p) for k, p in points if p is not None]
    assert all(p["fa_per_hour"] <= k for k, p in reached)
    misses = [p["miss_rate"] for _, p in reached]
    assert misses == sorted(misses)
    # --quick: at most 20 digits per source (FSDD, both Speech Commands digit copies)
    assert a["items"]["clean"] == a["items"]["babble_10"] and 40 < a["items"]["clean"] <= 60 and a["fa_clips"] > 0
    # the held-out real Speech Commands speakers (both digit copies) and real read sentences have their own cells
    assert 20 < a["real_items"] < a["items"]["clean"] and 0 <= a["real_accuracy"] <= 1
    assert a["real_fa_per_hour"] is not None and a["real_fa_per_hour"] >= 0
    assert 0 <= a["accuracy"]["clean"] <= 1 and 0 <= a["fa_rate"] <= 1
    assert a["tflite_bytes"] == shipped.spec["files"]["tflite"]["bytes"]
    assert a["front_end_ms"] > 0 and a["invoke_ms"] > 0 and a["interpreter"] in ("tflite_runtime", "ai_edge_litert")
    # parameters come from the Keras model of the run in the provenance (relative to the bundle): the copy's
    # relative path leads nowhere, so it has none, and a note says why
    prov = shipped.spec["provenance"]
    if (shipped.directory / prov["run"] / prov["model_path"]).exists():
        assert a["params"] >= a["trainable_params"] > 0
    assert not (copy / prov["run"] / prov["model_path"]).exists()
    assert b["params"] is None and any("Keras model not found" in n for n in b["notes"])


def test_strings_baseline_decodes_the_same_items_with_the_digit_loop():
    """``spoken-digits strings --baseline pocketsphinx``: every item decoded whole, scored by the same table."""
    import numpy as np
    import soundfile as sf

    from trainer.data.corpus import word_label
    from trainer.evaluation.string_robustness import StringItem, run_baseline, summarize

    clips = sorted((SHARED / "speech_commands_digits").glob("*/*.wav"))[:40:8]
    if not clips:
        pytest.skip("needs ../shared/data/speech_commands_digits")
    import soxr

    items = []
    for i, p in enumerate(clips):
        y, rate = sf.read(p, dtype="float32")
        items.append(StringItem(f"c{i}", "isolated", "speech_commands", "x", word_label(p.parent.name),
                                soxr.resample(y, rate, 22050).astype(np.float32)))
    items.append(StringItem("quiet", "speech", "speechocean762", "y", "", np.zeros(22050 * 3, np.float32)))
    res = run_baseline(items, conditions=("clean",))
    assert [r["id"] for r in res] == [it.id for it in items] and all(r["read"].isdigit() or r["read"] == "" for r in res)
    table = summarize(res)
    assert table["isolated:speech_commands:clean"]["items"] == len(clips)
    speech = table["speech:speechocean762:clean"]
    assert speech["items"] == 1 and speech["false_digits"] == len(res[-1]["read"])
    assert res[-1]["seconds"] == pytest.approx(4.0)  # the 3 s item between 0.5 s of silence, as run_items plays it
