"""The default threshold of a deploy bundle from a false-accepts-per-hour target on validation speech.

The deploy trainer chooses a threshold on validation *clips* (a false-accept rate per clip,
``trainer.recipes.deploy.choose_threshold``). That rate does not say what a user of ``listen``
sees, and it put models of different families at very different operating points (a
DS-CNN at 5 false accepts per hour of read speech, the LSTM at 38). ``export
--target-fa-per-hour N`` instead streams continuous read speech of the run's
*validation* synthetic voices (their ``train_passages/`` readings, rendered by
``spoken-digits data synth --passages``; the held-out voices of ``far`` are never used)
through the exported int8 model and the live segmenter, exactly as ``far`` and
``calibrate`` do, and keeps the smallest threshold whose false accepts per hour of that
speech are at most N (:func:`realtime.calibration.choose_threshold`). The run's validation
Speech Commands words, said one after another by real people (:func:`validation_word_stream`,
made like the ``words`` stream of ``far`` from held-out speakers), join the passages: a model
can be far quieter on TTS prose than on real words in a row (the CRNN of 2026-12-03: 20 false
accepts per hour of the passages at 0.58, 117 per hour of ``far``'s words). The rule, the
audio it ran on and what it measured go into the bundle's ``threshold_rule``.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

from realtime.constants import DIGIT_GATE_VERSION

#: Lowest threshold the rule may choose: a digit must at least win over the other classes.
MIN_THRESHOLD = 0.5


def validation_passages(run_dir: str | os.PathLike, synth_dir: str | os.PathLike) -> list[Path]:
    """The passage readings of the validation synthetic voices of a deploy run.

    Parameters
    ----------
    run_dir : path
        A deploy run (its ``corpus.csv`` names each clip's split and speaker).
    synth_dir : path
        The ``data synth --passages`` folder (``train_passages.csv``: path, speaker, duration_s).

    Returns
    -------
    paths : list of Path
        One WAV per validation voice that has a reading, sorted by speaker.

    Raises
    ------
    FileNotFoundError
        If ``corpus.csv`` or ``train_passages.csv`` is missing.
    ValueError
        If the run has no validation synthetic voices, or none of them has a reading.
    """
    from trainer.recipes.deploy import read_table

    run_dir, synth_dir = Path(run_dir), Path(synth_dir)
    if not (run_dir / "corpus.csv").exists():
        raise FileNotFoundError(f"{run_dir}/corpus.csv is missing: is {run_dir} a deploy run?")
    table = synth_dir / "train_passages.csv"
    if not table.exists():
        raise FileNotFoundError(f"{table} is missing: render the passages with "
                                f"'spoken-digits data synth --dest {synth_dir} --passages'")
    voices = {r.speaker for r in read_table(run_dir) if r.split == "val" and r.source.split(":")[0] == "synth"}
    if not voices:
        raise ValueError(f"{run_dir} has no validation synthetic voices (was it trained with --synth-dir?)")
    with open(table, newline="", encoding="utf-8") as f:
        rows = sorted((r for r in csv.DictReader(f) if r["speaker"] in voices), key=lambda r: r["speaker"])
    if not rows:
        raise ValueError(f"none of the run's {len(voices)} validation voices has a reading in {table}")
    return [synth_dir / r["path"] for r in rows]


def validation_real_speech(run_dir: str | os.PathLike) -> list[Path]:
    """The read sentences (speechocean762 ``nondigit/``) of a deploy run's validation speakers.

    Returns
    -------
    paths : list of Path
        Sorted; empty if the run was trained without speechocean762.

    Raises
    ------
    FileNotFoundError
        If ``corpus.csv`` is missing.
    """
    from trainer.data.corpus import PASSAGE_LABEL
    from trainer.recipes.deploy import read_table

    run_dir = Path(run_dir)
    if not (run_dir / "corpus.csv").exists():
        raise FileNotFoundError(f"{run_dir}/corpus.csv is missing: is {run_dir} a deploy run?")
    return sorted(r.path for r in read_table(run_dir)
                  if r.split == "val" and r.source == "speechocean762" and r.label == PASSAGE_LABEL)


def validation_real_digits(run_dir: str | os.PathLike) -> list[tuple[str, Path]]:
    """``(digit, path)`` of the validation digits of real speakers (every Speech Commands copy and
    ``--folder`` corpus) of a deploy run; FSDD has no validation part (its README's split).

    Raises
    ------
    FileNotFoundError
        If ``corpus.csv`` is missing.
    """
    from trainer.recipes.deploy import is_real_digit, read_table

    run_dir = Path(run_dir)
    if not (run_dir / "corpus.csv").exists():
        raise FileNotFoundError(f"{run_dir}/corpus.csv is missing: is {run_dir} a deploy run?")
    return sorted((r.label, r.path) for r in read_table(run_dir) if r.split == "val" and is_real_digit(r))


def validation_word_stream(run_dir: str | os.PathLike, dest: str | os.PathLike, *, seed: int = 0) -> Path | None:
    """Write the validation Speech Commands words of a deploy run, one after another, as one WAV.

    Every ``_unknown_`` clip of source ``speech_commands`` in the run's validation split (whole
    one-second clips, shuffled with ``seed``) through :func:`trainer.evaluation.robustness.sets.words_in_a_row`:
    the recipe of ``far``'s ``words`` stream, on validation speakers instead of held-out ones.

    Parameters
    ----------
    run_dir : path
        A deploy run (its ``corpus.csv``).
    dest : path
        The WAV to write (16-bit PCM at :data:`trainer.evaluation.robustness.sets.ITEM_RATE_HZ`; written to a
        temporary name, then renamed).
    seed : int
        Order of the words and lengths of the gaps.

    Returns
    -------
    path : Path or None
        ``dest``, or None if the run has no such clip (then nothing is written).

    Raises
    ------
    FileNotFoundError
        If ``corpus.csv`` is missing.
    realtime.errors.AudioFileError
        A clip that cannot be read.
    """
    import numpy as np
    import soundfile as sf

    from trainer.atomic import atomic_path
    from trainer.recipes.deploy import read_table
    from trainer.evaluation.robustness.sets import ITEM_RATE_HZ, MAX_PEAK, words_in_a_row

    run_dir = Path(run_dir)
    if not (run_dir / "corpus.csv").exists():
        raise FileNotFoundError(f"{run_dir}/corpus.csv is missing: is {run_dir} a deploy run?")
    clips = sorted(str(r.path) for r in read_table(run_dir)
                   if r.split == "val" and r.source == "speech_commands" and r.label == "_unknown_")
    if not clips:
        return None
    y = words_in_a_row(clips, np.random.default_rng(seed))
    peak = float(np.abs(y).max())
    if peak > MAX_PEAK:
        y *= np.float32(MAX_PEAK / peak)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        sf.write(tmp, y, ITEM_RATE_HZ, subtype="PCM_16", format="WAV")
    return dest


def fa_per_hour_threshold(bundle: str | os.PathLike, streams: Sequence[str | os.PathLike], *,
                          target_per_hour: float, interpreter: str | None = None,
                          real_speech: Sequence[str | os.PathLike] = (),
                          real_digits: Sequence[tuple[str, str | os.PathLike]] = ()) -> dict:
    """Choose a bundle's threshold for a false-accepts-per-hour target on continuous non-digit audio.

    Every stream is played through the bundle's classifier and a live
    :class:`realtime.pipeline.Recognizer` at threshold 0, in capture blocks of
    ``realtime.constants.CAPTURE_BLOCK_MS`` (``trainer.evaluation.robustness.score.run_stream``, the path
    of ``far``). An utterance whose top class is a digit is a false accept at every threshold up
    to its probability, unless the digit length gate of ``listen``
    (:data:`realtime.constants.MIN_DIGIT_SPEECH_MS`) rejects it at every threshold.

    Parameters
    ----------
    bundle : path
        An exported bundle (its current threshold is ignored).
    streams : sequence of path
        Audio files that contain no digit (any rate and format ``soundfile`` reads; mono or
        averaged to mono).
    target_per_hour : float >= 0 (1/h)
        False accepts per hour of this audio to stay at or under.
    interpreter : str or None
        TFLite package (``realtime.classifier.load_interpreter_class``).
    real_speech : sequence of path
        Real people's running speech without digits (validation speakers), each file played as
        its own stream before ``streams``; the threshold must meet the target on these alone too.
    real_digits : sequence of (digit label, path)
        Validation digits of real speakers, each through the ``recognize`` path: the miss rate at
        the chosen threshold and the DET table.

    Returns
    -------
    rule : dict
        ``kind`` (``"fa_per_hour"``), ``target_per_hour``, ``threshold``, ``fa_per_hour`` (at the
        threshold, all the audio), ``fa_per_hour_at_min`` (at :data:`MIN_THRESHOLD`), ``met``
        (False: even the highest threshold of the grid leaves more than the target), ``audio_s``,
        ``utterances``, ``streams`` (file names, or a count for the real speech); with
        ``real_speech``: ``real_speech`` (``files``, ``audio_s``, ``fa_per_hour`` at the threshold,
        ``threshold`` it alone would take); with ``real_digits``: ``real_digits`` (``n``,
        ``miss_rate`` at the threshold), and ``det``: for thresholds 0.5-0.95 the real speech's
        false digits per hour and the real digits' miss rate.

    Raises
    ------
    ValueError
        If ``streams`` and ``real_speech`` are both empty or ``target_per_hour`` < 0.
    realtime.errors.BundleError, realtime.errors.AudioFileError
        As the classifier and the audio reader raise them.
    """
    from realtime.calibration import choose_threshold
    from realtime.classifier import Classifier
    from trainer.evaluation.robustness.score import ModelRunner, read_audio, run_stream

    import numpy as np

    from trainer.evaluation.robustness.score import item_outcome

    if not streams and not real_speech:
        raise ValueError("no audio to choose the threshold on")
    if target_per_hour < 0:
        raise ValueError(f"target_per_hour must be >= 0, got {target_per_hour}")
    # the window classifier's threshold, on its own decisions: a string model's rule is chosen by export-strings
    runner = ModelRunner.from_classifier(Classifier(bundle, num_threads=1, interpreter=interpreter), strings=False)

    def measure(paths) -> tuple[list[float], float, int]:
        confs, secs, utts = [], 0.0, 0
        for path in paths:
            audio, rate = read_audio(path)
            res = run_stream(runner, [audio], rate)
            secs += res.seconds
            utts += len(res.decisions)
            confs += [d.confidence for d in res.decisions if d.candidate]  # as far counts
        return confs, secs, utts

    real_conf, real_s, real_utts = measure(real_speech)
    other_conf, other_s, other_utts = measure(streams)
    confidences, seconds, utterances = real_conf + other_conf, real_s + other_s, real_utts + other_utts
    threshold, fa, met = choose_threshold(confidences, seconds, target_per_hour=target_per_hour, floor=MIN_THRESHOLD)
    extra: dict = {}
    if real_speech:
        real_t, _, real_met = choose_threshold(real_conf, real_s, target_per_hour=target_per_hour, floor=MIN_THRESHOLD)
        if real_t > threshold:
            threshold, met = real_t, real_met
            fa = sum(c >= threshold for c in confidences) / (seconds / 3600.0)
        extra["real_speech"] = {
            "files": len(real_speech), "audio_s": round(real_s, 2), "threshold_alone": round(real_t, 4),
            "fa_per_hour": round(sum(c >= threshold for c in real_conf) / (real_s / 3600.0), 2)}
    grid = np.round(np.arange(MIN_THRESHOLD, 0.96, 0.05), 2)
    if real_digits:
        decs = [(digit, runner.recognize(*read_audio(path))) for digit, path in real_digits]
        miss = lambda t: float(np.mean([item_outcome(dg, ds, t) != "right" for dg, ds in decs]))  # noqa: E731
        extra["real_digits"] = {"n": len(decs), "miss_rate": round(miss(threshold), 4)}
    if real_speech or real_digits:
        extra["det"] = [{"threshold": float(t),
                         **({"real_speech_fa_per_hour": round(sum(c >= t for c in real_conf) / (real_s / 3600.0), 2)}
                            if real_speech else {}),
                         **({"real_digit_miss_rate": round(miss(t), 4)} if real_digits else {})} for t in grid]
    hours = seconds / 3600.0
    return {
        "kind": "fa_per_hour", "target_per_hour": float(target_per_hour), "threshold": round(threshold, 4),
        "fa_per_hour": round(fa, 2), "met": bool(met),
        "fa_per_hour_at_min": round(sum(c >= MIN_THRESHOLD for c in confidences) / hours, 2),
        "audio_s": round(seconds, 2), "utterances": utterances,
        "streams": ([f"{len(real_speech)} real read sentences of validation speakers"] if real_speech else [])
        + [Path(p).name for p in streams], **extra,
        "min_digit_speech_ms": runner.min_digit_speech_ms, "digit_gate": DIGIT_GATE_VERSION,
        "method": "smallest threshold (grid 0.005, >= 0.5) with false accepts per hour of the streams <= the target; "
                  "streams played through the int8 bundle and the live segmenter with listen's digit length gate "
                  "(as 'far')",
    }


__all__ = ["MIN_THRESHOLD", "fa_per_hour_threshold", "validation_passages", "validation_real_digits",
           "validation_real_speech", "validation_word_stream"]
