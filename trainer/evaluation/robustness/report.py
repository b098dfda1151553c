"""Run a bundle over the held-out sets and report: digit robustness, steady-noise streams, false accepts.

:func:`run_robustness` and :func:`run_far` return JSON-ready dicts; :func:`robustness_tables`,
:func:`far_tables` render them as rich tables and :func:`plot_det` draws the DET-style curve.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from . import sets as S
from .score import (Dec, ModelRunner, StreamResult, accepted, count_items, item_outcome, match_played,
                    read_audio, run_stream, sweep)

#: Environment variable naming the shared data folder.
SHARED_DATA_ENV_VAR = "SPOKEN_DIGITS_SHARED_DATA"
#: Keys in a bundle JSON that may record its operating threshold (searched breadth-first).
THRESHOLD_KEYS = ("threshold", "decision_threshold", "operating_threshold", "default_threshold")
#: Speech-state runs longer than this count as the segmenter hanging (s).
HANG_S = 2.0
#: Conditions of the DET curve's digit items.
DET_CONDITIONS = ("clean", "babble_10")


# --------------------------------------------------------------------------- bundle
def bundle_threshold(spec: dict) -> float | None:
    """The operating threshold a bundle JSON records, if any: the first key of :data:`THRESHOLD_KEYS`
    holding a number in [0, 1], searched breadth-first (top level first)."""
    queue = [spec]
    while queue:
        nxt = []
        for d in queue:
            for k in THRESHOLD_KEYS:
                v = d.get(k)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0:
                    return float(v)
            nxt += [v for v in d.values() if isinstance(v, dict)]
        queue = nxt
    return None


def bundle_info(clf) -> dict:
    from realtime.bundle import sha256_file

    b = clf.bundle
    return {"path": str(b.json_path.parent), "name": b.name, "model": b.spec.get("model"), "labels": list(b.labels),
            "quantization": b.quantization, "interpreter": clf.interpreter_name,
            "sha256": {"json": sha256_file(b.json_path), "tflite": sha256_file(b.tflite_path)}}


# --------------------------------------------------------------------------- runs
@dataclass
class ItemResult:
    id: str
    source: str
    condition: str
    digit: str
    decisions: list[Dec]
    window: Dec | None = None


@dataclass
class Context:
    """What every run needs: the model, the sets' material, options."""

    runner: ModelRunner
    sources: S.Sources
    cache: Path
    threshold: float
    seed: int = 0
    sizes: S.Sizes = S.FULL
    progress: bool = True
    #: Processes for building and scoring items (fork pool; 1: this process).
    jobs: int = 1
    _material: S.Material | None = field(default=None, repr=False)

    def material(self) -> S.Material:
        if self._material is None:
            self._material = S.load_material(self.sources, self.cache, sizes=self.sizes, seed=self.seed)
        return self._material

    def conditions(self) -> list[S.Condition]:
        """The conditions the data allows (babble needs >= 7 held-out speakers, noise the test recordings)."""
        out = []
        for c in S.CONDITIONS:
            if c.kind == "babble" and len({x.speaker for x in self.sources.babble_speech}) < 7:
                continue
            if c.kind == "noise" and not self.sources.noise:
                continue
            out.append(c)
        return out


def _bar(ctx: Context):
    return S._progress(ctx.progress)


def score_digits(ctx: Context, doc: dict, *, conditions: Sequence[str] | None = None) -> list[ItemResult]:
    """Every digit item through the ``recognize`` path, and its utterance (exactly as placed, with the
    noise under it) through the plain window path."""
    from .parallel import pmap

    folder = Path(doc["folder"])
    items = [it for it in doc["items"] if conditions is None or it["condition"] in conditions]

    def one(it: dict) -> ItemResult:
        y, rate = read_audio(folder / it["file"])
        r = ItemResult(it["id"], it["source"], it["condition"], it["digit"], ctx.runner.recognize(y, rate))
        st, n = it["speech_start"], it["speech_len"]
        r.window = ctx.runner.classify_window(y[st:st + n], rate)  # the utterance exactly, no segmenter
        return r

    with _bar(ctx) as bar:
        task = bar.add_task("recognizing digit items", total=len(items))
        return pmap(one, items, jobs=ctx.jobs, advance=lambda: bar.advance(task))


