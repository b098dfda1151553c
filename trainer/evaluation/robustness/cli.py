"""``spoken-digits robustness`` and ``spoken-digits far``: a bundle through the real segmenter.

Heavy modules are imported inside the commands.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

#: Set before numpy loads: one BLAS thread, like ``listen`` (the classifier itself runs with 1 thread).
_BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


#: Synthetic-voice strings, assembled strings per source group and isolated digits of the string table
#: (``spoken-digits strings --size``), and with --quick.
STRING_ITEMS = 200
STRING_ITEMS_QUICK = 10


def _one_thread() -> None:
    if "numpy" not in sys.modules:
        for v in _BLAS_VARS:
            os.environ.setdefault(v, "1")


def _common(f):
    opts = [
        click.argument("bundle", required=False, type=click.Path(path_type=Path)),
        click.option("--threshold", type=click.FloatRange(0, 1), default=None,
                     help="Decision threshold. Default: the one the bundle JSON records (a 'threshold' key), "
                          "else realtime.constants.DEFAULT_THRESHOLD (0.5)."),
        click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Shared data folder (fsdd/recordings, speech_commands_v0.02_test, speech_commands_digits, "
                          "noise). Default: $SPOKEN_DIGITS_SHARED_DATA, else ../shared/data."),
        click.option("--synth", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
                     help="Output of 'spoken-digits data synth': its held-out (split=test) voices' digits and words, "
                          "and DIR/passages/*.wav as continuous no-digit speech."),
        click.option("--folder", "folders", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
                     help="A folder-per-label set (DIR/<word>/*.wav) to test on: all its digit clips, so give one the "
                          "model was not trained on. Repeatable."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Where the test sets are written once and reused (a 'robustness' subfolder). "
                          "Default: $SPOKEN_DIGITS_CACHE, else ~/.cache/spoken-digits."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write everything (counts, per-item decisions, condition definitions, data used, "
                          "bundle sha256) to this JSON file."),
        click.option("--quick", is_flag=True, help="A small subset of every set (smoke tests, about a minute)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the test sets (part of their key)."),
        click.option("--jobs", type=click.IntRange(min=1), default=None,
                     help="Processes for building and scoring the items (a fork pool). Default: 2, or 1 on a "
                          "one-core machine. The results do not depend on it."),
        click.option("--no-progress", is_flag=True, help="No progress bars."),
        click.option("--min-digit-speech-ms", type=click.FloatRange(min=0), default=None, metavar="MS",
                     help="The recognizer's digit length gate (ms of speech, every digit; shorter digits are "
                          "rejected as 'listen' rejects them). Default: the per-digit one of 'listen' and 'recognize' "
                          "(realtime.constants.MIN_DIGIT_SPEECH_MS); 0: no gate (the figures before the gate existed)."),
        click.option("--no-strings", is_flag=True,
                     help="Leave out the bundle's digit-string model: the window classifier alone. By default "
                          "every recording goes through the whole 'recognize' path: utterances the string model "
                          "claims are decided by its rule (an accepted string counts as many false digits as it "
                          "holds)."),
        click.option("--record", is_flag=True,
                     help="Also store the summary (accuracy per source and condition, or the false-accept figures) "
                          "in the bundle's NAME.json, under 'robustness' / 'false_accepts' (the JSON is not "
                          "checksummed; the model files are untouched). For the bundle you ship."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _context(bundle, threshold, data_root, synth, folders, cache_dir, quick, seed, jobs, no_progress,
             min_digit_speech_ms=None, no_strings=False):
    from realtime import constants as C
    from realtime.classifier import Classifier

    from ...data.corpus import CorpusPaths, read_corpus, read_folder_per_label
    from ...data.dataset import default_cache_dir
    from ...errors import DataError
    from . import sets as S
    from .report import SHARED_DATA_ENV_VAR, Context, bundle_threshold
    from .parallel import default_jobs
    from .score import ModelRunner

    root = data_root or Path(os.environ.get(SHARED_DATA_ENV_VAR) or Path("..") / "shared" / "data")
    if not root.is_dir():
        raise DataError(f"{root}: shared data folder not found (give --data-root or set {SHARED_DATA_ENV_VAR})")
    paths = CorpusPaths.shared(root, synth=synth)
    if paths.fsdd is None and paths.speech_commands_digits is None and synth is None and not folders:
        raise DataError(f"{root}: holds neither fsdd/recordings nor speech_commands_digits; nothing to test on")
    rows = read_corpus(paths)
    folder_rows = [r for f in folders for r in read_folder_per_label(f, source=f"folder:{Path(f).name}")]
    sizes = S.QUICK if quick else S.FULL
    src = S.select_sources(rows, folder_rows=folder_rows, passages_dir=synth, sizes=sizes)
    clf = Classifier(bundle, num_threads=1)
    if threshold is None:
        recorded = bundle_threshold(clf.bundle.spec)
        threshold, how = (recorded, "bundle") if recorded is not None else (C.DEFAULT_THRESHOLD, "default")
    else:
        how = "--threshold"
    cache = Path(cache_dir or default_cache_dir()) / "robustness"
    runner = ModelRunner.from_classifier(clf, min_digit_speech_ms=min_digit_speech_ms, strings=not no_strings)
    ctx = Context(runner, src, cache, float(threshold), seed=seed, sizes=sizes,
                  progress=not no_progress, jobs=jobs or default_jobs())
    return ctx, clf, how, root


def record_in_bundle(json_path: Path, key: str, summary: dict) -> None:
    """Store ``summary`` under ``key`` in a bundle's NAME.json (temporary file + rename), keeping every other key."""
    import json as _json

    from ...atomic import atomic_path

    doc = _json.loads(Path(json_path).read_text(encoding="utf-8"))
    doc[key] = summary
    with atomic_path(json_path) as tmp:
        tmp.write_text(_json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")


def _summary(rep: dict, what: str) -> dict:
    import datetime as _dt

    from realtime.constants import DIGIT_GATE_VERSION, SEGMENTER_WINDOW_VERSION

    base = {"measured": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": rep.get("command"), "threshold": rep.get("threshold"), "quick": rep["inputs"]["quick"],
            "min_digit_speech_ms": rep["inputs"].get("min_digit_speech_ms"), "strings": rep["inputs"].get("strings"),
            "segmenter_window": SEGMENTER_WINDOW_VERSION, "digit_gate": DIGIT_GATE_VERSION}
    if what == "robustness":
        rows = rep["table"]["rows"]
        if "strings" in rep:
            base["strings"] = {"string_rule": rep["strings"]["string_rule"], "table": rep["strings"]["table"]}
        return {**base, "accuracy": {src: {c: {"accuracy": v["accuracy"], "n": v["n"]} for c, v in conds.items()}
                                     for src, conds in rows.items()},
                "steady_noise": {k: {kk: v.get(kk) for kk in ("found", "played", "right", "extra_accepted",
                                                              "max_speech_s", "hangs") if kk in v}
                                 for k, v in rep.get("streams", {}).items()}}
    streams = {k: {kk: vv for kk, vv in v.items() if kk != "decision_list"} for k, v in rep["streams"].items()}
    return {**base, "negative_clips": rep["negative_clips"], "streams": streams,  # every decision: --out
            "operating_point": rep["det"]["operating_point"]}


def _finish(rep, ctx, clf, how, root, synth, folders, quick, out, t0, record=False, what="robustness"):
    from .report import bundle_info, write_json

    rep["bundle"] = bundle_info(clf)
    rep["threshold_source"] = how
    rep["inputs"] = {"data_root": str(Path(root).resolve()), "synth": str(synth) if synth else None,
                     "folders": [str(f) for f in folders], "quick": quick, "seed": ctx.seed, "jobs": ctx.jobs,
                     "min_digit_speech_ms": ctx.runner.min_digit_speech_ms, "strings": ctx.runner.reads_strings,
                     "sources": ctx.sources.describe()}
    rep["wall_s"] = round(time.monotonic() - t0, 1)
    if out:
        write_json(rep, out)
    if record:
        record_in_bundle(clf.bundle.json_path, "robustness" if what == "robustness" else "false_accepts",
                         _summary(rep, what))


def _print(tables, rep, clf, how, extra: str = "") -> None:
    strings = ("; with its digit-string model" if rep["inputs"].get("strings") else
               "; window classifier alone" if clf.bundle.strings is not None else "")
    from rich.console import Console

    con = Console()
    if not con.is_terminal:
        con = Console(width=160)  # a file or a pipe: keep the table's rows on one line each
    b = clf.bundle
    con.print(f"bundle {b.json_path.parent} ({b.name}, {len(b.labels)} labels, {b.quantization}); "
              f"threshold {rep['threshold']:g} ({how}){strings}")
    for t in tables:
        con.print(t)
    con.print(f"wall time {rep['wall_s']:.0f} s (building sets {rep['timing_s']['build']:.0f} s){extra}")


@click.command()
@_common
def robustness(bundle, threshold, data_root, synth, folders, cache_dir, out, quick, seed, jobs, no_progress,
               min_digit_speech_ms, no_strings, record) -> None:
    """Digit accuracy of a bundle through the real segmenter, clean and in noise.

    BUNDLE is a bundle directory or its NAME.json (default: the shipped bundle).
    Held-out material only: FSDD official test (indices 0-4), the test-split
    speakers of every Speech Commands digit copy (speech_commands_digits and
    speech_commands_digits_extra; their every clip in the test split, of
    speech_commands_digits also under its split before 2026-12-07), --synth
    test voices and --folder sets. Each clip is trimmed to its utterance
    (10 ms frames within 40 dB of the loudest) and embedded in 0.5 s of context
    before and after, as a user's stream holds it, then run through the
    'recognize' path (segmenter + classifier):

    \b
      clean      digital silence around the utterance
      babble_N   babble of 3-7 held-out Speech Commands talkers (never the
                 target's), N = 10 / 5 / 0 dB SNR
      noise_N    test-split noise recordings, N = 10 / 5 dB SNR
      reverb     audiomentations.RoomSimulator (image source, RT60 0.3-0.8 s
                 target, order 10, mic 0.5-1.5 m), seeded

    SNR = speech RMS over the utterance / noise RMS over the whole item.
    An item is right if the accepted digits it produced are exactly [its
    digit]; a decision is accepted if its top label is not _silence_/_unknown_
    and its confidence reaches the threshold, and the utterance is not shorter
    than --min-digit-speech-ms. 'clean (window)' classifies the
    clip padded to the window directly (no segmenter): the gap to 'clean' is
    segmentation. Then a steady-noise check: 20 FSDD test digits 0.8 s apart
    over continuous babble / noise at 10 dB, streamed in capture-size blocks
    through the live Recognizer: digits found / played, and whether the
    segmenter stays in its speech state for more than 2 s. Per digit: the
    clean items of held-out real Speech Commands speakers, digit by digit.

    With the bundle's digit-string model (unless --no-strings), every item runs
    through it as 'recognize' runs it (utterances it claims are decided by its
    rule), and a table of digit strings follows (as 'spoken-digits strings'
    on the test split): real speechocean762 strings of held-out readers,
    held-out synthetic voices' strings, strings assembled from held-out
    speakers' digits, clean and in babble 10 dB (exact strings, digit error
    rate with substitutions / deletions / insertions); 'far' counts the
    string model's false digits in running speech.

    The sets are written once (16-bit WAV, 22,050 Hz) under
    CACHE/robustness/<kind>-<hash of the inputs>/ and reused.
    """
    _one_thread()
    from .report import robustness_tables, run_robustness

    t0 = time.monotonic()
    ctx, clf, how, root = _context(bundle, threshold, data_root, synth, folders, cache_dir, quick, seed, jobs, no_progress,
                                   min_digit_speech_ms, no_strings)
    rep = run_robustness(ctx)
    tables = robustness_tables(rep)
    if ctx.runner.reads_strings:
        from ..string_robustness import rich_table, strings_cmd_impl

        doc = strings_cmd_impl(clf.bundle.json_path, root, synth, "test", STRING_ITEMS_QUICK if quick else STRING_ITEMS,
                               False, None, None, None, seed, progress=not no_progress, strings_only=True,
                               cache_dir=cache_dir)
        rep["strings"] = {k: doc[k] for k in ("split", "string_rule", "seconds", "table", "items")}
        tables.append(rich_table(doc["table"], f"digit strings, held-out speakers and voices ({doc['seconds']:.0f} s)"))
    _finish(rep, ctx, clf, how, root, synth, folders, quick, out, t0, record, "robustness")
    _print(tables, rep, clf, how, f"; JSON: {out}" if out else "")


@click.command()
@_common
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the DET-style curve (miss rate vs false accepts per hour, threshold swept) as a PNG.")
def far(bundle, threshold, data_root, synth, folders, cache_dir, out, quick, seed, jobs, no_progress,
        min_digit_speech_ms, no_strings, record, plot) -> None:
    """False accepts of a bundle: negative clips, continuous audio, threshold sweep.

    BUNDLE is a bundle directory or its NAME.json (default: the shipped bundle).

    \b
    (a) FA rate on held-out negative clips, each in 0.5 s of silence: Speech
        Commands test-split non-digit words of held-out speakers (+ --synth
        test voices' words) and generated test negatives (reversed and two
        overlapped FSDD test digits, tones, chirps, clicks, chords, coloured
        noise, test noise segments): clips with any accepted digit / clips.
    (b) False accepts per hour on continuous audio without digits, streamed
        in capture-size blocks through the live Recognizer as 'listen' does:
        held-out Speech Commands test words with 0.2-1.0 s gaps, a babble bed
        of held-out talkers, the test noise recordings, --synth passages, and
        real_speech: the read sentences of held-out speechocean762 speakers
        (no number word in them), one after another.
    (c) A DET-style sweep: the model runs once (threshold 0) and the
        threshold is applied afterwards; miss rate (1 - accuracy) on the clean
        + babble 10 dB digit items vs FA/h on (b); --plot draws it with the
        operating point marked. And the same for real people alone: clean
        digits of held-out Speech Commands speakers vs false digits per hour
        of real_speech.
    (d) Digit accuracy at the threshold on every condition of 'robustness'.

    The sets are shared with 'robustness' (same cache).
    """
    _one_thread()
    from .report import far_tables, plot_det, run_far

    t0 = time.monotonic()
    ctx, clf, how, root = _context(bundle, threshold, data_root, synth, folders, cache_dir, quick, seed, jobs, no_progress,
                                   min_digit_speech_ms, no_strings)
    rep = run_far(ctx)
    _finish(rep, ctx, clf, how, root, synth, folders, quick, out, t0, record, "far")
    if plot:
        plot_det(rep, plot, title=f"{clf.bundle.name} ({clf.bundle.json_path.parent.name}): miss rate vs FA/h")
    extra = (f"; JSON: {out}" if out else "") + (f"; plot: {plot}" if plot else "")
    _print(far_tables(rep), rep, clf, how, extra)


__all__ = ["far", "robustness"]
