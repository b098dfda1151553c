"""Click commands of the edge runtime: ``recognize`` (files) and ``listen`` (microphone).

Both run the same :class:`~realtime.pipeline.Recognizer`; only the source of
the audio blocks differs. ``sounddevice`` is imported by ``listen`` only.
User errors are :class:`~realtime.errors.RealtimeError` (one line, exit code 1).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import click

from . import constants as C
from .errors import AudioInputError
from .resources import peak_rss_mb

_MODEL_HELP = ("Model bundle: a directory or its NAME.json, or the name of a bundle shipped in the package: "
               "'default' (digits one at a time), 'strings' (experimental: also digits said in a row, "
               "\"four one seven two\" -> 4172; more false digits in conversation). Default: 'default'. "
               "The TFLite package: the first installed of tflite_runtime, ai_edge_litert, tensorflow, or the one "
               "named by the environment variable SPOKEN_DIGITS_INTERPRETER.")
_THRESHOLD_HELP = ("Minimum probability (0-1) of the top digit; below it the utterance is rejected as unknown, "
                   "shown '?'. Default: your threshold from 'spoken-digits calibrate' for this model, else the "
                   f"model's own (chosen on validation data), else {C.DEFAULT_THRESHOLD}. At the model's own or "
                   "lower, a digit its string model confirms (hears as the same one digit) is accepted from the "
                   "model's confirm_threshold; a stricter threshold turns that off.")
_MIN_SPEECH_HELP = ("A digit spoken in less than this (ms of speech, pauses inside included) is not accepted but "
                    "shown '?': syllables cut out of running speech are shorter than digits. Default: per digit, "
                    f"from {min(C.MIN_DIGIT_SPEECH_MS.values()):.0f} ms to {max(C.MIN_DIGIT_SPEECH_MS.values()):.0f} ms "
                    "('six' shortest, 'zero' and 'nine' longest), the shortest 1 % of that digit said by the people "
                    "of the training data (realtime.constants.MIN_DIGIT_SPEECH_MS). A value here applies to every "
                    "digit; 0: no such check.")
_VERBOSE_HELP = "Also show silence/noise rejections ('·'); unknown speech ('?') is always shown."


#: Environment variable naming the TFLite package to run the model with (see ``realtime.classifier.INTERPRETERS``);
#: unset: the first one installed. ai-edge-litert runs the int8 CNNs (ds_cnn) far faster than tflite-runtime 2.14.
INTERPRETER_ENV = "SPOKEN_DIGITS_INTERPRETER"


def _load_classifier(model: Path | None):
    from .classifier import INTERPRETERS, Classifier

    name = os.environ.get(INTERPRETER_ENV, "").strip() or None
    if name is not None and name not in INTERPRETERS:
        raise click.UsageError(f"{INTERPRETER_ENV}={name!r} is not a TFLite package this tool knows; "
                               f"use one of {', '.join(INTERPRETERS)}, or unset it")
    return Classifier(model, interpreter=name)


_NO_STRINGS_HELP = ("Do not use the bundle's digit-string model: every utterance goes to the 0.8 s digit classifier "
                    "(utterances over 1.5 s of speech are then dropped).")


def _string_options(clf, no_strings: bool, threshold: float | None = None) -> dict:
    """The recognizer options of the bundle's digit-string model, unless ``--no-strings``; at a ``threshold``
    stricter than the bundle's, without the confirmation of unsure digits."""
    if no_strings:
        return {}
    from .strings import recognizer_options

    return recognizer_options(clf, threshold)


