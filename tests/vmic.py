"""Test helpers for the live recognizer: a virtual microphone and ``listen`` as a subprocess.

:class:`VirtualMic` drives ``<repo>/../shared/tools/vmic`` (an isolated PulseAudio
server with a null sink whose monitor is the default source) in its own
directory, so it never touches another engineer's server.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VMIC = Path(os.environ.get("SPOKEN_DIGITS_VMIC", REPO.parent / "shared" / "tools" / "vmic"))
CLI = [sys.executable, "-m", "spoken_digits_cli"]
#: Safety nets (s), not what a test measures: the tests wait for what the programs print or for
#: their exit, and these limits only stop a hung run. Generous, because the suite also runs beside
#: other work on 2 cores, where starting Python + numpy + TFLite can take tens of seconds.
SAFETY_LIMIT_S = 120.0


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
        r = subprocess.run(["bash", str(VMIC), "start"], env=self.env, capture_output=True, text=True,
                           timeout=SAFETY_LIMIT_S)
        if r.returncode != 0:
            raise VirtualMicError(f"vmic start failed ({r.returncode}): {r.stdout}{r.stderr}")
        return self

    def stop(self) -> None:
        subprocess.run(["bash", str(VMIC), "stop"], env=self.env, capture_output=True, text=True,
                       timeout=SAFETY_LIMIT_S)

    def play(self, wav: Path, *, timeout_s: float = SAFETY_LIMIT_S) -> None:
        """Play a WAV into the sink; returns when it has been played."""
        r = subprocess.run(["paplay", "-d", "vmic_sink", str(wav)], env=self.env, capture_output=True, text=True,
                           timeout=timeout_s)
        if r.returncode != 0:
            raise VirtualMicError(f"paplay failed ({r.returncode}): {r.stderr}")


class ListenProcess:
    """``spoken-digits listen ARGS`` as a subprocess, observed through the lines it prints.

    Two threads read its stdout and stderr as they come, so a test waits for events (a line
    on stderr, the n-th decision on stdout, its exit) rather than for a time. Has the
    ``subprocess.Popen`` calls the tests use (``communicate``, ``poll``, ``kill``,
    ``returncode``, ``args``); as a context manager it kills the process if it is still running.
    """

    def __init__(self, args: list[str], env: dict) -> None:
        # SIGINT at its default in the child, as in a terminal: a shell without job control starts
        # background commands (e.g. 'bash .ci/run &' from a script) with SIGINT ignored, which every
        # child inherits, and then Python never raises KeyboardInterrupt and Ctrl-C cannot stop listen.
        self.proc = subprocess.Popen(CLI + ["listen", *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.args = self.proc.args
        self._lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._open = {"stdout", "stderr"}
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(name,), daemon=True) for name in self._lines]
        for t in self._readers:
            t.start()

    def _read(self, name: str) -> None:
        stream = getattr(self.proc, name)
        for line in stream:
            with self._changed:
                self._lines[name].append(line)
                self._changed.notify_all()
        with self._changed:
            self._open.discard(name)
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        """What it printed on stdout so far."""
        with self._changed:
            return "".join(self._lines["stdout"])

    @property
    def stderr(self) -> str:
        """What it printed on stderr so far."""
        with self._changed:
            return "".join(self._lines["stderr"])

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill(self) -> None:
        self.proc.kill()

    def interrupt(self) -> None:
        """Ctrl-C."""
        self.proc.send_signal(signal.SIGINT)

    def wait_for(self, what: str, condition, *, limit_s: float = SAFETY_LIMIT_S, timeout_ok: bool = False) -> bool:
        """Wait until ``condition(stdout_lines, stderr_lines)`` holds (checked at each new line).

        Returns
        -------
        held : bool
            True; False after ``limit_s`` if ``timeout_ok``.

        Raises
        ------
        VirtualMicError
            If listen closes its output (exits) first, or after ``limit_s`` (a safety net
            against a hang) unless ``timeout_ok``; the message holds its stderr.
        """
        deadline = time.monotonic() + limit_s
        with self._changed:
            while not condition(self._lines["stdout"], self._lines["stderr"]):
                if not self._open:
                    code = self.proc.wait(timeout=SAFETY_LIMIT_S)
                    raise VirtualMicError(f"listen exited (code {code}) before {what}: {''.join(self._lines['stderr'])}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if timeout_ok:
                        return False
                    raise VirtualMicError(f"no {what} after {limit_s:g} s (safety limit): "
                                          f"{''.join(self._lines['stderr'])}")
                self._changed.wait(remaining)
        return True

    def wait_until_listening(self, *, limit_s: float = SAFETY_LIMIT_S) -> None:
        """Wait for its 'listening on' line: it captures from then on."""
        self.wait_for("'listening on' line", lambda out, err: any(line.startswith("listening on") for line in err),
                      limit_s=limit_s)

    def wait_for_decisions(self, n: int, *, limit_s: float = SAFETY_LIMIT_S, timeout_ok: bool = False) -> bool:
        """Wait until it has printed ``n`` JSON decisions (``--json``); see :meth:`wait_for`."""
        return self.wait_for(f"{n} decisions", lambda out, err: sum(bool(line.strip()) for line in out) >= n,
                             limit_s=limit_s, timeout_ok=timeout_ok)

    def communicate(self, timeout: float | None = SAFETY_LIMIT_S) -> tuple[str, str]:
        """Wait for its exit; (stdout, stderr).

        Raises
        ------
        VirtualMicError
            If it has not exited after ``timeout`` s (a hang): it is killed, and the message
            holds what it printed, so that the failure says where it was.
        """
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            for t in self._readers:
                t.join(timeout=5)
            raise VirtualMicError(f"listen did not exit within {timeout:g} s (safety limit); "
                                  f"stdout: {self.stdout[-2000:]!r}; stderr: {self.stderr[-2000:]!r}") from None
        for t in self._readers:
            t.join(timeout=timeout)
        return self.stdout, self.stderr

    def __enter__(self) -> "ListenProcess":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_listen(args: list[str], env: dict, *, limit_s: float = SAFETY_LIMIT_S) -> ListenProcess:
    """Start ``spoken-digits listen ARGS`` and wait until it captures (its 'listening on' line).

    Raises
    ------
    VirtualMicError
        If it exits first, or prints nothing of the kind within ``limit_s`` (then it is killed);
        the message holds its stderr.
    """
    p = ListenProcess(args, env)
    try:
        p.wait_until_listening(limit_s=limit_s)
    except BaseException:
        p.__exit__(None, None, None)
        raise
    return p


def parse_json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def lcs_length(a: list, b: list) -> int:
    """Length of the longest common subsequence: digits right, in order."""
    dp = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            dp[i + 1, j + 1] = dp[i, j] + 1 if x == y else max(dp[i, j + 1], dp[i + 1, j])
    return int(dp[-1, -1])


def speech_rms(x: np.ndarray) -> float:
    """RMS (full scale 1.0) of the samples of ``x`` above 1e-4 in magnitude: the speech of a
    recording without its digital silence."""
    v = x[np.abs(x) > 1e-4]
    return float(np.sqrt(np.mean(np.square(v, dtype=np.float64)))) if v.size else 0.0


def build_digit_wav(fsdd_dir: Path, names: list[str], path: Path, rate_hz: int, *, gap_s: float = 0.6,
                    lead_s: float = 1.0, tail_s: float = 1.5, speech_rms_dbfs: float | None = None) -> float:
    """Write FSDD recordings ``fsdd_dir/NAME.wav`` as :func:`build_clip_wav` does."""
    return build_clip_wav([fsdd_dir / f"{name}.wav" for name in names], path, rate_hz, gap_s=gap_s, lead_s=lead_s,
                          tail_s=tail_s, speech_rms_dbfs=speech_rms_dbfs)


def build_clip_wav(clips: list[Path], path: Path, rate_hz: int, *, gap_s: float = 0.6,
                   lead_s: float = 1.0, tail_s: float = 1.5, speech_rms_dbfs: float | None = None) -> float:
    """Write recordings (any format soundfile reads) resampled to ``rate_hz``, separated by ``gap_s`` of
    digital silence.

    ``speech_rms_dbfs``: scale each recording so that the RMS of its speech (samples above
    1e-4, as :func:`speech_rms` measures it) is this level (dBFS), as one person speaking at a
    steady level would be; None keeps the recordings' own levels (FSDD's differ by 20 dB and more
    between its speakers).

    Returns
    -------
    duration_s : float (s)
    """
    import soundfile as sf

    from realtime.audiofile import read_wav, resample

    parts = [np.zeros(int(lead_s * rate_hz), np.float32)]
    for i, clip in enumerate(clips):
        y, r = read_wav(clip)
        if i:
            parts.append(np.zeros(int(gap_s * rate_hz), np.float32))
        y = resample(y, r, rate_hz)
        if speech_rms_dbfs is not None:
            y = y * np.float32(10 ** (speech_rms_dbfs / 20) / speech_rms(y))
        parts.append(y)
    parts.append(np.zeros(int(tail_s * rate_hz), np.float32))
    x = np.clip(np.concatenate(parts), -1.0, 1.0)
    sf.write(str(path), x, rate_hz, subtype="PCM_16")
    return x.size / rate_hz
