"""``recognize``: the shipped bundle over the FSDD official test, WAV formats, errors."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from vmic import CLI

from realtime.audiofile import read_wav, resample
from realtime.pipeline import recognize_file

#: FSDD README: recordings 0-4 of every speaker and digit are the official test set (300 files).
OFFICIAL_TEST_INDICES = range(5)
MIN_ACCURACY = 0.97
#: With the digit length gate (``realtime.constants.MIN_DIGIT_SPEECH_MS``): FSDD files are cut tight
#: around the speech, the noise floor of a file is estimated on the speech itself, and the segmenter
#: hears less of a fast speaker's digit than in context (yweweler's "zero": 249-259 ms as files, the
#: gate 260 ms). At threshold 0.5 the band-mean LSTM measured 0.973 with the gate against 0.990
#: without, the CRNN shipped after it 0.980 against 0.997 (2026-12-03).
MIN_ACCURACY_GATED = 0.96


@pytest.fixture(scope="module")
def classifier(bundle_path):
    from realtime.classifier import Classifier

    return Classifier(bundle_path)


def official_test_files(fsdd_dir):
    files = sorted(f for f in fsdd_dir.glob("*.wav") if int(f.stem.split("_")[2]) in OFFICIAL_TEST_INDICES)
    assert len(files) == 300, f"expected the 300 official test files in {fsdd_dir}, found {len(files)}"
    return files


@pytest.mark.parametrize("gate", [0.0, None], ids=["no-length-gate", "default-length-gate"])
def test_accuracy_on_official_test(fsdd_dir, classifier, gate):
    """A file is right when recognize finds exactly one digit in it, the right one (threshold 0.5)."""
    right, wrong = 0, []
    for f in official_test_files(fsdd_dir):
        ds = recognize_file(f, classifier.predict, model_rate_hz=classifier.sample_rate_hz,
                            window_samples=classifier.window_samples, labels=classifier.labels,
                            min_digit_speech_ms=gate)
        found = [d.symbol for d in ds]
        if found == [f.stem.split("_")[0]]:
            right += 1
        else:
            wrong.append(f"{f.name}: {' '.join(found) or '(none)'}")
    accuracy = right / 300
    print(f"\nrecognize accuracy on the 300 official test files (gate {gate}): {accuracy:.4f}; wrong: {wrong}")
    assert accuracy >= (MIN_ACCURACY if gate == 0.0 else MIN_ACCURACY_GATED), wrong


def write_variant(src, dst, rate_hz, subtype, channels):
    z = resample(*read_wav(src), rate_hz)
    if channels > 1:
        z = np.stack([z] * channels, axis=1)
    sf.write(str(dst), z, rate_hz, subtype=subtype)


def classifier_labels(bundle_path):
    from realtime.bundle import load_bundle

    return load_bundle(bundle_path).labels


def test_recognize_cli_formats_and_several_digits(fsdd_dir, bundle_path, tmp_path):
    """Any rate, channel count and bit depth; digits separated by pauses come out in order."""
    src = fsdd_dir / "7_theo_0.wav"
    variants = {  # name -> (rate, subtype, channels)
        "8k_16bit_mono.wav": (8000, "PCM_16", 1),
        "16k_24bit_stereo.wav": (16000, "PCM_24", 2),
        "44k_float_mono.wav": (44100, "FLOAT", 1),
        "48k_24bit_mono.wav": (48000, "PCM_24", 1),
        "22k_8bit_mono.wav": (22050, "PCM_U8", 1),
    }
    for name, (rate, subtype, ch) in variants.items():
        write_variant(src, tmp_path / name, rate, subtype, ch)
    # Three digits with 0.5 s of silence between them, at 48 kHz 24-bit; and each alone, written alike.
    lead, gap = np.zeros(12000, np.float32), np.zeros(24000, np.float32)
    names = ("3_george_1", "9_yweweler_2", "5_lucas_4")
    clips = [resample(*read_wav(fsdd_dir / f"{n}.wav"), 48000) for n in names]
    sf.write(str(tmp_path / "three.wav"), np.concatenate([lead] + [z for c in clips for z in (c, gap)]), 48000,
             subtype="PCM_24")
    for n, c in zip(names, clips):
        sf.write(str(tmp_path / f"alone_{n}.wav"), np.concatenate([lead, c, gap]), 48000, subtype="PCM_24")
    files = [tmp_path / n for n in variants] + [tmp_path / f"alone_{n}.wav" for n in names] + [tmp_path / "three.wav"]
    r = subprocess.run(CLI + ["recognize", "--model", str(bundle_path), *map(str, files)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    found = dict(line.rsplit(": ", 1) for line in r.stdout.splitlines())
    assert list(found) == [str(f) for f in files], r.stdout
    # 8-bit PCM adds a steady quantization floor about 50 dB under full scale: still a 7 on top, but its
    # probability may fall under the threshold (the shipped bundle gives this clip 0.690 at 8 bits; the
    # bundle before gave it 0.98: which clips a training keeps above the threshold at 8 bits is a draw).
    lossy = "22k_8bit_mono.wav"
    assert {found[str(tmp_path / n)] for n in variants if n != lossy} == {"7"}, r.stdout
    assert found[str(tmp_path / lossy)] in {"7", "?"}, r.stdout
    r8 = subprocess.run(CLI + ["recognize", "--model", str(bundle_path), "--json", str(tmp_path / lossy)],
                        capture_output=True, text=True, timeout=300)
    assert r8.returncode == 0, r8.stderr
    assert [json.loads(line)["top"] for line in r8.stdout.splitlines()] == [7], r8.stdout
    alone = [found[str(tmp_path / f"alone_{n}.wav")] for n in names]
    # The three utterances are found, and each gets the decision it gets alone.
    assert found[str(files[-1])].split() == alone, r.stdout
    assert sum(a == n[0] for a, n in zip(alone, names)) >= 2, r.stdout
    decided = [int(a) if a.isdigit() else None for a in alone]

    r = subprocess.run(CLI + ["recognize", "--model", str(bundle_path), "--json", str(files[-1])],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["digit"] for o in objs] == decided
    labels = list(classifier_labels(bundle_path))
    assert all(o["file"] == str(files[-1]) and list(o["probabilities"]) == labels and o["latency_ms"] is None
               and o["label"] == str(o["digit"]) for o in objs)
    assert objs[0]["time_s"] < objs[1]["time_s"] < objs[2]["time_s"]


def test_threshold_one_rejects(fsdd_dir, bundle_path):
    r = subprocess.run(CLI + ["recognize", "--model", str(bundle_path), "--threshold", "1",
                              str(fsdd_dir / "7_theo_0.wav")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(": ?")


@pytest.mark.parametrize("kind", ["text", "empty", "missing", "truncated"])
def test_unreadable_or_empty_wav(bundle_path, tmp_path, fsdd_dir, kind):
    f = tmp_path / "bad.wav"
    if kind == "text":
        f.write_text("this is not audio\n")
    elif kind == "empty":
        sf.write(str(f), np.zeros(0, np.float32), 8000, subtype="PCM_16")
    elif kind == "truncated":
        f.write_bytes((fsdd_dir / "7_theo_0.wav").read_bytes()[:30])
    r = subprocess.run(CLI + ["recognize", "--model", str(bundle_path), str(f)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(f) in lines[0], r.stderr


def test_interpreter_chosen_by_environment_variable(fsdd_dir, bundle_path, monkeypatch):
    """SPOKEN_DIGITS_INTERPRETER names the TFLite package (the DS-CNN runs 20x faster on ai-edge-litert than on
    tflite-runtime 2.14); an unknown name is a usage error naming the choices, not a traceback."""
    import importlib.util

    from click.testing import CliRunner

    import realtime.classifier as rc
    from spoken_digits_cli import main

    installed = [n for n in ("tflite_runtime", "ai_edge_litert") if importlib.util.find_spec(n) is not None]
    asked = []
    real = rc.load_interpreter_class

    def spy(name=None):
        asked.append(name)
        return real(name)

    monkeypatch.setattr(rc, "load_interpreter_class", spy)
    wav = str(fsdd_dir / "7_theo_0.wav")
    for name in installed[-1:] + [None]:
        if name is None:
            monkeypatch.delenv("SPOKEN_DIGITS_INTERPRETER", raising=False)
        else:
            monkeypatch.setenv("SPOKEN_DIGITS_INTERPRETER", name)
        asked.clear()
        r = CliRunner().invoke(main, ["recognize", "--model", str(bundle_path), "--json", wav])
        assert r.exit_code == 0, r.output
        # the classifier asks for the chosen package (None: the first installed); a string model, if the
        # bundle has one, runs in the package the classifier got
        assert asked[0] == name and all(a in (name, *installed) for a in asked[1:])
        assert json.loads(r.output.strip().splitlines()[-1])["file"].endswith("7_theo_0.wav")
    monkeypatch.setenv("SPOKEN_DIGITS_INTERPRETER", "tflite")
    r = CliRunner().invoke(main, ["recognize", "--model", str(bundle_path), wav])
    assert r.exit_code == 2 and "SPOKEN_DIGITS_INTERPRETER='tflite'" in r.output and "ai_edge_litert" in r.output


def test_min_digit_speech_ms_rejects_a_digit_too_short(fsdd_dir, bundle_path):
    """No digit lasts 1.5 s of speech: with that gate the digit accepted before is '?', flagged too_short."""
    wav = str(fsdd_dir / "7_theo_0.wav")
    runs = {}
    for gate in ("0", "1500"):
        r = subprocess.run(CLI + ["recognize", "--model", str(bundle_path), "--json", "--min-digit-speech-ms", gate,
                                  wav], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        runs[gate] = [json.loads(line) for line in r.stdout.splitlines()]
    (free,), (gated,) = runs["0"], runs["1500"]
    assert free["digit"] == 7 and free["too_short"] is False and 150 < free["speech_ms"] < 1500
    assert gated["digit"] is None and gated["label"] == "_unknown_" and gated["top"] == 7 and gated["too_short"] is True
    assert gated["speech_ms"] == free["speech_ms"] and gated["probabilities"] == free["probabilities"]