def digit_table(results: Sequence[ItemResult], threshold: float, conditions: Sequence[str]) -> dict:
    """``{"columns", "rows": {source: {column: Counts.to_json()}}, "window": {source: {condition: ...}}}``.

    The ``all`` row pools every source; the column ``clean_window`` (and every cell of ``window``)
    is the plain window path: the utterance classified directly, without the segmenter."""
    sources = sorted({r.source for r in results}, key=lambda s: (s != "fsdd", s))
    has_window = any(r.window for r in results if r.condition == "clean")
    cols = ["clean_window", *conditions] if has_window else list(conditions)
    rows: dict[str, dict] = {}
    window: dict[str, dict] = {}
    for src in [*sources, "all"]:
        sel = [r for r in results if src == "all" or r.source == src]
        rows[src] = {}
        for col in cols:
            cond = "clean" if col == "clean_window" else col
            part = [r for r in sel if r.condition == cond]
            if col == "clean_window":
                rows[src][col] = count_items([(r.digit, [r.window]) for r in part if r.window], threshold).to_json()
            else:
                rows[src][col] = count_items([(r.digit, r.decisions) for r in part], threshold).to_json()
        window[src] = {c: count_items([(r.digit, [r.window]) for r in sel if r.condition == c and r.window],
                                      threshold).to_json() for c in conditions}
    return {"columns": cols, "rows": rows, "window": window}


def per_digit_table(results: Sequence[ItemResult], threshold: float, *, condition: str = "clean") -> dict:
    """``{source: {digit: Counts.to_json()}}`` of ``condition`` for the real-voice sources (every Speech
    Commands digit copy, pooled as ``speech_commands`` too, and ``--folder`` corpora), so an uneven
    training set shows as an uneven row."""
    real = [r for r in results if r.condition == condition
            and (r.source in S.SPEECH_COMMANDS_DIGIT_SOURCES or r.source.startswith("folder:"))]
    out: dict[str, dict] = {}
    groups = sorted({r.source for r in real})
    pooled = [s for s in groups if s in S.SPEECH_COMMANDS_DIGIT_SOURCES]
    for name, members in [*[(g, [g]) for g in groups], *([("speech_commands (all copies)", pooled)]
                                                          if len(pooled) > 1 else [])]:
        sel = [r for r in real if r.source in members]
        out[name] = {d: count_items([(r.digit, r.decisions) for r in sel if r.digit == d], threshold).to_json()
                     for d in sorted({r.digit for r in sel})}
    return out


def stream_segments(paths: Sequence[Path], files: list | None = None) -> Iterator[np.ndarray]:
    """The recordings of one stream at the items' rate, one after the other (0.5 s of silence between
    them when there are several): what :func:`score_streams` plays. With several, ``files`` (a list)
    receives ``(name, start_s, end_s)`` of each recording as it is played."""
    t = 0.0
    for p in paths:
        y, _ = read_audio(p, S.ITEM_RATE_HZ)
        if files is not None and len(paths) > 1:
            files.append((Path(p).stem, t, t + y.shape[0] / S.ITEM_RATE_HZ))
        t += y.shape[0] / S.ITEM_RATE_HZ
        yield y
        if len(paths) > 1:
            gap = np.zeros(int(0.5 * S.ITEM_RATE_HZ), np.float32)
            t += gap.shape[0] / S.ITEM_RATE_HZ
            yield gap


def score_streams(ctx: Context, doc: dict, names: Sequence[str], *, extra: dict[str, list[Path]] | None = None
                  ) -> dict[str, StreamResult]:
    """Stream each named stream of ``doc`` (and the ``extra`` file lists, e.g. passages) through a live Recognizer."""
    folder = Path(doc["folder"])
    plan: list[tuple[str, list[Path]]] = [(n, [folder / doc["streams"][n]["file"]]) for n in names
                                          if n in doc["streams"]]
    plan += list((extra or {}).items())
    out = {}
    import soundfile as sf

    total = sum(sf.info(str(p)).frames / sf.info(str(p)).samplerate for _, ps in plan for p in ps)
    with _bar(ctx) as bar:
        task = bar.add_task("streaming", total=round(total, 1))
        for name, paths in plan:
            bar.update(task, description=f"streaming {name}")

            files: list[tuple[str, float, float]] = []
            out[name] = run_stream(ctx.runner, stream_segments(paths, files), S.ITEM_RATE_HZ, hang_s=HANG_S,
                                   on_block=lambda n: bar.advance(task, n / S.ITEM_RATE_HZ))
            out[name].files = files
    return out


