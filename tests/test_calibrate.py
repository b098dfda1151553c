"""``spoken-digits calibrate``: false digits of a background, the string model's included."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class FakeDecision:
    def __init__(self, label, top, confidence, *, is_string=False, too_short=False, confirmed=False, vetoed=False):
        self.label, self.top_label, self.confidence = label, top, confidence
        self.is_string, self.too_short, self.confirmed, self.vetoed = is_string, too_short, confirmed, vetoed

    @property
    def digits(self):
        return self.label if self.label not in ("_silence_", "_unknown_") else ""


def test_string_digits_count_at_every_threshold():
    from realtime.calibration import THRESHOLD_STEP, calibrate_decisions

    decisions = [FakeDecision("_unknown_", "3", 0.95), FakeDecision("_unknown_", "7", 0.6),
                 FakeDecision("_silence_", "_silence_", 0.99), FakeDecision("_unknown_", "_unknown_", 0.9),
                 FakeDecision("_unknown_", "_unknown_", 0.4, is_string=True)]  # a string the model did not take
    alone = calibrate_decisions(decisions, 3600.0, target_per_hour=1.0, floor=0.5)
    # the lowest threshold over the 0.6 digit (grid of THRESHOLD_STEP) leaves the 0.95 one: 1 per hour
    assert (alone.string_false_digits, alone.false_accepts_per_hour, alone.met) == (0, 1.0, True)
    assert 0.6 < alone.threshold <= 0.6 + THRESHOLD_STEP
    assert alone.rejected == {"_silence_": 1, "_unknown_": 2}
    # a string of two digits accepted in the background: 2 false digits per hour whatever the threshold
    taken = decisions + [FakeDecision("41", "41", 0.93, is_string=True)]
    res = calibrate_decisions(taken, 3600.0, target_per_hour=3.0, floor=0.5)
    assert res.string_false_digits == 2 and res.threshold == alone.threshold and res.false_accepts_per_hour == 3.0
    assert res.met
    assert res.false_accepts_per_hour_at_floor == 4.0
    # the strings alone exceed the target: no threshold meets it
    res = calibrate_decisions(taken, 3600.0, target_per_hour=1.0, floor=0.5)
    assert not res.met and res.false_accepts_per_hour >= 2.0


def test_confirmed_digits_count_at_the_floor_only():
    """A digit the string model confirmed under the bundle's threshold is a false digit at that threshold; a
    stricter one turns confirmation off, so calibrate moves above the floor if the confirmed digits break the target."""
    from realtime.calibration import THRESHOLD_STEP, calibrate_decisions

    base = [FakeDecision("_unknown_", "3", 0.95), FakeDecision("_silence_", "_silence_", 0.99)]
    confirmed = [FakeDecision("7", "7", 0.85, confirmed=True)]  # accepted at the floor 0.9 by confirmation
    loose = calibrate_decisions(base + confirmed, 3600.0, target_per_hour=2.0, floor=0.9)
    assert (loose.threshold, loose.false_accepts_per_hour, loose.confirmed_false_digits, loose.met) == (0.9, 2.0, 1, True)
    assert loose.false_accepts_per_hour_at_floor == 2.0
    strict = calibrate_decisions(base + confirmed, 3600.0, target_per_hour=1.0, floor=0.9)
    assert strict.threshold == pytest.approx(0.9 + THRESHOLD_STEP) and strict.false_accepts_per_hour == 1.0 and strict.met
    # a confirmed digit over the floor is just a digit over the floor
    over = calibrate_decisions(base + [FakeDecision("7", "7", 0.93, confirmed=True)], 3600.0, target_per_hour=2.0,
                               floor=0.9)
    assert over.confirmed_false_digits == 0 and over.threshold == 0.9 and over.false_accepts_per_hour == 2.0


@pytest.mark.skipif(not (SHARED / "speechocean762" / "nondigit").is_dir(), reason="needs ../shared/data")
def test_calibrate_a_file_of_real_talk_with_and_without_the_string_model(tmp_path, monkeypatch):
    """Real people reading (no number word) as the background: the JSON says what was measured, the
    threshold is never below the bundle's, and --no-strings leaves the string model out."""
    import soundfile as sf
    from click.testing import CliRunner

    from spoken_digits_cli import main

    files = sorted((SHARED / "speechocean762" / "nondigit").glob("*/*.flac"))[:12]
    parts = []
    for f in files:
        y, rate = sf.read(f, dtype="float32")
        parts += [y, np.zeros(rate, np.float32)]
    wav = tmp_path / "talk.wav"
    sf.write(wav, np.concatenate(parts), rate)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    out = {}
    for flag in ([], ["--no-strings"]):
        r = CliRunner().invoke(main, ["calibrate", "--file", str(wav), "--dry-run", "--json", *flag])
        assert r.exit_code == 0, r.output
        out[bool(flag)] = json.loads(r.output.strip().splitlines()[-1])
    with_strings, without = out[False], out[True]
    assert without["string_false_digits"] == 0 and isinstance(with_strings["string_false_digits"], int)
    for res in (with_strings, without):
        assert res["threshold"] >= res["floor"]
        assert res["audio_s"] == pytest.approx(sum(sf.info(f).duration for f in files) + len(files), abs=0.1)
        assert res["written"] is None
    # with the string model the segmenter keeps sentences of 2-4 s as utterances; without it they are
    # longer than a digit can be and dropped, as 'listen --no-strings' drops them
    assert with_strings["utterances"] >= len(files) // 2 and without["utterances"] < with_strings["utterances"]
    assert not (tmp_path / "config").exists()  # --dry-run writes nothing


def test_vetoed_digits_are_never_false_digits():
    """A digit the string model vetoed is rejected at every threshold, as the length gate's."""
    from realtime.calibration import calibrate_decisions

    decisions = [FakeDecision("_unknown_", "3", 0.97, vetoed=True), FakeDecision("_unknown_", "5", 0.95),
                 FakeDecision("_unknown_", "1", 0.99, too_short=True)]
    res = calibrate_decisions(decisions, 3600.0, target_per_hour=0.0, floor=0.9)
    assert res.digit_confidences == [0.95] and res.false_accepts_per_hour_at_floor == 1.0
    assert res.threshold > 0.95 and res.false_accepts_per_hour == 0.0 and res.met
