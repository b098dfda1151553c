"""Benchmark ``spoken-digits listen`` through a virtual microphone: accuracy, latency, CPU, memory.

Plays FSDD official-test recordings (separated by silence) into a private vmic
PulseAudio server, runs ``listen --device pulse --json --stats`` as a subprocess,
and prints the digits right out of played, the latency from the end of each
utterance in the stream to its decision (median, p95), the CPU use while
listening and the peak RSS of the listening process. Not collected by pytest.

    python tests/bench_listen.py --digits 30 --rate 22050
    python tests/bench_listen.py --digits 30 --rate 48000 --device-rate 48000
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FSDD_DIR  # noqa: E402
from vmic import VirtualMic, build_digit_wav, lcs_length, parse_json_lines, start_listen  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, default=30, help="recordings played (official test set)")
    ap.add_argument("--rate", type=int, default=22050, help="virtual microphone rate (Hz)")
    ap.add_argument("--device-rate", type=int, default=None, help="passed to listen --device-rate (Hz)")
    ap.add_argument("--gap-s", type=float, default=0.6, help="silence between recordings (s)")
    ap.add_argument("--model", default=None, help="bundle (default: the shipped one)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    files = sorted(f.stem for f in FSDD_DIR.glob("*.wav") if int(f.stem.split("_")[2]) < 5)
    names = random.Random(args.seed).sample(files, args.digits)
    expected = [int(n.split("_")[0]) for n in names]
    with tempfile.TemporaryDirectory(prefix="vmicb") as tmp:
        tmp = Path(tmp)
        mic = VirtualMic(tmp / "v", args.rate).start()
        try:
            wav = tmp / "digits.wav"
            duration_s = build_digit_wav(FSDD_DIR, names, wav, args.rate, gap_s=args.gap_s)
            cmd = ["--device", "pulse", "--json", "--stats", "--duration", f"{duration_s + 4:.1f}"]
            if args.model:
                cmd += ["--model", args.model]
            if args.device_rate:
                cmd += ["--device-rate", str(args.device_rate)]
            p = start_listen(cmd, mic.env)
            mic.play(wav)
            out, err = p.communicate(timeout=duration_s + 120)
        finally:
            mic.stop()
    if p.returncode != 0:
        print(err, file=sys.stderr)
        return 1
    decisions = parse_json_lines(out)
    heard = [d["digit"] for d in decisions]
    stats = next(json.loads(line)["stats"] for line in err.splitlines() if line.startswith('{"stats"'))
    print(json.dumps({
        "played": len(expected),
        "decisions": len(decisions),
        "right_in_order": lcs_length(heard, expected),
        "rate_hz": args.rate, "device_rate_hz": args.device_rate,
        **stats,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