def _stream_json(res: StreamResult, threshold: float) -> dict:
    return {"seconds": round(res.seconds, 2), "hours": round(res.hours, 5), "decisions": len(res.decisions),
            "false_accepts": res.false_accepts(threshold),
            "fa_per_hour": round(res.false_accepts(threshold) / res.hours, 2) if res.hours else None,
            "false_accept_speech_s_median": _median(res.false_accept_speech_s(threshold)),
            "max_speech_s": round(res.max_speech_s, 2), "speech_runs_over_2s": res.long_speech,
            **({"false_accepts_by_file": res.false_accepts_by_file(threshold)} if res.files else {}),
            "decision_list": [d.to_json() for d in res.decisions]}


def _median(values: Sequence[float]) -> float | None:
    return round(float(np.median(values)), 3) if len(values) else None


def _items_json(results: Sequence[ItemResult], threshold: float) -> list[dict]:
    return [{"id": r.id, "source": r.source, "condition": r.condition, "digit": r.digit,
             "outcome": item_outcome(r.digit, r.decisions, threshold),
             "decisions": [d.to_json() for d in r.decisions],
             **({"window": r.window.to_json()} if r.window else {})} for r in results]


def run_robustness(ctx: Context) -> dict:
    """Sections 1-3: digit items of every source x condition, plain window path, steady-noise streams."""
    t0 = time.monotonic()
    conds = ctx.conditions()
    digits = S.build_digit_items(ctx.sources, ctx.cache, conditions=conds, seed=ctx.seed, sizes=ctx.sizes,
                                 progress=ctx.progress, material=ctx.material, jobs=ctx.jobs)
    streams = S.build_streams(ctx.sources, ctx.cache, seed=ctx.seed, sizes=ctx.sizes, progress=ctx.progress,
                              material=ctx.material)
    t_build = time.monotonic() - t0
    results = score_digits(ctx, digits)
    names = [n for n in streams["streams"] if n.startswith("digits_")]
    sres = score_streams(ctx, streams, names)
    stream_rows = {}
    for n in names:
        m = match_played([(p[0], p[1], p[2]) for p in streams["streams"][n]["played"]], sres[n].decisions,
                         ctx.threshold)
        r = sres[n]
        stream_rows[n.removeprefix("digits_")] = {
            **m, "seconds": round(r.seconds, 2), "max_speech_s": round(r.max_speech_s, 2),
            "speech_runs_over_2s": r.long_speech, "hangs": bool(r.long_speech),
            "definition": {k: streams["streams"][n].get(k) for k in ("snr_db_target", "bed")},
            "decision_list": [d.to_json() for d in r.decisions]}
    cond_names = [c.name for c in conds]
    return {
        "command": "robustness", "threshold": ctx.threshold,
        "conditions": [c.describe() for c in conds],
        "table": digit_table(results, ctx.threshold, cond_names),
        "per_digit": per_digit_table(results, ctx.threshold),
        "streams": stream_rows,
        "stream_definition": {"digits": ctx.sizes.stream_digits, "gap_s": ctx.sizes.stream_gap_s,
                              "lead_s": S.STREAM_LEAD_S, "bed_dbfs": S.BED_DBFS, "block_ms": _block_ms(),
                              "hang_s": HANG_S},
        "data": digits["data"],
        "cache": {"digits": digits["folder"], "streams": streams["folder"]},
        "items": _items_json(results, ctx.threshold),
        "timing_s": {"build": round(t_build, 1), "total": round(time.monotonic() - t0, 1)},
    }


def _block_ms() -> float:
    from realtime import constants as C

    return C.CAPTURE_BLOCK_MS


def score_negative_clips(ctx: Context, doc: dict) -> dict[str, list[tuple[str, list[Dec]]]]:
    from .parallel import pmap

    folder = Path(doc["folder"])

    def one(it: dict) -> list[Dec]:
        y, rate = read_audio(folder / it["file"])
        return ctx.runner.recognize(y, rate)

    with _bar(ctx) as bar:
        task = bar.add_task("recognizing negative clips", total=len(doc["items"]))
        decs = pmap(one, doc["items"], jobs=ctx.jobs, advance=lambda: bar.advance(task))
    out: dict[str, list[tuple[str, list[Dec]]]] = {}
    for it, ds in zip(doc["items"], decs):
        out.setdefault(it["kind"], []).append((it["id"], ds))
    return out