def _print_json(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _reader_gone() -> None:
    """stdout's reader exited (``listen --json | head -3``): stop quietly, as Ctrl-C does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
    os.close(devnull)


# ---------------------------------------------------------------------------- recognize
@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--model", type=click.Path(path_type=Path), default=None, help=_MODEL_HELP)
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help=_THRESHOLD_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per decision (file, time_s, digit or null, label, confidence, "
                   "probabilities of every class); a file that cannot be read gives {file, error}.")
@click.option("--verbose", is_flag=True, help=_VERBOSE_HELP)
@click.option("--min-digit-speech-ms", type=click.FloatRange(min=0), default=None, metavar="MS", help=_MIN_SPEECH_HELP)
@click.option("--no-strings", is_flag=True, help=_NO_STRINGS_HELP)
def recognize(files: tuple[Path, ...], model: Path | None, threshold: float | None, as_json: bool,
              verbose: bool, min_digit_speech_ms: float | None, no_strings: bool) -> None:
    """Recognize the digits spoken in WAV FILES (any rate, channel count and bit depth).

    Prints one line per file: its name and the digits found, in order ('?' is
    speech that is not a digit, a digit below --threshold or shorter than
    --min-digit-speech-ms; '·', with
    --verbose, a noise). With a bundle that has a digit-string model, digits said
    in a row without pauses ("four one seven two") come out as one string
    (4172). Files are segmented and classified exactly
    as the microphone stream of 'listen'. A file that cannot be read (missing,
    empty, not audio) is reported on stderr and the others are still recognized;
    the exit code is then 1.
    """
    from .terminal import filter_native_stderr

    try:
        with filter_native_stderr():
            failed = _recognize(files, model, threshold, as_json, verbose, min_digit_speech_ms, no_strings)
    except BrokenPipeError:
        _reader_gone()
        return
    if failed:
        sys.exit(1)


def _shown(decisions, verbose: bool) -> list:
    """The decisions a user sees: all with ``verbose``, else all but silence/noise rejections."""
    return [d for d in decisions if verbose or d.label != "_silence_"]


def _recognize(files: tuple[Path, ...], model: Path | None, threshold: float | None, as_json: bool,
               verbose: bool = False, min_digit_speech_ms: float | None = None, no_strings: bool = False) -> int:
    """Recognize every file; returns how many could not be read.

    An unusable bundle raises at once (nothing can be recognized); an unreadable file
    (:class:`~realtime.errors.AudioInputError`, whose message names it) is reported on
    stderr, and as ``{"file", "error"}`` on stdout with ``--json``, and skipped.
    """
    from .pipeline import recognize_file
    from .userconfig import resolve_threshold

    clf = _load_classifier(model)
    threshold, _ = resolve_threshold(threshold, clf.bundle)
    strings = _string_options(clf, no_strings, threshold)
    failed = 0
    for path in files:
        try:
            decisions = recognize_file(path, clf.predict, model_rate_hz=clf.sample_rate_hz,
                                       window_samples=clf.window_samples, labels=clf.labels, threshold=threshold,
                                       min_digit_speech_ms=min_digit_speech_ms, **strings)
        except AudioInputError as e:
            failed += 1
            click.echo(f"Error: {e}", err=True)
            if as_json:
                _print_json({"file": str(path), "error": str(e)})
            continue
        if as_json:
            for d in _shown(decisions, verbose):
                _print_json(d.to_json(clf.labels, file=str(path)))
        else:
            found = " ".join(d.symbol for d in _shown(decisions, verbose)) or "(no digit found)"
            click.echo(f"{path}: {found}")
    return failed


# ---------------------------------------------------------------------------- listen
def _list_devices(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .microphone import list_devices_text

    try:
        click.echo(list_devices_text())
    except AudioInputError as e:
        raise click.ClickException(str(e)) from e
    ctx.exit(0)


#: BLAS thread-pool variables set to 1 for ``listen`` (unless the user set them).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _single_threaded_blas() -> None:
    """Keep numpy's BLAS on the calling thread while listening.

    The front end's one small matrix product per window does not need threads, and an
    OpenBLAS worker busy-waits after each call: measured, it doubled the CPU use of
    ``listen`` (6 % -> 3.6 % of one core). Only effective before numpy is imported.
    """
    if "numpy" not in sys.modules:
        for var in BLAS_THREAD_VARIABLES:
            os.environ.setdefault(var, "1")


class _Stats:
    """CPU time, peak RSS and latencies of a ``listen`` session (``--stats``)."""

    def __init__(self) -> None:
        self.t0_wall = time.monotonic()
        self.t0_cpu = time.process_time()
        self.latencies_ms: list[float] = []
        self.decisions = 0
        self.listen_wall = self.listen_cpu = None

    def start_listening(self) -> None:
        self.listen_wall = time.monotonic()
        self.listen_cpu = time.process_time()

    def summary(self, audio_s: float, dropped_s: float, max_queue_s: float) -> dict:
        import numpy as np

        wall, cpu = time.monotonic(), time.process_time()
        lw = wall - (self.listen_wall or wall)
        lc = cpu - (self.listen_cpu or cpu)
        lat = np.asarray(self.latencies_ms, dtype=float)
        return {
            "audio_s": round(audio_s, 3),
            "decisions": self.decisions,
            "latency_ms_median": None if lat.size == 0 else round(float(np.median(lat)), 1),
            "latency_ms_p95": None if lat.size == 0 else round(float(np.percentile(lat, 95)), 1),
            "latency_ms_max": None if lat.size == 0 else round(float(lat.max()), 1),
            "listen_wall_s": round(lw, 3),
            "listen_cpu_s": round(lc, 3),
            "cpu_percent_of_one_core": None if lw <= 0 else round(100.0 * lc / lw, 2),
            "startup_cpu_s": round((self.listen_cpu or cpu) - self.t0_cpu, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "dropped_s": round(dropped_s, 3),
            "max_queue_s": round(max_queue_s, 3),
        }


@dataclasses.dataclass(frozen=True)
class ListenSettings:
    """What ``listen`` was asked to do: its command-line options, with their units.

    Attributes
    ----------
    model : Path or None
        Bundle (``--model``); None: the shipped one.
    device : str or None
        ``--device``: an index or a part of a device name; None: the system's default input.
    threshold : float in [0, 1] or None
        Minimum top probability of a digit (``--threshold``); None: resolved by
        :func:`~realtime.userconfig.resolve_threshold`.
    as_json : bool
        One JSON object per decision instead of the live view (``--json``).
    duration_s : float or None (s)
        Stop after this much audio (``--duration``); None: until Ctrl-C.
    device_rate_hz : int or None (Hz)
        Rate to open the device at (``--device-rate``); None: chosen by :func:`~realtime.microphone.choose_capture_rate`.
    block_ms : float (ms)
        Capture block duration (``--block-ms``).
    stats : bool
        Print the session's latency, CPU and memory at exit (``--stats``).
    verbose : bool
        Show silence/noise rejections too (``--verbose``).
    min_digit_speech_ms : float or None (ms)
        Digits of shorter utterances are rejected (``--min-digit-speech-ms``); None: the per-digit
        default, :data:`realtime.constants.MIN_DIGIT_SPEECH_MS`.
    """

    model: Path | None = None
    device: str | None = None
    threshold: float | None = None
    as_json: bool = False
    duration_s: float | None = None
    device_rate_hz: int | None = None
    block_ms: float = C.CAPTURE_BLOCK_MS
    stats: bool = False
    verbose: bool = False
    min_digit_speech_ms: float | None = None
    no_strings: bool = False


@click.command()
@click.option("--list-devices", is_flag=True, is_eager=True, expose_value=False, callback=_list_devices,
              help="List the audio input devices and exit.")
@click.option("--model", type=click.Path(path_type=Path), default=None, help=_MODEL_HELP)
@click.option("--device", default=None, metavar="INDEX|NAME",
              help="Input device: an index or a part of its name (see --list-devices). Default: the system's.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help=_THRESHOLD_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per decision (time_s, digit or null, label, confidence, probabilities "
                   "of every class, latency_ms) instead of the live view.")
@click.option("--verbose", is_flag=True, help=_VERBOSE_HELP)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Stop after this many seconds of audio. Default: run until Ctrl-C.")
@click.option("--device-rate", type=click.IntRange(min=1000), default=None, metavar="HZ",
              help="Open the device at this sample rate (Hz) and resample. Default: the model's rate if the "
                   "device supports it, else the device's default rate.")
@click.option("--block-ms", type=click.FloatRange(min=1, max=500), default=C.CAPTURE_BLOCK_MS, show_default=True,
              help="Capture block duration (ms). Decisions do not depend on it.")
@click.option("--stats", is_flag=True,
              help="At exit, print to stderr the latency (median, p95), CPU use and peak memory of the session.")
@click.option("--min-digit-speech-ms", type=click.FloatRange(min=0), default=None, metavar="MS", help=_MIN_SPEECH_HELP)
@click.option("--no-strings", is_flag=True, help=_NO_STRINGS_HELP)
def listen(model: Path | None, device: str | None, threshold: float | None, as_json: bool, verbose: bool,
           duration: float | None, device_rate: int | None, block_ms: float, stats: bool,
           min_digit_speech_ms: float | None, no_strings: bool) -> None:
    """Recognize digits live from a microphone.

    Each utterance (a pause of 300 ms or more separates two) gives one
    decision: its digit and confidence, '?' for speech that is not a digit
    (or a digit below --threshold, or shorter than --min-digit-speech-ms), '·'
    for a noise (shown with --verbose). With a bundle that has a digit-string
    model, digits said in a row without pauses come out as one string (4172).
    Ctrl-C quits.
    """
    _single_threaded_blas()
    from .terminal import filter_native_stderr

    st = _Stats()
    try:
        with filter_native_stderr():
            _listen(st, ListenSettings(model=model, device=device, threshold=threshold, as_json=as_json,
                                       duration_s=duration, device_rate_hz=device_rate, block_ms=block_ms,
                                       stats=stats, verbose=verbose, min_digit_speech_ms=min_digit_speech_ms,
                                       no_strings=no_strings))
    except KeyboardInterrupt:  # Ctrl-C: a clean exit, code 0
        pass
    except BrokenPipeError:
        _reader_gone()


def _listen(st: _Stats, cfg: ListenSettings) -> None:
    from .display import DisplayState, LiveDisplay
    from .microphone import Microphone, choose_capture_rate, resolve_input_device
    from .pipeline import Recognizer
    from .userconfig import resolve_threshold

    clf = _load_classifier(cfg.model)
    threshold, threshold_source = resolve_threshold(cfg.threshold, clf.bundle)
    dev = resolve_input_device(cfg.device)
    rate = choose_capture_rate(dev, clf.sample_rate_hz, cfg.device_rate_hz)
    rec = Recognizer(clf.predict, sample_rate_hz=clf.sample_rate_hz, window_samples=clf.window_samples,
                     labels=clf.labels, threshold=threshold, input_rate_hz=rate,
                     min_digit_speech_ms=cfg.min_digit_speech_ms,
                     **_string_options(clf, cfg.no_strings, threshold))
    limit = None if cfg.duration_s is None else int(round(cfg.duration_s * rate))
    mic = Microphone(dev, rate, block_ms=cfg.block_ms)
    interactive = not cfg.as_json and sys.stdout.isatty()
    state = DisplayState(threshold=threshold)
    display = LiveDisplay() if interactive else None

    def emit(decisions) -> None:
        for d in _shown(decisions, cfg.verbose):
            st.decisions += 1
            if d.latency_ms is not None:
                st.latencies_ms.append(d.latency_ms)
            state.history = (state.history + [d.symbol])[-C.HISTORY_LENGTH:]
            state.last_symbol, state.last_confidence, state.last_latency_ms = d.symbol, d.confidence, d.latency_ms
            if cfg.as_json:
                _print_json({**d.to_json(clf.labels), "dropped_s": round(mic.stats.dropped_samples / rate, 3)})
            elif not interactive:
                lat = "" if d.latency_ms is None else f"  latency {d.latency_ms:.0f} ms"
                both = "  (confirmed by the string model)" if d.confirmed and d.confidence < threshold else ""
                if d.vetoed:
                    both = f"  (a {d.top_label} the string model did not hear)"
                click.echo(f"{d.utterance.start_s:8.2f} s  {d.symbol}  {d.confidence:.0%}{both}{lat}")

    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(mic)  # opens the stream; closed last
            state.device = f"{mic.name} at {rate} Hz" + (
                "" if rate == clf.sample_rate_hz else f" -> {clf.sample_rate_hz} Hz")
            if display is not None:
                stack.enter_context(display)
            else:
                limit_text = "" if cfg.duration_s is None else f" for {cfg.duration_s:g} s"
                click.echo(f"listening on {state.device}{limit_text} (threshold {threshold:.2f}, {threshold_source}); "
                           "Ctrl-C to quit", err=True)
            st.start_listening()
            for block, t_end in mic.blocks():
                emit(rec.feed(block, t_end))
                got = mic.stats.received_samples + mic.stats.dropped_samples
                if display is not None:
                    display.publish(dataclasses.replace(
                        state, history=list(state.history),
                        level_dbfs=rec.level_dbfs, noise_floor_dbfs=rec.segmenter.noise_floor_dbfs,
                        state="warming up" if rec.warming_up else ("speech" if rec.in_speech else "listening"),
                        dropped_s=mic.stats.dropped_samples / rate, queue_s=mic.queue_s, elapsed_s=got / rate,
                    ))
                if limit is not None and got >= limit:
                    break
            mic.close()
            emit(rec.finish())
    finally:
        if mic.stats.dropped_samples and not interactive:
            click.echo(f"warning: {mic.stats.dropped_samples / rate:.2f} s of audio dropped "
                       "(processing fell behind)", err=True)
        if cfg.stats:
            summary = st.summary((mic.stats.received_samples + mic.stats.dropped_samples) / rate,
                                 mic.stats.dropped_samples / rate, mic.stats.max_queue_s)
            if cfg.as_json:
                click.echo(json.dumps({"stats": summary}), err=True)
            else:
                click.echo("stats: " + ", ".join(f"{k} {v}" for k, v in summary.items()), err=True)


# ---------------------------------------------------------------------------- calibrate
@click.command()
@click.option("--model", type=click.Path(path_type=Path), default=None, help=_MODEL_HELP)
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Measure on a recording of your background (any rate/channels) instead of the microphone.")
@click.option("--device", default=None, metavar="INDEX|NAME",
              help="Input device (see 'listen --list-devices'). Default: the system's.")
@click.option("--duration", type=click.FloatRange(min=5), default=60.0, show_default=True, metavar="SECONDS",
              help="Seconds of microphone audio to listen to (not with --file).")
@click.option("--target", "target_per_hour", type=click.FloatRange(min=0), default=1.0, show_default=True,
              metavar="PER_HOUR", help="False digits per hour of this background to allow.")
@click.option("--dry-run", is_flag=True, help="Measure and print, but do not write the threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print the measurement as one JSON object.")
@click.option("--no-strings", is_flag=True,
              help="Measure without the bundle's digit-string model (as 'listen --no-strings' runs).")
def calibrate(model: Path | None, file: Path | None, device: str | None, duration: float, target_per_hour: float,
              dry_run: bool, as_json: bool, no_strings: bool) -> None:
    """Measure false digits in YOUR background and store a threshold that avoids them.

    Play what is usually around the microphone (your room, TV, music, other
    people talking) and do NOT say digits. Every utterance the model would take
    for a digit is counted with its probability; the threshold written (to the
    file 'spoken-digits calibrate --help' shows below, per model) is the lowest,
    not below the model's own, that allows at most --target false digits per hour
    of this background. 'listen' and 'recognize' use it unless --threshold is given.
    Digits the bundle's digit-string model accepts in the background are counted
    too; the threshold cannot move them (the string model has its own rule).
    """
    from .calibration import calibrate_decisions
    from .pipeline import Recognizer, iter_blocks
    from .terminal import filter_native_stderr
    from .userconfig import config_path, save_user_threshold

    with filter_native_stderr():
        clf = _load_classifier(model)
        floor = clf.bundle.threshold if clf.bundle.threshold is not None else C.DEFAULT_THRESHOLD
        strings = _string_options(clf, no_strings)
        if file is not None:
            from .audiofile import read_wav

            samples, rate = read_wav(file)
            rec = Recognizer(clf.predict, sample_rate_hz=clf.sample_rate_hz, window_samples=clf.window_samples,
                             labels=clf.labels, threshold=0.0, input_rate_hz=rate, **strings)
            block = max(1, int(rate * C.CAPTURE_BLOCK_MS / 1000))
            decisions = [d for b in iter_blocks(samples, block) for d in rec.feed(b)] + rec.finish()
            audio_s, source = samples.size / rate, str(file)
        else:
            _single_threaded_blas()
            from .microphone import Microphone, choose_capture_rate, resolve_input_device

            dev = resolve_input_device(device)
            rate = choose_capture_rate(dev, clf.sample_rate_hz, None)
            rec = Recognizer(clf.predict, sample_rate_hz=clf.sample_rate_hz, window_samples=clf.window_samples,
                             labels=clf.labels, threshold=0.0, input_rate_hz=rate, **strings)
            decisions, got = [], 0
            with Microphone(dev, rate) as mic:
                click.echo(f"listening to your background on {mic.name} for {duration:g} s; do not say digits...",
                           err=True)
                try:
                    for b, t_end in mic.blocks():
                        decisions += rec.feed(b, t_end)
                        got += b.shape[0]
                        if got >= duration * rate:
                            break
                except KeyboardInterrupt:
                    click.echo("stopped early", err=True)
            decisions += rec.finish()
            audio_s, source = got / rate, f"microphone {mic.name}"
    if audio_s <= 0:
        raise click.ClickException("no audio was recorded")
    res = calibrate_decisions(decisions, audio_s, target_per_hour=target_per_hour, floor=floor)
    entry = {**res.to_json(), "source": source}
    entry.pop("digit_confidences")
    path = None
    if not dry_run:
        path = save_user_threshold(clf.bundle, entry)
    if as_json:
        _print_json({**res.to_json(), "source": source, "written": None if path is None else str(path)})
        return
    top = ", ".join(f"{c:.3f}" for c in res.digit_confidences[:5]) or "none"
    click.echo(f"background: {source}, {res.audio_s:.1f} s; {res.utterances} utterances "
               f"({res.rejected.get('_silence_', 0)} noise, {res.rejected.get('_unknown_', 0)} unknown speech, "
               f"{len(res.digit_confidences)} looked like a digit; highest probabilities: {top})")
    if res.string_false_digits:
        click.echo(f"the digit-string model took {res.string_false_digits} digits of it for strings (its own rule; "
                   "counted at every threshold; --no-strings measures without it)")
    click.echo(f"at the model's threshold {res.floor:.3f}: {res.false_accepts_per_hour_at_floor:.1f} false digits per hour")
    verdict = "meets" if res.met else "does NOT meet (too many confident false digits; try a quieter place)"
    click.echo(f"threshold {res.threshold:.3f}: {res.false_accepts_per_hour:.1f} false digits per hour, {verdict} "
               f"the target of {res.target_per_hour:g}/h")
    if path is not None:
        click.echo(f"wrote {path} (used by listen/recognize for this model unless --threshold is given)")
    else:
        click.echo(f"dry run: nothing written (would write {config_path()})")
