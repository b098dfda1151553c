"""``spoken-digits strings``: digit strings, isolated digits and running speech through a bundle, as a user runs it.

Every item goes through the path of ``spoken-digits recognize`` (:func:`realtime.pipeline.recognize_samples`:
the segmenter, the window classifier, and the bundle's digit-string model when it has one); the
digits of all its decisions, in order, are the item's reading (what a user sees for the file).

Items, all of held-out speakers or voices unless ``split="val"`` (:mod:`trainer.data.corpus` splits):

==================  ==========================================================================
``real``            speechocean762's real digit strings (``digit_strings/``), read by people at their
                    own pace (Mandarin first language; children and adults)
``tts``             digit strings said as one utterance by the held-out synthetic voices
                    (``data synth --strings``)
``assembled``       strings assembled from isolated digit clips of held-out Speech Commands speakers
                    (every copy) and FSDD's official test clips (:func:`trainer.data.strings.assemble_string`)
``isolated``        isolated digit clips of held-out Speech Commands speakers: the single digit must come out
``speech``          speechocean762 sentences without number words: every digit is a false one
==================  ==========================================================================

Each string item is scored clean and in babble at 10 dB SNR (3-7 held-out Speech Commands
talkers, :func:`trainer.data.augment.make_babble_bank`); each item sits between 0.5 s of silence.
Strings: exact share and digit error rate (substitutions, deletions, insertions;
:func:`trainer.evaluation.strings.string_scores`); isolated: share right; speech: false digits per hour.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

#: Silence before and after each item (s).
CONTEXT_S = 0.5
#: Babble level against the item's speech (dB SNR).
BABBLE_SNR_DB = 10.0


@dataclass(frozen=True)
class StringItem:
    """One item: ``audio`` (float32 at the front end's rate, the utterance only) and the digits said."""

    id: str
    kind: str
    source: str
    speaker: str
    digits: str
    audio: np.ndarray


def select_items(rows, *, split: str = "test", n_tts: int = 200, n_assembled: int = 200, n_isolated: int = 300,
                 seed: int = 0) -> list[StringItem]:
    """The items of ``split`` (see the module docstring), audio loaded at 22,050 Hz.

    Raises
    ------
    ValueError
        If the split holds no digit strings.
    """
    from ..config import FRONT_END
    from ..data.corpus import DIGIT_STRING_LABEL, PASSAGE_LABEL, SPEECH_COMMANDS_SOURCES
    from ..data.fsdd import load_audio
    from ..data.strings import assemble_string, digits_of_transcript, plan_strings

    rng = np.random.default_rng(seed)
    sr = FRONT_END.sample_rate_hz

    def load(path):
        return load_audio(path, config=FRONT_END, expected_sample_rate_hz=None)

    items: list[StringItem] = []
    real = [r for r in rows if r.split == split and r.label == DIGIT_STRING_LABEL and r.source == "speechocean762"]
    items += [StringItem(r.path.stem, "real", r.source, r.speaker, digits_of_transcript(r.word), load(r.path))
              for r in real]
    tts = [r for r in rows if r.split == split and r.label == DIGIT_STRING_LABEL and r.source == "synth"]
    tts = [tts[i] for i in sorted(rng.permutation(len(tts))[:n_tts])]
    items += [StringItem(r.path.stem, "tts", r.source, r.speaker, digits_of_transcript(r.word), load(r.path))
              for r in tts]
    for group, sources in (("speech_commands", SPEECH_COMMANDS_SOURCES), ("fsdd", ("fsdd",))):
        clips = [r for r in rows if r.split == split and r.is_digit and r.source in sources]
        if not clips:
            continue
        for i, plan in enumerate(plan_strings(clips, n_assembled, rng=rng, length=(2, 7))):
            s = assemble_string([load(c.path) for c in plan.clips], plan.digits, sample_rate_hz=sr, rng=rng)
            items.append(StringItem(f"{group}-{i}", "assembled", group, plan.speaker, plan.digits, s.audio))
    iso = [r for r in rows if r.split == split and r.is_digit and r.source in SPEECH_COMMANDS_SOURCES]
    iso = [iso[i] for i in sorted(rng.permutation(len(iso))[:n_isolated])]
    items += [StringItem(r.path.stem, "isolated", r.source, r.speaker, r.label, load(r.path)) for r in iso]
    speech = [r for r in rows if r.split == split and r.label == PASSAGE_LABEL and r.source == "speechocean762"]
    items += [StringItem(r.path.stem, "speech", r.source, r.speaker, "", load(r.path)) for r in speech]
    if not any(it.kind in ("real", "tts", "assembled") for it in items):
        raise ValueError(f"no digit strings in the {split} split")
    return items


def embed(item: StringItem, condition: str, babble: Sequence[np.ndarray], rng: np.random.Generator,
          sample_rate_hz: int) -> np.ndarray:
    """The item between :data:`CONTEXT_S` of silence, with babble at :data:`BABBLE_SNR_DB` for ``"babble_10"``."""
    ctx = np.zeros(int(CONTEXT_S * sample_rate_hz), np.float32)
    y = np.concatenate([ctx, item.audio.astype(np.float32), ctx])
    if condition == "babble_10":
        track = babble[int(rng.integers(len(babble)))]
        if track.size < y.size:
            track = np.tile(track, -(-y.size // track.size))
        start = int(rng.integers(0, track.size - y.size + 1))
        seg = track[start:start + y.size]
        rms = lambda a: float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) or 1e-12  # noqa: E731
        y = y + seg * np.float32(rms(item.audio) / rms(seg) / 10 ** (BABBLE_SNR_DB / 20))
        y /= max(1.0, float(np.abs(y).max()) / 0.99)
    return y.astype(np.float32)


def run_items(bundle, items: Sequence[StringItem], *, conditions: Sequence[str] = ("clean", "babble_10"),
              babble: Sequence[np.ndarray] = (), use_strings: bool = True, threshold: float | None = None,
              string_threshold: float | None = None, string_min_speech_ms: float | None = None,
              seed: int = 0, progress: bool = False) -> list[dict]:
    """Recognize every item (strings in every condition; isolated digits and speech clean only).

    Returns one dict per (item, condition): id, kind, source, speaker, condition, digits (said),
    read (the digits of every decision, in order), seconds (audio length), decisions (kind and label of each).
    ``threshold``/``string_threshold``/``string_min_speech_ms`` override the bundle's.
    """
    from realtime.classifier import Classifier
    from realtime.pipeline import recognize_samples
    from rich.progress import Progress

    clf = Classifier(bundle)
    options: dict = {}
    if use_strings and clf.bundle.strings is not None:
        from realtime.cli import _string_options

        options = _string_options(clf, False)
        if string_threshold is not None:
            options["string_threshold"] = string_threshold
        if string_min_speech_ms is not None:
            options["string_min_speech_ms"] = string_min_speech_ms
    thr = clf.bundle.threshold if threshold is None else threshold
    rng = np.random.default_rng(seed)
    todo = [(it, c) for it in items for c in (conditions if it.kind in ("real", "tts", "assembled") else ("clean",))
            if c == "clean" or babble]
    out = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("strings", total=len(todo))
        for it, cond in todo:
            y = embed(it, cond, babble, rng, clf.sample_rate_hz)
            ds = recognize_samples(y, clf.sample_rate_hz, clf.predict, model_rate_hz=clf.sample_rate_hz,
                                   window_samples=clf.window_samples, labels=clf.labels, threshold=thr, **options)
            out.append({"id": it.id, "kind": it.kind, "source": it.source, "speaker": it.speaker, "condition": cond,
                        "digits": it.digits, "read": "".join(d.digits for d in ds),
                        "seconds": round(y.size / clf.sample_rate_hz, 3),
                        "decisions": [[d.is_string, d.label, round(d.confidence, 4), round(d.utterance.speech_ms)]
                                      for d in ds if d.label != "_silence_"]})
            bar.advance(task)
    return out


def summarize(results: Sequence[dict]) -> dict:
    """Scores per (kind, source, condition): strings (exact, digit error rate, S/D/I), isolated (share
    right), speech (false digits and their rate per hour)."""
    from .strings import string_scores

    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["kind"], r["source"], r["condition"]), []).append(r)
    table = {}
    for (kind, source, cond), rs in sorted(groups.items()):
        name = f"{kind}:{source}:{cond}"
        if kind == "speech":
            hours = sum(r["seconds"] - 2 * CONTEXT_S for r in rs) / 3600
            false = sum(len(r["read"]) for r in rs)
            table[name] = {"items": len(rs), "minutes": round(hours * 60, 1), "false_digits": false,
                           "false_digits_per_hour": round(false / hours, 1) if hours else None,
                           "items_with_digits": sum(bool(r["read"]) for r in rs)}
        elif kind == "isolated":
            table[name] = {"items": len(rs), "right": round(sum(r["read"] == r["digits"] for r in rs) / len(rs), 4),
                           "wrong": sum(bool(r["read"]) and r["read"] != r["digits"] for r in rs),
                           "nothing": sum(not r["read"] for r in rs)}
        else:
            table[name] = {"items": len(rs), **string_scores([r["digits"] for r in rs], [r["read"] for r in rs])}
    return table


def babble_tracks(rows, cache: Path, *, n_tracks: int = 12, seed: int = 0) -> list[np.ndarray]:
    """Babble of held-out Speech Commands talkers' non-digit words (as ``robustness``), at 22,050 Hz."""
    from ..data.augment import make_babble_bank
    from ..data.corpus import UNKNOWN_LABEL
    from ..data.fsdd import load_audio

    words = [(r.path, r.speaker) for r in rows
             if r.source == "speech_commands" and r.split == "test" and r.label == UNKNOWN_LABEL]
    if not words:
        return []
    tracks = make_babble_bank(words, cache / "babble", n_tracks=n_tracks, seed=seed, duration_s=8.0)
    return [load_audio(p, expected_sample_rate_hz=None) for p, _ in tracks]


def write_json(doc: dict, path: str | Path) -> None:
    from ..atomic import atomic_path

    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=1))


__all__ = ["BABBLE_SNR_DB", "CONTEXT_S", "StringItem", "babble_tracks", "embed", "run_items", "select_items",
           "summarize", "write_json"]