def run_far(ctx: Context) -> dict:
    """Section 4: false-accept rate on negative clips, false accepts per hour on continuous no-digit
    audio, the threshold sweep (DET), and digit accuracy at the threshold (the robustness items)."""
    t0 = time.monotonic()
    conds = ctx.conditions()
    digits = S.build_digit_items(ctx.sources, ctx.cache, conditions=conds, seed=ctx.seed, sizes=ctx.sizes,
                                 progress=ctx.progress, material=ctx.material, jobs=ctx.jobs)
    negatives = S.build_negative_items(ctx.sources, ctx.cache, seed=ctx.seed, sizes=ctx.sizes, progress=ctx.progress,
                                       jobs=ctx.jobs)
    streams = S.build_streams(ctx.sources, ctx.cache, seed=ctx.seed, sizes=ctx.sizes, progress=ctx.progress,
                              material=ctx.material)
    t_build = time.monotonic() - t0
    th = ctx.threshold
    clips = score_negative_clips(ctx, negatives)
    clip_rows = {}
    for kind, res in clips.items():
        fa = sum(any(accepted(d, th) for d in ds) for _, ds in res)
        clip_rows[kind] = {"clips": len(res), "fa_clips": fa, "fa_rate": round(fa / len(res), 4) if res else None,
                           "accepted_decisions": sum(accepted(d, th) for _, ds in res for d in ds),
                           "decisions": sum(len(ds) for _, ds in res)}
    tot = sum(r["clips"] for r in clip_rows.values())
    fa_tot = sum(r["fa_clips"] for r in clip_rows.values())
    clip_rows["all"] = {"clips": tot, "fa_clips": fa_tot, "fa_rate": round(fa_tot / tot, 4) if tot else None,
                        "accepted_decisions": sum(r["accepted_decisions"] for r in clip_rows.values()),
                        "decisions": sum(r["decisions"] for r in clip_rows.values())}
    extra = {"passages": ctx.sources.passages} if ctx.sources.passages else {}
    if ctx.sources.real_speech:
        extra["real_speech"] = ctx.sources.real_speech
    sres = score_streams(ctx, streams, [n for n in S.FA_STREAMS if n in streams["streams"]], extra=extra or None)
    stream_rows = {n: _stream_json(r, th) for n, r in sres.items()}
    hours = sum(r.hours for r in sres.values())
    fa_all = sum(r.false_accepts(th) for r in sres.values())
    stream_rows["all"] = {"seconds": round(hours * 3600, 2), "hours": round(hours, 5),
                          "decisions": sum(len(r.decisions) for r in sres.values()), "false_accepts": fa_all,
                          "fa_per_hour": round(fa_all / hours, 2) if hours else None,
                          "false_accept_speech_s_median": _median(
                              [x for r in sres.values() for x in r.false_accept_speech_s(th)]),
                          "max_speech_s": round(max((r.max_speech_s for r in sres.values()), default=0.0), 2)}
    results = score_digits(ctx, digits)
    cond_names = [c.name for c in conds]
    det_items = [(r.digit, r.decisions) for r in results if r.condition in DET_CONDITIONS]
    neg_decs = [d for r in sres.values() for d in r.decisions]
    curve = sweep(det_items, neg_decs, hours)
    per_cond = {c: sweep([(r.digit, r.decisions) for r in results if r.condition == c], neg_decs, hours,
                         curve["threshold"])["miss_rate"] for c in DET_CONDITIONS}
    op = sweep(det_items, neg_decs, hours, [th])
    det_real = None
    real_items = [(r.digit, r.decisions) for r in results
                  if r.condition == "clean" and r.source in S.SPEECH_COMMANDS_DIGIT_SOURCES]
    if real_items and "real_speech" in sres:
        real = sres["real_speech"]
        det_real = sweep(real_items, real.decisions, real.hours)
        at = sweep(real_items, real.decisions, real.hours, [th])
        det_real = {"items": "clean digit items of held-out Speech Commands speakers",
                    "negatives": "read sentences of held-out speechocean762 speakers", **det_real,
                    "operating_point": {"threshold": th, "miss_rate": at["miss_rate"][0],
                                        "fa_per_hour": at["fa_per_hour"][0]}}
    return {
        "command": "far", "threshold": th,
        "negative_clips": clip_rows,
        "negative_clip_definition": {"context": f"{S.CONTEXT_S} s of digital silence before and after",
                                     "fa_rate": "clips with any accepted digit / clips",
                                     "generated_counts": negatives["counts"]},
        "streams": stream_rows,
        "stream_definition": {**S.STREAMS_DEFINITION, "block_ms": _block_ms(), "recognizer": "live (warm-up floor)",
                              "passages": [p.name for p in ctx.sources.passages]},
        "det": {"items": f"digit items of {' + '.join(DET_CONDITIONS)}, every source", "miss": "not right",
                "negatives": "every continuous no-digit stream", **curve, "miss_rate_by_condition": per_cond,
                "operating_point": {"threshold": th, "miss_rate": op["miss_rate"][0], "fa_per_hour": op["fa_per_hour"][0]}},
        "det_real": det_real,
        "digits": digit_table(results, th, cond_names),
        "conditions": [c.describe() for c in conds],
        "data": {"digits": digits["data"], "negatives": negatives["data"]},
        "cache": {"digits": digits["folder"], "negatives": negatives["folder"], "streams": streams["folder"]},
        "negative_clip_decisions": {k: [{"id": i, "decisions": [d.to_json() for d in ds]} for i, ds in v]
                                    for k, v in clips.items()},
        "items": _items_json(results, th),
        "timing_s": {"build": round(t_build, 1), "total": round(time.monotonic() - t0, 1)},
    }


