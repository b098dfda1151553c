"""End to end through a real capture device: FSDD digits played into a virtual microphone,
recognized by ``spoken-digits listen --device pulse --json`` running as a subprocess."""
from __future__ import annotations

import pytest
from realtime.bundle import load_bundle
from vmic import SAFETY_LIMIT_S, build_digit_wav, lcs_length, parse_json_lines, start_listen

#: Ten FSDD official-test recordings (indices 0-4), every digit once, every speaker.
E2E_CLIPS = ["4_george_0", "1_jackson_1", "7_lucas_2", "0_nicolas_3", "9_theo_4",
             "2_yweweler_0", "5_george_1", "8_jackson_2", "3_lucas_3", "6_nicolas_4"]
EXPECTED = [int(n.split("_")[0]) for n in E2E_CLIPS]


@pytest.mark.parametrize("sink_rate_hz, device_rate_hz", [
    pytest.param(22050, None, id="device-at-bundle-rate"),
    pytest.param(48000, 48000, id="device-at-48kHz-resampled"),
])
def test_listen_recognizes_played_digits(fsdd_dir, bundle_path, vmic_factory, tmp_path, sink_rate_hz,
                                         device_rate_hz):
    mic = vmic_factory(sink_rate_hz)
    wav = tmp_path / "digits.wav"
    build_digit_wav(fsdd_dir, E2E_CLIPS, wav, sink_rate_hz, gap_s=0.6)
    # No --duration (how much audio to take): when the player starts depends on the machine's load.
    # listen runs until Ctrl-C; the test waits for events: its 'listening on' line, the end of the
    # playback, then its decisions. The limits (SAFETY_LIMIT_S) only stop a hung run.
    args = ["--device", "pulse", "--json", "--stats", "--model", str(bundle_path)]
    if device_rate_hz:
        args += ["--device-rate", str(device_rate_hz)]
    with start_listen(args, mic.env) as p:
        mic.play(wav)  # returns once the sink has played the whole WAV
        # The last digit is decided ~0.3 s into the WAV's 1.5 s of trailing silence. With fewer decisions
        # (a digit missed) the wait ends at the safety limit and the assertions below show what was heard.
        p.wait_for_decisions(len(EXPECTED), timeout_ok=True)
        p.interrupt()
        out, err = p.communicate()
    assert p.returncode == 0, err
    decisions = parse_json_lines(out)
    digits = [d["digit"] for d in decisions]
    tops = [d["top"] for d in decisions]
    print(f"\nplayed {EXPECTED}\nheard  {digits} (top classes {tops})\n{err.strip()}")
    assert len(decisions) <= len(EXPECTED), f"extra decisions: {digits}"
    # The live path hears the played digits: the top class of every utterance, in order. Whether a
    # borderline clip also clears the bundle's threshold is the operating point's accuracy, which
    # 'spoken-digits robustness' measures on 973 held-out items (the shipped bundle rejects about 4 %
    # of clean FSDD test digits at its threshold); 10 fixed clips cannot.
    assert lcs_length(tops, EXPECTED) >= 9, f"heard top classes {tops}, played {EXPECTED}"
    # ... and the bundle's threshold is applied: a digit is accepted exactly when it is the top class
    # with a probability at or above the threshold, else the decision is a rejection (digit null).
    threshold = load_bundle(bundle_path).threshold
    for d in decisions:
        accept = isinstance(d["top"], int) and d["confidence"] >= threshold
        assert d["digit"] == (d["top"] if accept else None), d
    # a bundle that rejects most clean digits at its own threshold is not fit to ship
    assert sum(d["digit"] is not None for d in decisions) >= 7, f"heard {digits}, played {EXPECTED}"
    for d in decisions:
        assert set(d) >= {"time_s", "digit", "label", "confidence", "probabilities", "latency_ms"}
        # every class of the bundle, by name; an accepted digit is its own label
        assert list(d["probabilities"]) == list(load_bundle(bundle_path).labels)
        assert abs(sum(d["probabilities"].values()) - 1) < 0.05
        assert d["digit"] is None or d["label"] == str(d["digit"])
        assert d["latency_ms"] is not None and d["latency_ms"] > 0
    times = [d["time_s"] for d in decisions]
    assert times == sorted(times)


def test_listen_ctrl_c_exits_cleanly(bundle_path, vmic_factory):
    """Ctrl-C once it captures: exit code 0, no traceback, no decision (the idle sink is digital silence).

    Waits for events (its 'listening on' line, then its exit), not for a time: the limits are a
    safety net against a hang, generous enough for a loaded machine."""
    mic = vmic_factory(22050)
    with start_listen(["--device", "pulse", "--json", "--model", str(bundle_path)], mic.env) as p:
        p.interrupt()
        out, err = p.communicate()
    assert p.returncode == 0, err
    assert "Traceback" not in err and "Aborted" not in err, err
    assert out == "", out


def test_listen_list_devices(vmic_factory):
    import subprocess

    from vmic import CLI

    mic = vmic_factory(22050)
    r = subprocess.run(CLI + ["listen", "--list-devices"], env=mic.env, capture_output=True, text=True,
                       timeout=SAFETY_LIMIT_S)
    assert r.returncode == 0, r.stderr
    assert "pulse" in r.stdout


def test_build_digit_wav_sets_every_recording_to_one_speech_level(fsdd_dir, tmp_path):
    """bench_listen's babble streams: each recording at one speech RMS, so an SNR holds per digit."""
    import numpy as np
    import soundfile as sf

    from realtime.audiofile import read_wav, resample
    from vmic import speech_rms

    names = ["9_theo_4", "4_jackson_3"]  # FSDD's quietest and one of its loudest voices
    raw = [speech_rms(resample(*read_wav(fsdd_dir / f"{n}.wav"), 22050)) for n in names]
    assert abs(20 * np.log10(raw[0] / raw[1])) > 10  # why the bench levels them
    wav = tmp_path / "d.wav"
    build_digit_wav(fsdd_dir, names, wav, 22050, gap_s=1.0, lead_s=0.5, tail_s=0.5, speech_rms_dbfs=-25.0)
    x, _ = sf.read(str(wav), dtype="float32")
    first_len = resample(*read_wav(fsdd_dir / f"{names[0]}.wav"), 22050).size
    a = x[int(0.5 * 22050): int(0.5 * 22050) + first_len]
    b = x[int(0.5 * 22050) + first_len + 22050: -int(0.5 * 22050)]
    for part in (a, b):
        assert abs(20 * np.log10(speech_rms(part)) + 25.0) < 0.5  # 16-bit storage moves it a little
