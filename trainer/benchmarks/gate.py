"""The steady-noise release of the digit length gate, designed on validation audio:
``python -m trainer.benchmarks.gate --synth-dir data/synth``.

The digit length gate (:data:`realtime.constants.MIN_DIGIT_SPEECH_MS`) rejects digits on top of
short utterances: fragments of running speech. In a steady noise it also rejects real digits,
because the floor rises into them and the segmenter measures less speech than was said. The gate
is lifted where :attr:`realtime.segmenter.Utterance.in_steady_noise` holds; this command prints,
for a grid of its two limits (the spread of the background's lower levels, the speech peak over
the floor), what the bundle at its threshold gets right and how many false digits it makes.

Only **validation** material is read, never the held-out sets of ``robustness`` and ``far``:

- digits: the Speech Commands digit clips of validation speakers, the validation voices of
  ``data synth``, and the FSDD recordings 45-49 of each digit and speaker (FSDD has no validation
  split; these are training recordings of the shipped model, so its scores on them are high);
- babble of validation Speech Commands speakers; the *training-split* noise recordings (the corpus
  has no validation noise; the rule's limits are about the noise's level statistics, not about
  what the model learnt);
- negatives: the validation speakers' Speech Commands words (one per clip, and in a row), the
  validation voices' words, the generated negatives, and the validation voices' readings of the
  training passage (``data synth --passages``: ``train_passages/``), streamed as ``far`` does.

Every item and stream is built by :mod:`trainer.evaluation.robustness.sets` exactly as the held-out ones
(into their own cache folder), run once with the gate off, and every rule is applied afterwards
from each utterance's measurements.
"""
from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import NamedTuple, Sequence

import click

#: FSDD recordings of the training split used as validation digits (index >= this, of 0-49).
FSDD_FIRST_INDEX = 45
#: The grid: limits of ``background_spread_db`` (dB) and of peak over floor (dB); None: gate everywhere.
SPREAD_LIMITS_DB = (None, 2.0, 3.0, 4.0, 5.0, 8.0, math.inf)
PEAK_LIMITS_DB = (20.0, 25.0, 30.0, math.inf)
CONDITIONS = ("clean", "babble_10", "babble_5", "noise_10", "noise_5", "reverb")


class Heard(NamedTuple):
    """One decision at threshold 0, gate off, with what the steady-noise rule reads."""

    top: str
    confidence: float
    speech_ms: float
    background_dbfs: float
    background_spread_db: float
    peak_over_floor_db: float


def heard_of(d, labels=None) -> Heard:
    """A :class:`Heard` from a :class:`realtime.pipeline.Decision` (``convert`` of the robustness runners)."""
    u = d.utterance
    return Heard(d.top_label, float(d.confidence), float(u.speech_ms), u.background_dbfs, u.background_spread_db,
                 u.peak_dbfs - u.floor_dbfs)


def validation_rows(rows: Sequence) -> list:
    """The corpus table with validation material in the ``test`` split (and held-out rows out of it),
    so that :func:`trainer.evaluation.robustness.sets.select_sources` picks validation material."""
    from ..evaluation.robustness.sets import NOISE_LABEL

    out = []
    for r in rows:
        if r.source == "fsdd":
            idx = int(Path(r.path).stem.rsplit("_", 1)[-1])
            split = "excluded" if r.split == "test" else ("test" if idx >= FSDD_FIRST_INDEX else r.split)
        elif r.label == NOISE_LABEL:
            split = {"train": "test", "test": "excluded"}.get(r.split, r.split)
        else:
            split = {"val": "test", "test": "excluded"}.get(r.split, r.split)
        out.append(dataclasses.replace(r, split=split))
    return out


def validation_passages(synth_dir: Path, voices: set[str]) -> list[Path]:
    """``train_passages/`` readings of the given (validation) voices."""
    table = synth_dir / "train_passages.csv"
    if not table.is_file():
        return []
    with open(table, newline="") as fh:
        return sorted(synth_dir / row["path"] for row in csv.DictReader(fh) if row["speaker"] in voices)


def released(h: Heard, spread_db: float | None, peak_db: float) -> bool:
    """Does the rule with these limits lift the gate for ``h`` (as ``Utterance.in_steady_noise``)?"""
    from realtime.segmenter import is_steady_noise

    return spread_db is not None and is_steady_noise(h.background_dbfs, h.background_spread_db, h.peak_over_floor_db,
                                                     max_spread_db=spread_db, max_peak_over_floor_db=peak_db)


def accepted(h: Heard, threshold: float, spread_db: float | None, peak_db: float) -> bool:
    """A digit accepted at ``threshold`` under the gate with this release rule."""
    from realtime.pipeline import gate_of

    if h.top.startswith("_") or h.confidence < threshold:
        return False
    return h.speech_ms >= gate_of(None, h.top) or released(h, spread_db, peak_db)


def score(data: dict, threshold: float, spread_db: float | None, peak_db: float) -> dict:
    """Item accuracy per condition, false digits per stream and per hour, negative clips accepted."""
    acc: dict[str, list[int]] = {}
    for cond, digit, heard in data["items"]:
        got = [h.top for h in heard if accepted(h, threshold, spread_db, peak_db)]
        a = acc.setdefault(cond, [0, 0])
        a[0] += got == [digit]
        a[1] += 1
    fa = {name: sum(accepted(h, threshold, spread_db, peak_db) for h in heard)
          for name, (heard, _) in data["streams"].items()}
    hours = sum(s for _, s in data["streams"].values()) / 3600.0
    clips = sum(any(accepted(h, threshold, spread_db, peak_db) for h in heard) for heard in data["clips"])
    return {"accuracy": {c: a[0] / a[1] for c, a in acc.items()}, "n": {c: a[1] for c, a in acc.items()},
            "false_digits": fa, "fa_per_hour": sum(fa.values()) / hours if hours else float("nan"),
            "clips_accepted": clips, "clips": len(data["clips"])}