# --------------------------------------------------------------------------- rendering
def _cell(c: dict) -> str:
    return "-" if not c["n"] else f"{c['accuracy']:.3f} ({c['n']})"


def _column_title(col: str) -> str:
    if col == "clean_window":
        return "clean (window)"
    kind, _, snr = col.partition("_")
    return f"{kind} {snr} dB" if snr else kind


def digits_rich_table(table: dict, title: str):
    from rich.table import Table

    t = Table(title=title)
    t.add_column("source")
    for col in table["columns"]:
        t.add_column(_column_title(col), justify="right")
    for src, row in table["rows"].items():
        t.add_row(src, *[_cell(row[c]) for c in table["columns"]], style="bold" if src == "all" else None)
    return t


def outcomes_rich_table(table: dict, threshold: float):
    from rich.table import Table

    t = Table(title=f"Outcomes through the segmenter, all sources (threshold {threshold:g}): missed = no decision, "
                    f"extra = > 1 accepted, split = > 1 decision; window path = the utterance classified directly")
    t.add_column("condition")
    for k in ("n", "right", "wrong", "rejected", "missed", "extra", "split", "window path"):
        t.add_column(k, justify="right")
    for col in table["columns"]:
        if col == "clean_window":
            continue
        c = table["rows"]["all"][col]
        w = table.get("window", {}).get("all", {}).get(col)
        t.add_row(col, *[str(c[k]) for k in ("n", "right", "wrong", "rejected", "missed", "extra", "split")],
                  "-" if not w or not w["n"] else f"{w['accuracy']:.3f}")
    return t


def robustness_tables(rep: dict) -> list:
    from rich.table import Table

    th = rep["threshold"]
    out = [digits_rich_table(rep["table"], f"Digit accuracy through the segmenter, threshold {th:g} "
                                          "(right = accepted digits exactly \\[its digit]); cells: accuracy (n)"),
           outcomes_rich_table(rep["table"], th)]
    for src, row in (rep.get("per_digit") or {}).items():
        t = Table(title=f"{src}, held-out speakers, clean, per digit (threshold {th:g}): accuracy (n)")
        for d in row:
            t.add_column(d, justify="right")
        t.add_row(*[_cell(c) for c in row.values()])
        out.append(t)
    if rep["streams"]:
        d = rep["stream_definition"]
        t = Table(title=f"Segmenter in steady noise: {d['digits']} FSDD test digits {d['gap_s']} s apart over a "
                        f"continuous bed, live recognizer, blocks of {d['block_ms']:g} ms")
        for c in ("stream", "found / played", "right / played", "extra accepted", "max speech state", "> 2 s?"):
            t.add_column(c, justify="right" if c != "stream" else "left")
        for n, r in rep["streams"].items():
            t.add_row(n, f"{r['found']} / {r['played']}", f"{r['right']} / {r['played']}", str(r["extra"]),
                      f"{r['max_speech_s']:.2f} s", "HANGS" if r["hangs"] else "no")
        out.append(t)
    return out


