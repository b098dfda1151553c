"""Test helpers for the live recognizer: a virtual microphone and ``listen`` as a subprocess.

:class:`VirtualMic` drives ``<repo>/../shared/tools/vmic`` (an isolated PulseAudio
server with a null sink whose monitor is the default source) in its own
directory, so it never touches another engineer's server.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VMIC = Path(os.environ.get("SPOKEN_DIGITS_VMIC", REPO.parent / "shared" / "tools" / "vmic"))
CLI = [sys.executable, "-m", "spoken_digits_cli"]


class VirtualMicError(RuntimeError):
    pass


class VirtualMic:
    """One vmic PulseAudio server at a pinned sink rate.

    Parameters
    ----------
    run_dir : Path
        Its private VMIC_DIR (short: the socket path must stay < 108 bytes).
    rate_hz : int (Hz)
        Sink (and so capture) rate.
    """

    def __init__(self, run_dir: Path, rate_hz: int) -> None:
        self.run_dir = Path(run_dir)
        self.rate_hz = int(rate_hz)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "VMIC_"))}
        base.update(VMIC_DIR=str(self.run_dir), VMIC_RATE=str(self.rate_hz))
        self.env = base
        if not VMIC.is_file():
            raise VirtualMicError(f"virtual microphone script not found at {VMIC}")
        out = subprocess.run(["bash", str(VMIC), "env"], env=base, capture_output=True, text=True, check=True)
        for k, v in re.findall(r"^export (\w+)=(.*)$", out.stdout, flags=re.M):
            self.env[k] = v

    def start(self) -> "VirtualMic":
        r = subprocess.run(["bash", str(VMIC), "start"], env=self.env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise VirtualMicError(f"vmic start failed ({r.returncode}): {r.stdout}{r.stderr}")
        return self

    def stop(self) -> None:
        subprocess.run(["bash", str(VMIC), "stop"], env=self.env, capture_output=True, text=True, timeout=60)

    def play(self, wav: Path, *, timeout_s: float = 120.0) -> None:
        """Play a WAV into the sink; returns when it has been played."""
        r = subprocess.run(["paplay", "-d", "vmic_sink", str(wav)], env=self.env, capture_output=True, text=True,
                           timeout=timeout_s)
        if r.returncode != 0:
            raise VirtualMicError(f"paplay failed ({r.returncode}): {r.stderr}")


def start_listen(args: list[str], env: dict) -> subprocess.Popen:
    """Start ``spoken-digits listen ARGS`` and wait until it captures (its 'listening on' line).

    Raises
    ------
    VirtualMicError
        If it exits first; the message holds its stderr.
    """
    p = subprocess.Popen(CLI + ["listen", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in p.stderr:
        if line.startswith("listening on"):
            return p
        seen.append(line)
    p.wait(timeout=30)
    raise VirtualMicError(f"listen did not start (code {p.returncode}): {''.join(seen)}")


def parse_json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def lcs_length(a: list, b: list) -> int:
    """Length of the longest common subsequence: digits right, in order."""
    dp = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            dp[i + 1, j + 1] = dp[i, j] + 1 if x == y else max(dp[i, j + 1], dp[i + 1, j])
    return int(dp[-1, -1])


def build_digit_wav(fsdd_dir: Path, names: list[str], path: Path, rate_hz: int, *, gap_s: float = 0.6,
                    lead_s: float = 1.0, tail_s: float = 1.5) -> float:
    """Write FSDD recordings resampled to ``rate_hz``, separated by ``gap_s`` of digital silence.

    Returns
    -------
    duration_s : float (s)
    """
    import soundfile as sf

    from realtime.audiofile import read_wav, resample

    parts = [np.zeros(int(lead_s * rate_hz), np.float32)]
    for i, name in enumerate(names):
        y, r = read_wav(fsdd_dir / f"{name}.wav")
        if i:
            parts.append(np.zeros(int(gap_s * rate_hz), np.float32))
        parts.append(resample(y, r, rate_hz))
    parts.append(np.zeros(int(tail_s * rate_hz), np.float32))
    x = np.clip(np.concatenate(parts), -1.0, 1.0)
    sf.write(str(path), x, rate_hz, subtype="PCM_16")
    return x.size / rate_hz
