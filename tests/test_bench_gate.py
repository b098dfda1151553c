"""The design command of the steady-noise release of the digit length gate (trainer/benchmarks/gate.py)."""
from __future__ import annotations

import math
from pathlib import Path

from realtime import constants as C
from realtime.segmenter import Utterance
from trainer.benchmarks.gate import Heard, accepted, released, score, validation_rows
from trainer.data.corpus import CorpusClip
from trainer.evaluation.robustness.sets import NOISE_LABEL


def test_validation_rows_move_validation_material_into_the_test_split_and_held_out_material_out():
    rows = [CorpusClip(Path("7_george_3.wav"), "7", "seven", "george", "fsdd", "test"),
            CorpusClip(Path("7_george_44.wav"), "7", "seven", "george", "fsdd", "train"),
            CorpusClip(Path("7_george_45.wav"), "7", "seven", "george", "fsdd", "train"),
            CorpusClip(Path("a_nohash_0.wav"), "7", "seven", "a", "speech_commands_digits", "val"),
            CorpusClip(Path("b_nohash_0.wav"), "7", "seven", "b", "speech_commands_digits", "test"),
            CorpusClip(Path("c_nohash_0.wav"), "7", "seven", "c", "speech_commands_digits", "train"),
            CorpusClip(Path("rain.wav"), NOISE_LABEL, NOISE_LABEL, "", "noise", "train"),
            CorpusClip(Path("wind.wav"), NOISE_LABEL, NOISE_LABEL, "", "noise", "test")]
    got = [r.split for r in validation_rows(rows)]
    assert got == ["excluded", "train", "test", "test", "excluded", "train", "test", "excluded"]


def _utterance(background_dbfs: float, spread_db: float, peak_over_floor_db: float) -> Utterance:
    import numpy as np

    return Utterance(0, 0, 2205, 5512, np.zeros(17640, np.float32), 2205, 100.0, 22050, peak_dbfs=-30.0,
                     floor_dbfs=-30.0 - peak_over_floor_db, background_dbfs=background_dbfs,
                     background_spread_db=spread_db)


def test_release_rule_is_the_recognizers_at_the_shipped_limits():
    """bench_gate's rule with the constants' limits is Utterance.in_steady_noise, on either side of each limit."""
    cases = [(-45.0, 1.0, 15.0), (-45.0, 2.9, 24.9), (-45.0, 3.1, 15.0), (-45.0, 1.0, 25.1), (-75.0, 1.0, 15.0),
             (math.nan, math.nan, 15.0)]
    for bg, spread, peak in cases:
        u = _utterance(bg, spread, peak)
        h = Heard("7", 0.99, 100.0, bg, spread, peak)
        assert released(h, C.STEADY_NOISE_MAX_SPREAD_DB, C.STEADY_NOISE_MAX_PEAK_OVER_FLOOR_DB) is u.in_steady_noise
    assert [_utterance(*c).in_steady_noise for c in cases] == [True, True, False, False, False, False]


def test_score_applies_gate_threshold_and_release():
    steady_short = Heard("7", 0.95, 100.0, -45.0, 1.0, 15.0)  # too short, but in steady noise
    running_short = Heard("7", 0.95, 100.0, -45.0, 9.0, 15.0)  # too short, pauses of running speech around it
    long_unsure = Heard("7", 0.5, 400.0, -45.0, 1.0, 15.0)
    assert accepted(steady_short, 0.79, 3.0, 25.0) and not accepted(steady_short, 0.79, None, 25.0)
    assert not accepted(running_short, 0.79, 3.0, 25.0) and accepted(running_short, 0.79, math.inf, math.inf)
    assert not accepted(long_unsure, 0.79, 3.0, 25.0) and not accepted(Heard("_unknown_", 0.99, 400.0, -45.0, 1.0, 15.0),
                                                                       0.0, 3.0, 25.0)
    data = {"items": [("noise_10", "7", [steady_short]), ("noise_10", "3", [steady_short]), ("clean", "7", [long_unsure])],
            "streams": {"passages": ([running_short, steady_short], 1800.0)}, "clips": [[running_short], []]}
    r = score(data, 0.79, 3.0, 25.0)
    assert r["accuracy"] == {"noise_10": 0.5, "clean": 0.0} and r["false_digits"] == {"passages": 1}
    assert r["fa_per_hour"] == 2.0 and r["clips_accepted"] == 0 and r["clips"] == 2
    r = score(data, 0.79, None, 25.0)
    assert r["accuracy"]["noise_10"] == 0.0 and r["false_digits"] == {"passages": 0}