def far_tables(rep: dict) -> list:
    from rich.table import Table

    th = rep["threshold"]
    t1 = Table(title=f"False-accept rate on held-out negative clips (threshold {th:g}; each in "
                     f"{S.CONTEXT_S} s of silence): clips with any accepted digit")
    for c in ("kind", "clips", "false accepts", "FA rate"):
        t1.add_column(c, justify="left" if c == "kind" else "right")
    for k, r in rep["negative_clips"].items():
        t1.add_row(k, str(r["clips"]), str(r["fa_clips"]), "-" if r["fa_rate"] is None else f"{r['fa_rate']:.3f}",
                   style="bold" if k == "all" else None)
    t2 = Table(title=f"False accepts per hour on continuous audio without digits (live recognizer, threshold {th:g})")
    for c in ("stream", "audio", "decisions", "false accepts", "FA / h", "FA speech (median)", "max speech state"):
        t2.add_column(c, justify="left" if c == "stream" else "right")
    for k, r in rep["streams"].items():
        med = r.get("false_accept_speech_s_median")
        t2.add_row(k, f"{r['seconds'] / 60:.1f} min", str(r["decisions"]), str(r["false_accepts"]),
                   "-" if r["fa_per_hour"] is None else f"{r['fa_per_hour']:.0f}",
                   "-" if med is None else f"{med:.2f} s", f"{r['max_speech_s']:.2f} s",
                   style="bold" if k == "all" else None)
    by_file = {k: r["false_accepts_by_file"] for k, r in rep["streams"].items() if r.get("false_accepts_by_file")}
    if by_file:  # which voices of the passages the false digits came from
        t2.caption = "; ".join(f"{k} by recording: " + ", ".join(f"{n} {c}" for n, c in v.items())
                               for k, v in by_file.items())
    op = rep["det"]["operating_point"]
    t3 = digits_rich_table(rep["digits"], f"Digit accuracy at threshold {th:g} (DET operating point: miss rate "
                                          f"{op['miss_rate']:.3f} on {' + '.join(DET_CONDITIONS)}, "
                                          f"{op['fa_per_hour']:.0f} FA/h)")
    out = [t1, t2, t3]
    real = rep.get("det_real")
    if real:
        t4 = Table(title="Held-out real people: Speech Commands digits (miss = not right) against false digits per "
                         "hour of speechocean762 read sentences, the threshold swept")
        for c in ("threshold", "miss rate", "FA / h"):
            t4.add_column(c, justify="right")
        thr = np.asarray(real["threshold"])
        for t in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, th):
            i = int(np.searchsorted(thr, t, side="left"))  # first swept threshold >= t
            if i < thr.size:
                t4.add_row(f"{t:.2f}" + (" (bundle)" if t == th else ""), f"{real['miss_rate'][i]:.3f}",
                           f"{real['fa_per_hour'][i]:.1f}")
        out.append(t4)
    return out


def plot_det(rep: dict, path: str | os.PathLike, *, title: str = "") -> None:
    """Miss rate (digit items) against false accepts per hour (continuous negatives), the threshold swept;
    the operating point marked. PNG via matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...atomic import atomic_path

    det = rep["det"]
    # from the highest threshold (fewest false accepts) down: a staircase of the achievable points
    fa = np.asarray(det["fa_per_hour"], float)[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    ax.step(fa, np.asarray(det["miss_rate"])[::-1], where="post", label=" + ".join(DET_CONDITIONS), color="C0", lw=2)
    for i, (c, m) in enumerate(det["miss_rate_by_condition"].items()):
        ax.step(fa, np.asarray(m)[::-1], where="post", label=c, color=f"C{i + 1}", lw=1, alpha=0.8)
    op = det["operating_point"]
    ax.plot([op["fa_per_hour"]], [op["miss_rate"]], "o", color="k", ms=8,
            label=f"threshold {op['threshold']:g}: miss {op['miss_rate']:.3f}, {op['fa_per_hour']:.0f} FA/h")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"false accepts per hour (continuous no-digit audio, {det['hours'] * 60:.1f} min)")
    ax.set_ylabel(f"miss rate (1 - accuracy, {det['n_items']} digit items)")
    ax.set_title(title or "Miss rate vs false accepts per hour, threshold swept")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_json(rep: dict, path: str | os.PathLike) -> None:
    from ...atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(rep, indent=1, default=_json_default))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(type(o))


__all__ = ["Context", "bundle_info", "bundle_threshold", "digit_table", "far_tables", "plot_det", "robustness_tables",
           "run_far", "run_robustness", "write_json"]