def collect(bundle, data_root: Path, synth_dir: Path | None, cache: Path, jobs: int, progress: bool) -> dict:
    """Build the validation sets and run the bundle over them once (threshold 0, gate off)."""
    from realtime.classifier import Classifier

    from ..data.corpus import CorpusPaths, read_corpus
    from ..evaluation.robustness import sets as S
    from ..evaluation.robustness.parallel import pmap
    from ..evaluation.robustness.report import Context, stream_segments
    from ..evaluation.robustness.score import ModelRunner, read_audio, run_stream

    rows = validation_rows(read_corpus(CorpusPaths.shared(data_root, synth=synth_dir)))
    src = S.select_sources(rows, passages_dir=None)
    voices = {r.speaker for r in rows if r.source == "synth" and r.split == "test"}
    src.passages = validation_passages(synth_dir, voices) if synth_dir else []
    clf = Classifier(bundle, num_threads=1)
    runner = ModelRunner.from_classifier(clf, min_digit_speech_ms=0.0)
    ctx = Context(runner, src, cache, 0.0, progress=progress, jobs=jobs)
    conds = [c for c in ctx.conditions() if c.name in CONDITIONS]
    digits = S.build_digit_items(src, cache, conditions=conds, progress=progress, material=ctx.material, jobs=jobs)
    negatives = S.build_negative_items(src, cache, progress=progress, jobs=jobs)
    streams = S.build_streams(src, cache, progress=progress, material=ctx.material)

    def recognize(path: Path) -> list[Heard]:
        return runner.recognize(*read_audio(path), convert=heard_of)

    folder = Path(digits["folder"])
    items = pmap(lambda it: (it["condition"], it["digit"], recognize(folder / it["file"])), digits["items"], jobs=jobs)
    nfolder = Path(negatives["folder"])
    clips = pmap(lambda it: recognize(nfolder / it["file"]), negatives["items"], jobs=jobs)
    plan = [(n, [Path(streams["folder"]) / streams["streams"][n]["file"]]) for n in S.FA_STREAMS
            if n in streams["streams"]]
    if src.passages:
        plan.append(("passages", src.passages))
    out_streams = {}
    for name, paths in plan:  # as trainer.evaluation.robustness.report.score_streams plays them
        res = run_stream(runner, stream_segments(paths), S.ITEM_RATE_HZ, convert=heard_of)
        out_streams[name] = (res.decisions, res.seconds)
    return {"items": items, "streams": out_streams, "clips": clips, "threshold": bundle_threshold(clf),
            "sources": src.describe()}


def bundle_threshold(clf) -> float:
    from realtime import constants as C

    from ..evaluation.robustness.report import bundle_threshold as recorded

    t = recorded(clf.bundle.spec)
    return C.DEFAULT_THRESHOLD if t is None else float(t)


def _fmt(x: float | None) -> str:
    return "gate everywhere" if x is None else ("no limit" if math.isinf(x) else f"{x:g} dB")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--bundle", type=click.Path(exists=True, path_type=Path), default=None,
              help="Model bundle (.json or its folder); default: the shipped one.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"),
              show_default=True, help="The shared data folder (fsdd/, speech_commands_*/, noise/).")
@click.option("--synth-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="'data synth --passages' output: validation voices and their readings.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the validation sets are written once (default: ~/.cache/spoken-digits/bench_gate).")
@click.option("--jobs", type=int, default=2, show_default=True, help="Processes for building and scoring.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def main(bundle, data_root, synth_dir, cache_dir, jobs, no_progress) -> None:
    """Print the steady-noise release rule's table on validation audio (accuracy of digit items at the
    bundle's threshold; false digits of the validation streams, per hour; negative clips accepted)."""
    from ..data.dataset import default_cache_dir

    cache = Path(cache_dir or Path(default_cache_dir()) / "bench_gate")
    data = collect(bundle, data_root, synth_dir, cache, jobs, not no_progress)
    th = data["threshold"]
    first = score(data, th, None, math.inf)
    conds = [c for c in CONDITIONS if c in first["accuracy"]]
    streams = list(first["false_digits"])
    print(f"validation items per condition: {first['n']}; streams: "
          + ", ".join(f"{n} {s / 60:.1f} min" for n, (_, s) in data["streams"].items())
          + f"; negative clips: {first['clips']}; threshold {th:g} (bundle)")
    print("| spread limit | peak limit | " + " | ".join(conds) + " | false digits (" + " / ".join(streams)
          + ") | per hour | clips accepted |")
    print("|---" * (len(conds) + 5) + "|")
    for spread in SPREAD_LIMITS_DB:
        for peak in (PEAK_LIMITS_DB if spread is not None else (math.inf,)):
            r = score(data, th, spread, peak)
            print(f"| {_fmt(spread)} | {'-' if spread is None else _fmt(peak)} | "
                  + " | ".join(f"{r['accuracy'][c]:.3f}" for c in conds)
                  + f" | {' / '.join(str(r['false_digits'][n]) for n in streams)} | {r['fa_per_hour']:.1f} | "
                  + f"{r['clips_accepted']} |")


if __name__ == "__main__":
    main()
