"""Benchmark ``spoken-digits listen`` through a virtual microphone: accuracy, latency, CPU, memory.

Plays FSDD official-test recordings, or with ``--source speech_commands`` the digit clips of
held-out real Speech Commands speakers (every digit copy's test speakers, as ``robustness``
picks them: phones and laptops in rooms, whole one-second clips with their room noise),
separated by silence, into a private vmic
PulseAudio server, runs ``listen --device pulse --json --stats`` as a subprocess,
and prints the digits right out of played, the latency from the end of each
utterance in the stream to its decision (median, p95), the CPU use while
listening and the peak RSS of the listening process. Not collected by pytest.

    python tests/bench_listen.py --digits 30 --rate 22050
    python tests/bench_listen.py --digits 30 --rate 48000 --device-rate 48000
    python tests/bench_listen.py --digits 100 --source speech_commands  # held-out real speakers
    python tests/bench_listen.py --digits 100 --babble-db 10          # babble of held-out talkers mixed in
    python tests/bench_listen.py --digits 100 --noise-db 10           # the test-split noise recordings mixed in
    python tests/bench_listen.py --digits 300 --negatives-s 600 --synth DIR   # soak: digits, then 10 min of
                                                                      # non-digit read speech (held-out TTS voices)
    python tests/bench_listen.py --digits 60 --source strings --synth data/synth
                                      # digit strings said without pauses: held-out TTS voices' and held-out
                                      # real speakers' (speechocean762 test) strings; exact strings, digit
                                      # error rate, latency from the end of each string to its decision

Babble: 5 held-out Speech Commands talkers (test split), its RMS set ``--babble-db`` below the
speech RMS of the digit recordings. With babble, every recording is first set to one speech
level (-25 dBFS RMS), so that each digit is ``--babble-db`` over the babble, as one person
speaking at a steady level would be: FSDD's speakers were recorded at levels 20 dB apart, and
one gain for the whole stream (``--raw-levels``, the definition of the figures before
2026-12-03) put theo's digits 7-12 dB *under* a "10 dB" babble. Negatives: the ``data synth --passages``
recordings of held-out voices, concatenated after the digits; every digit accepted there is a
false accept (reported per hour of that part). Recorded noise (``--noise-db``): the test-split
recordings of ``noise/`` (split by file, never trained on), each set to one RMS and joined with
10 ms fades, looped under the whole stream ``--noise-db`` below the digits' speech RMS (every
recording at one speech level first, as with babble).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FSDD_DIR, REPO  # noqa: E402
from vmic import VirtualMic, build_clip_wav, lcs_length, parse_json_lines, speech_rms, start_listen  # noqa: E402

#: Speech RMS of every played recording when babble is mixed in (dBFS).
SPEECH_RMS_DBFS = -25.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, default=30, help="recordings played")
    ap.add_argument("--source", choices=("fsdd", "speech_commands", "strings"), default="fsdd",
                    help="fsdd: FSDD official test recordings; speech_commands: digit clips of held-out real "
                         "Speech Commands speakers (every digit copy in --data-root); strings: digit strings of "
                         "held-out TTS voices (--synth, 'data synth --strings') and held-out real speakers")
    ap.add_argument("--rate", type=int, default=22050, help="virtual microphone rate (Hz)")
    ap.add_argument("--device-rate", type=int, default=None, help="passed to listen --device-rate (Hz)")
    ap.add_argument("--gap-s", type=float, default=0.6, help="silence between recordings (s)")
    ap.add_argument("--model", default=None, help="bundle (default: the shipped one)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--babble-db", type=float, default=None, help="mix babble at this SNR (dB) into the stream")
    ap.add_argument("--noise-db", type=float, default=None,
                    help="mix the test-split noise recordings at this SNR (dB) into the stream")
    ap.add_argument("--raw-levels", action="store_true",
                    help="with --babble-db/--noise-db: keep FSDD's own recording levels (one noise gain for the "
                         "whole stream)")
    ap.add_argument("--negatives-s", type=float, default=0.0, help="seconds of non-digit speech after the digits")
    ap.add_argument("--synth", type=Path, default=None, help="'data synth --passages' output (for --negatives-s)")
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args()
    if args.babble_db is not None and args.noise_db is not None:
        ap.error("give --babble-db or --noise-db, not both")
    noisy = args.babble_db is not None or args.noise_db is not None

    if args.source == "strings":
        clips, expected = held_out_strings(args.digits, args.seed, args.data_root, args.synth)
    else:
        clips, expected = held_out_clips(args.source, args.digits, args.seed, args.data_root)
    with tempfile.TemporaryDirectory(prefix="vmicb") as tmp:
        tmp = Path(tmp)
        mic = VirtualMic(tmp / "v", args.rate).start()
        try:
            wav = tmp / "digits.wav"
            level = None if not noisy or args.raw_levels else SPEECH_RMS_DBFS
            duration_s = build_clip_wav(clips, wav, args.rate, gap_s=args.gap_s, speech_rms_dbfs=level)
            digits_end_s = duration_s
            if noisy or args.negatives_s:
                duration_s = _mix(wav, args, tmp)
            # No --duration: the sink stops delivering audio once the playback ends; Ctrl-C after it instead.
            cmd = ["--device", "pulse", "--json", "--stats"]
            if args.model:
                cmd += ["--model", args.model]
            if args.device_rate:
                cmd += ["--device-rate", str(args.device_rate)]
            p = start_listen(cmd, mic.env)
            mic.play(wav, timeout_s=duration_s + 120)  # returns once the whole WAV is played
            time.sleep(1.0)  # the last decision comes ~0.3 s into the trailing silence
            p.interrupt()
            out, err = p.communicate(timeout=120)
        finally:
            mic.stop()
    if p.returncode != 0:
        print(err, file=sys.stderr)
        return 1
    decisions = parse_json_lines(out)
    if args.source == "strings":
        return _report_strings(decisions, clips, expected, args, err)
    in_digits = [d for d in decisions if d["time_s"] < digits_end_s]
    heard = [d["digit"] for d in in_digits if d["digit"] is not None]
    false = [d for d in decisions if d["time_s"] >= digits_end_s and d["digit"] is not None]
    neg_h = max(duration_s - digits_end_s, 0) / 3600
    stats = next(json.loads(line)["stats"] for line in err.splitlines() if line.startswith('{"stats"'))
    right = lcs_length(heard, expected)
    print(json.dumps({
        "source": args.source,
        "played": len(expected),
        "speakers": len({c.name.split("_")[0] if args.source == "speech_commands" else c.name.split("_")[1]
                         for c in clips}),
        "babble_db": args.babble_db,
        "noise_db": args.noise_db,
        "digit_levels": None if not noisy else ("raw" if args.raw_levels else SPEECH_RMS_DBFS),
        "decisions_during_digits": len(in_digits),
        "accepted_during_digits": len(heard),
        "right_in_order": right,
        "extra_accepted": len(heard) - right,
        "negative_s": round(neg_h * 3600, 1),
        "false_accepts": len(false),
        "false_accepts_per_hour": None if not neg_h else round(len(false) / neg_h, 1),
        "rejections_during_negatives": sum(1 for d in decisions if d["time_s"] >= digits_end_s and d["digit"] is None),
        "rate_hz": args.rate, "device_rate_hz": args.device_rate,
        **stats,
    }, indent=1))
    return 0


def held_out_strings(n: int, seed: int, data_root: Path, synth: Path | None) -> tuple[list[Path], list[str]]:
    """Digit strings said without pauses: the held-out speechocean762 speakers' (test split, every one)
    and ``n`` minus those of the held-out TTS voices (``synth/strings.csv``, split test), seeded."""
    from trainer.data.corpus import DIGIT_STRING_LABEL, CorpusPaths, read_corpus
    from trainer.data.strings import digits_of_transcript

    if synth is None:
        raise SystemExit("--source strings needs --synth (a 'data synth --strings' folder)")
    rows = read_corpus(CorpusPaths.shared(data_root, synth=synth))
    strings = sorted((r for r in rows if r.label == DIGIT_STRING_LABEL and r.split == "test"), key=lambda r: str(r.path))
    real = [r for r in strings if r.source == "speechocean762"]
    tts = [r for r in strings if r.source == "synth"]
    picked = real + random.Random(seed).sample(tts, max(0, n - len(real)))
    return [r.path for r in picked], [digits_of_transcript(r.word) for r in picked]


def _report_strings(decisions: list[dict], clips: list[Path], expected: list[str], args, err: str) -> int:
    """Each decision belongs to the recording it falls in (build_clip_wav's layout); per recording, the
    digits of its decisions in order are its reading."""
    import soundfile as sf

    from trainer.evaluation.strings import string_scores

    pos, spans = 1.0, []  # build_clip_wav: 1 s of lead-in silence
    for i, c in enumerate(clips):
        if i:
            pos += args.gap_s
        d = sf.info(str(c)).duration
        spans.append((pos, pos + d))
        pos += d
    reads = [""] * len(clips)
    latencies = []
    for d in decisions:
        mid = (d["time_s"] + d["end_s"]) / 2
        for i, (a, b) in enumerate(spans):
            if a - args.gap_s / 2 <= mid < b + args.gap_s / 2:
                reads[i] += d.get("digits") or ""
                if d.get("kind") == "string" and d.get("latency_ms") is not None:
                    latencies.append(d["latency_ms"])
                break
    stats = next(json.loads(line)["stats"] for line in err.splitlines() if line.startswith('{"stats"'))
    real = [i for i, c in enumerate(clips) if "speechocean" in str(c)]
    tts = [i for i in range(len(clips)) if i not in real]
    scores = {name: string_scores([expected[i] for i in idx], [reads[i] for i in idx]) for name, idx in
              (("tts_held_out_voices", tts), ("real_held_out_speakers", real)) if idx}
    print(json.dumps({
        "source": "strings", "played": len(clips), **scores,
        "string_decisions": len(latencies),
        "string_latency_ms_median": None if not latencies else round(float(sorted(latencies)[len(latencies) // 2]), 1),
        "readings": [{"said": e, "read": r} for e, r in zip(expected, reads)],
        "rate_hz": args.rate, **stats,
    }, indent=1))
    return 0


def held_out_clips(source: str, n: int, seed: int, data_root: Path) -> tuple[list[Path], list[int]]:
    """``n`` held-out digit recordings (a seeded sample) and their digits: FSDD's official test
    (indices 0-4), or the Speech Commands digit clips ``robustness`` holds out (every clip of the
    speaker in the test split, in every Speech Commands copy)."""
    if source == "fsdd":
        files = sorted(f for f in FSDD_DIR.glob("*.wav") if int(f.stem.split("_")[2]) < 5)
        picked = random.Random(seed).sample(files, n)
        return picked, [int(f.stem.split("_")[0]) for f in picked]
    from trainer.data.corpus import CorpusPaths, read_corpus
    from trainer.evaluation.robustness.sets import SPEECH_COMMANDS_DIGIT_SOURCES, select_sources

    src = select_sources(read_corpus(CorpusPaths.shared(data_root)))
    rows = sorted(r for s in SPEECH_COMMANDS_DIGIT_SOURCES for r in src.digits.get(s, []))
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} held-out Speech Commands digit clips in {data_root}; ask for fewer")
    picked = random.Random(seed).sample(rows, n)
    return [r.path for r in picked], [int(r.label) for r in picked]


def _mix(wav: Path, args, tmp: Path) -> float:
    """Append held-out non-digit speech and/or add held-out babble or noise to the played WAV; returns its
    duration (s)."""
    import numpy as np
    import soundfile as sf

    from realtime.audiofile import read_wav, resample

    x, rate = sf.read(str(wav), dtype="float32")
    digits = x.copy()
    if args.negatives_s:
        if args.synth is None:
            raise SystemExit("--negatives-s needs --synth DIR (the output of 'spoken-digits data synth --passages')")
        parts, total = [], 0
        for p in sorted((args.synth / "passages").glob("*.wav")):
            y, r = read_wav(p)
            parts.append(resample(y, r, rate) * 0.5)
            total += parts[-1].size
            if total >= args.negatives_s * rate:
                break
        neg = np.concatenate(parts)[: int(args.negatives_s * rate)]
        x = np.concatenate([x, neg, np.zeros(int(1.5 * rate), np.float32)])
    if args.babble_db is not None:
        from trainer.data.augment import make_babble_bank
        from trainer.data.corpus import UNKNOWN_LABEL, read_folder_per_label

        rows = read_folder_per_label(args.data_root / "speech_commands_v0.02_test", source="speech_commands")
        speech = [(r.path, r.speaker) for r in rows if r.label == UNKNOWN_LABEL and r.split == "test"]
        (track, _), = make_babble_bank(speech, tmp / "babble", n_tracks=1, seed=args.seed, duration_s=60.0,
                                       talkers=(5, 5))
        b, r = read_wav(track)
        b = resample(b, r, rate)
        bed = np.resize(b, x.size)
        gain = speech_rms(digits) / np.sqrt(np.mean(bed**2)) * 10 ** (-args.babble_db / 20)
        x = x + gain * bed
    if args.noise_db is not None:
        from trainer.data.corpus import CorpusPaths, read_corpus
        from trainer.evaluation.robustness.score import read_audio
        from trainer.evaluation.robustness.sets import ITEM_RATE_HZ, NOISE_LABEL, noise_bed

        rows = read_corpus(CorpusPaths.shared(args.data_root))
        paths = sorted(r.path for r in rows if r.label == NOISE_LABEL and r.split == "test")
        if not paths:
            raise SystemExit(f"{args.data_root}: no test-split noise recordings (noise/)")
        joined = noise_bed((read_audio(p, ITEM_RATE_HZ)[0] for p in paths), normalize_dbfs=0.0)
        bed = np.resize(resample(joined, ITEM_RATE_HZ, rate), x.size)
        gain = speech_rms(digits) / np.sqrt(np.mean(bed**2)) * 10 ** (-args.noise_db / 20)
        x = x + gain * bed
    x = np.clip(x, -1, 1)
    sf.write(str(wav), x, rate, subtype="PCM_16")
    return x.size / rate


if __name__ == "__main__":
    sys.exit(main())
