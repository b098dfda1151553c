"""Deterministic held-out test sets for ``robustness`` and ``far``, written once to the cache.

Everything here is made of **held-out material only**:

* digits: FSDD official test (recording indices 0-4), the test split of every Speech
  Commands digit copy (``speech_commands_digits``, ``speech_commands_digits_extra``),
  ``data synth`` voices the manifest marks ``test``, and any ``--folder``
  (all its digit clips: give one the model was not trained on);
* Speech Commands speakers count as held out only if *every* clip of theirs, in every
  Speech Commands copy, is in the test split (the copies share speaker ids); of
  ``speech_commands_digits``, only speakers that were test under its split before
  2026-12-07 too (:func:`trainer.data.corpus.legacy_split`), so bundles trained before
  and after compare on voices none of them heard;
* real running speech: the test speakers' read sentences of speechocean762 (``far``);
* noise: the test-split recordings of ``noise/`` (split by file);
* babble: :func:`trainer.data.augment.make_babble_bank` over the held-out Speech Commands
  speakers' non-digit words; a track never contains the target's speaker.

A test **item** is one utterance embedded in context, as a user's stream would hold it:
``CONTEXT_S`` of noise, the utterance, ``CONTEXT_S`` of noise, with the noise running
under the utterance; for ``clean`` and ``reverb`` the context is digital silence. The
utterance is the clip trimmed to its 10 ms frames within :data:`TRIM_TOP_DB` of its
loudest frame. **SNR** = 20 log10(speech RMS over the utterance / RMS of the noise
over the whole item). Items whose mix would clip are scaled down as a whole
(``gain``). Files are 16-bit WAV at :data:`ITEM_RATE_HZ` (the front end's rate).

Every random choice is seeded per item (:func:`trainer.data.augment.seed_for`), so the
same inputs give the same bytes; each set lives in ``CACHE/robustness/<kind>-<key>/``
where ``key`` hashes the inputs (file contents, settings, seed), every file is
written atomically and the set's ``manifest.json`` last: a rerun reuses the set.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ...atomic import atomic_path
from ...data.augment import make_babble_bank, resample_bank, seed_everything, seed_for
from ...config import FRONT_END
from ...data.corpus import (
    NOISE_LABEL, PASSAGE_LABEL, SPEECH_COMMANDS_SOURCES, UNKNOWN_LABEL, CorpusClip, legacy_split,
)

log = logging.getLogger(__name__)

#: Version of the set layout (part of every key).
FORMAT = 1
#: Rate of every written item and stream (Hz): the front end's.
ITEM_RATE_HZ = FRONT_END.sample_rate_hz
#: Context before and after each utterance (s).
CONTEXT_S = 0.5
#: An utterance is the clip's 10 ms frames within this many dB of its loudest frame, first to last.
TRIM_TOP_DB = 40.0
TRIM_FRAME_MS = 10.0
#: Written as 16-bit PCM WAV.
SUBTYPE = "PCM_16"
#: A mix whose peak exceeds this is scaled down as a whole.
MAX_PEAK = 0.99
#: Speech Commands digit copies whose test speakers are held-out real voices.
SPEECH_COMMANDS_DIGIT_SOURCES = tuple(s for s in SPEECH_COMMANDS_SOURCES if s != "speech_commands")

#: The reverberant condition: audiomentations.RoomSimulator, image-source model (no ray tracing:
#: deterministic); absorption from Sabine's formula for the target RT60, reflections up to order 10
#: (higher orders take seconds per clip), microphone 0.5-1.5 m from the talker.
REVERB = dict(min_target_rt60=0.3, max_target_rt60=0.8, calculation_mode="rt60", use_ray_tracing=False, max_order=10,
              min_mic_distance=0.5, max_mic_distance=1.5, leave_length_unchanged=False, padding=0.1, p=1.0)


@dataclass(frozen=True)
class Condition:
    """One test condition: ``kind`` in clean / babble / noise / reverb, ``snr_db`` for the noisy ones."""

    name: str
    kind: str
    snr_db: float | None = None

    def describe(self) -> dict:
        d = {"name": self.name, "kind": self.kind}
        if self.kind == "clean":
            d["context"] = f"{CONTEXT_S} s of digital silence before and after"
        elif self.kind == "reverb":
            d["context"] = f"{CONTEXT_S} s of digital silence before and after the reverberant utterance"
            d["room_simulator"] = dict(REVERB)
        else:
            d["snr_db"] = self.snr_db
            d["context"] = f"{CONTEXT_S} s of the same {self.kind} before and after; the noise runs under the utterance"
            d["snr_definition"] = "20 log10(speech RMS over the utterance / noise RMS over the whole item)"
            d["material"] = ("babble tracks of 3-7 held-out Speech Commands test speakers (never the target's)"
                             if self.kind == "babble" else "test-split noise recordings, chosen in proportion to duration")
        return d


CONDITIONS: tuple[Condition, ...] = (
    Condition("clean", "clean"),
    Condition("babble_10", "babble", 10.0),
    Condition("babble_5", "babble", 5.0),
    Condition("babble_0", "babble", 0.0),
    Condition("noise_10", "noise", 10.0),
    Condition("noise_5", "noise", 5.0),
    Condition("reverb", "reverb"),
)
CONDITION_BY_NAME = {c.name: c for c in CONDITIONS}


@dataclass(frozen=True)
class Sizes:
    """How much material each set takes (``--quick`` uses :data:`QUICK`)."""

    #: Digit clips per source (None: all).
    digits_per_source: int | None = None
    #: Speech Commands (and synth) non-digit test words in the negative clip set (None: all).
    negative_words: int | None = None
    #: Generated negatives per kind (trainer.data.negatives.KINDS).
    generated_per_kind: int = 40
    #: Babble tracks for items, and their length (s).
    babble_tracks: int = 24
    babble_track_s: float = 4.0
    #: The continuous babble bed: tracks x length (s).
    bed_tracks: int = 3
    bed_track_s: float = 60.0
    #: Words in the continuous words stream (None: all held-out test words).
    stream_words: int | None = None
    #: Digits in each steady-noise segmenter stream, and the pause between them (s).
    stream_digits: int = 20
    stream_gap_s: float = 0.8


FULL = Sizes()
QUICK = Sizes(digits_per_source=20, negative_words=40, generated_per_kind=3, babble_tracks=8, bed_tracks=1,
              bed_track_s=30.0, stream_words=40, stream_digits=8)


# --------------------------------------------------------------------------- sources
@dataclass
class Sources:
    """The held-out material, chosen from the corpus table."""

    digits: dict[str, list[CorpusClip]]
    words: dict[str, list[CorpusClip]]
    babble_speech: list[CorpusClip]
    noise: list[CorpusClip]
    fsdd_test: list[CorpusClip]
    passages: list[Path]
    excluded: dict[str, int]
    #: Real people's read sentences without digits (speechocean762 test speakers).
    real_speech: list[Path] = dataclasses.field(default_factory=list)

    def describe(self) -> dict:
        return {
            "digits": {s: {"clips": len(r), "speakers": sorted({c.speaker for c in r})} for s, r in self.digits.items()},
            "negative_words": {s: {"clips": len(r), "speakers": len({c.speaker for c in r})} for s, r in self.words.items()},
            "babble_speakers": sorted({c.speaker for c in self.babble_speech}),
            "babble_utterances": len(self.babble_speech),
            "noise_files": [f"{c.path.parent.name}/{c.path.name}" for c in self.noise],
            "passages": [p.name for p in self.passages],
            "real_speech": {"files": len(self.real_speech),
                            "speakers": len({p.parent.name for p in self.real_speech})},
            "excluded": dict(self.excluded),
        }


def held_out_speech_commands_speakers(rows: Iterable[CorpusClip]) -> set[str]:
    """Speech Commands speaker ids whose every clip (both copies) is in the test split."""
    splits: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.source in SPEECH_COMMANDS_SOURCES and r.speaker:
            splits[r.speaker].add(r.split)
    return {s for s, sp in splits.items() if sp == {"test"}}


def subset(rows: Sequence, n: int | None) -> list:
    """``n`` rows spread evenly over ``rows`` (all if ``n`` is None or larger)."""
    rows = list(rows)
    if n is None or n >= len(rows):
        return rows
    idx = np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))
    return [rows[i] for i in idx]


def select_sources(rows: Sequence[CorpusClip], *, folder_rows: Sequence[CorpusClip] = (),
                   passages_dir: Path | None = None, sizes: Sizes = FULL) -> Sources:
    """Choose the held-out material of every set from the corpus table (see the module docstring)."""
    rows = sorted(rows)
    held = held_out_speech_commands_speakers(rows)
    excluded: dict[str, int] = {}
    digits: dict[str, list[CorpusClip]] = {}
    fsdd = [r for r in rows if r.source == "fsdd" and r.split == "test"]
    if fsdd:
        digits["fsdd"] = fsdd
    for source in SPEECH_COMMANDS_DIGIT_SOURCES:
        scd = [r for r in rows if r.source == source and r.split == "test" and r.is_digit]
        if not scd:
            continue
        keep = [r for r in scd if r.speaker in held]
        excluded[f"{source}: test speaker with clips in another split"] = len(scd) - len(keep)
        if source == "speech_commands_digits":
            old = [r for r in keep if legacy_split(r) != "test"]
            excluded[f"{source}: trained on by bundles before 2026-12-07 (its old split)"] = len(old)
            keep = [r for r in keep if legacy_split(r) == "test"]
        digits[source] = keep
    synth = [r for r in rows if r.source == "synth" and r.split == "test" and r.is_digit]
    if synth:
        digits["synth"] = synth
    for r in sorted(folder_rows):
        if r.is_digit:
            digits.setdefault(r.source, []).append(r)
    digits = {k: subset(v, sizes.digits_per_source) for k, v in digits.items() if v}
    words: dict[str, list[CorpusClip]] = {}
    sc_words = [r for r in rows if r.source == "speech_commands" and r.split == "test" and r.label == UNKNOWN_LABEL]
    words["speech_commands"] = subset([r for r in sc_words if r.speaker in held], sizes.negative_words)
    excluded["speech_commands words: test speaker with clips in another split"] = sum(
        r.speaker not in held for r in sc_words)
    syn_words = [r for r in rows if r.source == "synth" and r.split == "test" and r.label == UNKNOWN_LABEL]
    if syn_words:
        words["synth"] = subset(syn_words, sizes.negative_words)
    words = {k: v for k, v in words.items() if v}
    babble = [r for r in sc_words if r.speaker in held]
    noise = [r for r in rows if r.label == NOISE_LABEL and r.split == "test"]
    passages = sorted((passages_dir / "passages").glob("*.wav")) if passages_dir else []
    real_speech = sorted(r.path for r in rows
                         if r.source == "speechocean762" and r.label == PASSAGE_LABEL and r.split == "test")
    return Sources(digits, words, babble, noise, fsdd, passages, excluded, real_speech)


# --------------------------------------------------------------------------- audio helpers
def load_clip(path: str | Path) -> np.ndarray:
    """A file as mono float32 at :data:`ITEM_RATE_HZ` (soundfile, channels averaged, soxr HQ as ``librosa.load``)."""
    from .score import read_audio

    return read_audio(path, ITEM_RATE_HZ)[0]


def trim_bounds(y: np.ndarray, rate_hz: int = ITEM_RATE_HZ, *, top_db: float = TRIM_TOP_DB,
                frame_ms: float = TRIM_FRAME_MS) -> tuple[int, int]:
    """``(start, stop)`` samples of the utterance: first to last frame within ``top_db`` of the loudest."""
    f = max(1, int(round(rate_hz * frame_ms / 1000.0)))
    n = y.shape[0] // f
    if n == 0:
        return 0, y.shape[0]
    p = np.mean(np.square(y[: n * f].reshape(n, f), dtype=np.float64), axis=1)
    db = 10 * np.log10(p + 1e-12)
    act = np.flatnonzero(db > db.max() - top_db)
    return int(act[0] * f), int(min(y.shape[0], (act[-1] + 1) * f))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def snr_db(speech: np.ndarray, noise: np.ndarray) -> float:
    """20 log10(RMS(speech) / RMS(noise))."""
    return 20.0 * np.log10(max(rms(speech), 1e-12) / max(rms(noise), 1e-12))


def _segment(src: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """``n`` samples of ``src`` from a random offset, tiled if ``src`` is shorter."""
    if src.shape[0] >= n:
        off = int(rng.integers(0, src.shape[0] - n + 1))
        return src[off:off + n].copy(), off
    reps = int(np.ceil(n / src.shape[0])) + 1
    off = int(rng.integers(0, src.shape[0]))
    return np.tile(src, reps)[off:off + n].copy(), off


def _write(path: Path, y: np.ndarray, rate_hz: int = ITEM_RATE_HZ) -> None:
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(y, -1.0, 1.0), rate_hz, subtype=SUBTYPE, format="WAV")


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _key(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _safe(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)


def item_id(c: CorpusClip) -> str:
    """A stable id of a clip: ``source/<parent folder>/<file stem>``."""
    return f"{c.source}/{c.path.parent.name}/{c.path.stem}"


def _speaker_key(c: CorpusClip) -> str:
    """Speakers are compared across the two Speech Commands copies (shared ids)."""
    return f"speech_commands/{c.speaker}" if c.source in SPEECH_COMMANDS_SOURCES else c.group


# --------------------------------------------------------------------------- materials
@dataclass
class Material:
    """Noise and babble at :data:`ITEM_RATE_HZ`, loaded once."""

    noise: list[tuple[str, np.ndarray]]
    babble: list[tuple[str, frozenset[str], np.ndarray]]
    bed: list[tuple[str, frozenset[str], np.ndarray]]

    def describe(self) -> dict:
        return {
            "noise_files": [{"file": n, "seconds": round(y.shape[0] / ITEM_RATE_HZ, 2)} for n, y in self.noise],
            "babble_tracks": [{"file": n, "speakers": sorted(s)} for n, s, _ in self.babble],
            "babble_bed_tracks": [{"file": n, "speakers": sorted(s), "seconds": round(b.shape[0] / ITEM_RATE_HZ, 1)}
                                  for n, s, b in self.bed],
        }


def load_material(src: Sources, cache: Path, *, sizes: Sizes, seed: int) -> Material:
    """Test noise (resampled once, :func:`~trainer.data.augment.resample_bank`) and babble banks (held-out speakers)."""
    cfg = dataclasses.replace(FRONT_END, sample_rate_hz=ITEM_RATE_HZ)
    noise = []
    for c, p in zip(src.noise, resample_bank([c.path for c in src.noise], cache / "noise", config=cfg)):
        noise.append((f"{c.path.parent.name}/{c.path.name}", load_clip(p)))
    speech = [(c.path, _speaker_key(c)) for c in src.babble_speech]
    babble, bed = [], []
    if speech:
        for n_tracks, dur, out, tag in ((sizes.babble_tracks, sizes.babble_track_s, babble, "items"),
                                        (sizes.bed_tracks, sizes.bed_track_s, bed, "bed")):
            for p, spk in make_babble_bank(speech, cache / "babble", n_tracks=n_tracks, seed=seed_for("babble", tag, seed),
                                           duration_s=dur, talkers=(3, 7), config=cfg):
                out.append((f"{p.parent.name}/{p.name}", spk, load_clip(p)))
    return Material(noise, babble, bed)


def material_key(src: Sources, sizes: Sizes, seed: int) -> dict:
    return {"noise": [file_digest(c.path) for c in src.noise],
            "babble_speech": sorted(f"{_speaker_key(c)}:{file_digest(c.path)}" for c in src.babble_speech),
            "babble": [sizes.babble_tracks, sizes.babble_track_s, sizes.bed_tracks, sizes.bed_track_s], "seed": seed}


# --------------------------------------------------------------------------- items
def _embed(speech: np.ndarray, cond: Condition, rng: np.random.Generator, mat: Material, speaker: str,
           seed: int) -> tuple[np.ndarray, dict]:
    """The item of one utterance in one condition, and what was done (see the module docstring)."""
    ctx = int(round(CONTEXT_S * ITEM_RATE_HZ))
    meta: dict = {}
    utt = speech
    if cond.kind == "reverb":
        import audiomentations as A

        seed_everything(seed)
        room = A.RoomSimulator(**REVERB)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wet = np.asarray(room(speech.astype(np.float32), sample_rate=ITEM_RATE_HZ), np.float32)
        wet *= float(np.abs(speech).max()) / max(float(np.abs(wet).max()), 1e-9)  # the dry clip's peak
        utt = wet
        prm = room.parameters
        meta["reverb"] = {"target_rt60_s": round(float(prm["target_rt60"]), 3), "max_order": int(prm["max_order"]),
                          "mic_distance_m": round(float(prm["mic_radius"]), 3),
                          "room_m": [round(float(prm[k]), 2) for k in ("size_x", "size_y", "size_z")]}
    total = ctx + utt.shape[0] + ctx
    y = np.zeros(total, np.float32)
    y[ctx:ctx + utt.shape[0]] = utt
    if cond.kind in ("babble", "noise"):
        if cond.kind == "babble":
            allowed = [t for t in mat.babble if speaker not in t[1]]
            if not allowed:
                raise ValueError(f"no babble track without speaker {speaker}")
            name, spk, src = allowed[int(rng.integers(len(allowed)))]
            meta["babble"] = {"file": name, "speakers": sorted(spk)}
        else:
            w = np.asarray([n.shape[0] for _, n in mat.noise], float)
            name, src = mat.noise[int(rng.choice(len(mat.noise), p=w / w.sum()))]
            meta["noise"] = {"file": name}
        seg, off = _segment(src, total, rng)
        meta[cond.kind]["offset"] = off
        g = rms(speech) / max(rms(seg), 1e-12) / 10 ** (cond.snr_db / 20.0)
        y += (g * seg).astype(np.float32)
        meta["snr_db_target"] = cond.snr_db
    peak = float(np.abs(y).max())
    gain = MAX_PEAK / peak if peak > MAX_PEAK else 1.0
    meta["gain"] = round(gain, 6) if gain != 1.0 else 1.0
    return (y * np.float32(gain)).astype(np.float32), {**meta, "speech_start": ctx, "speech_len": int(utt.shape[0])}


def _build(todo: list, build_one: Callable, progress, what: str, jobs: int = 1) -> list:
    from .parallel import pmap

    with _progress(progress) as bar:
        task = bar.add_task(what, total=len(todo))
        return pmap(build_one, todo, jobs=jobs, advance=lambda: bar.advance(task))


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=False)


def _cached(cache: Path, kind: str, spec: dict) -> tuple[Path, dict | None]:
    """The folder of a set (``CACHE/<kind>-<hash of spec>``) and its manifest if complete (with ``folder`` set), else None."""
    folder = cache / f"{kind}-{_key(spec)}"
    doc = _load_manifest(folder)
    if doc is not None:
        doc["folder"] = str(folder)
    return folder, doc


def _load_manifest(folder: Path) -> dict | None:
    m = folder / "manifest.json"
    if m.exists():
        doc = json.loads(m.read_text())
        if doc.get("format") == FORMAT:
            return doc
    return None


def _save_manifest(folder: Path, doc: dict) -> None:
    with atomic_path(folder / "manifest.json") as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def build_digit_items(src: Sources, cache: Path, *, conditions: Sequence[Condition] = CONDITIONS, seed: int = 0,
                      sizes: Sizes = FULL, progress: bool = True, material: Callable[[], Material] | None = None,
                      jobs: int = 1) -> dict:
    """Write (or reuse) the digit items of every source x condition.

    Returns
    -------
    manifest : dict
        ``{"format", "key", "folder", "rate_hz", "conditions", "items": [...]}``; each item has
        ``id, source, speaker, clip, digit, condition, file`` (relative to ``folder``),
        ``trim`` (utterance bounds in the clip at :data:`ITEM_RATE_HZ`), ``speech_start``,
        ``speech_len`` (samples in the item), ``gain``, the noise or babble file and offset,
        ``snr_db_target`` and ``snr_db`` (measured before 16-bit rounding).
    """
    clips = [(s, c) for s, rows in sorted(src.digits.items()) for c in rows]
    spec = {"format": FORMAT, "kind": "digits", "seed": seed, "rate": ITEM_RATE_HZ, "context_s": CONTEXT_S,
            "trim_top_db": TRIM_TOP_DB, "subtype": SUBTYPE, "conditions": [c.describe() for c in conditions],
            "clips": [(s, item_id(c), _speaker_key(c), c.label, file_digest(c.path)) for s, c in clips],
            "material": material_key(src, sizes, seed) if any(c.kind in ("babble", "noise") for c in conditions) else None}
    folder, doc = _cached(cache, "digits", spec)
    if doc is not None:
        return doc
    mat = material() if material else load_material(src, cache, sizes=sizes, seed=seed)
    loaded: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}

    def one(task):
        (source, c), cond = task
        iid = item_id(c)
        if iid not in loaded:
            y = load_clip(c.path)
            loaded[iid] = (y, trim_bounds(y))
        y, (a, b) = loaded[iid]
        speech = y[a:b]
        s = seed_for("robustness-item", seed, cond.name, iid)
        item, meta = _embed(speech, cond, np.random.default_rng(s), mat, _speaker_key(c), s)
        if cond.kind in ("babble", "noise"):
            st, n = meta["speech_start"], meta["speech_len"]
            g = meta["gain"]
            noise = item / np.float32(g)
            noise[st:st + n] -= speech
            meta["snr_db"] = round(snr_db(speech, noise), 3)
        rel = f"{cond.name}/{_safe(source)}/{_safe(iid.split('/', 1)[1])}.wav"
        _write(folder / rel, item)
        return {"id": iid, "source": source, "speaker": c.speaker, "clip": str(c.path), "digit": c.label,
                "condition": cond.name, "file": rel, "trim": [a, b], **meta}

    todo = [(sc, cond) for cond in conditions for sc in clips]
    items = _build(todo, one, progress, "building digit items", jobs)
    doc = {"format": FORMAT, "key": folder.name.split("-", 1)[1], "rate_hz": ITEM_RATE_HZ, "conditions": [c.describe() for c in conditions],
           "data": {**src.describe(), **mat.describe()}, "items": items}
    _save_manifest(folder, doc)
    doc["folder"] = str(folder)
    return doc


def build_negative_items(src: Sources, cache: Path, *, seed: int = 0, sizes: Sizes = FULL,
                         progress: bool = True, jobs: int = 1) -> dict:
    """Write (or reuse) the negative clip set: held-out non-digit words and generated test negatives.

    Each clip is embedded like a ``clean`` item (:data:`CONTEXT_S` of digital silence on each
    side); words are trimmed like digits, generated clips are kept whole. Generated negatives
    are :func:`trainer.data.negatives.make_negatives` with counts for the ``test`` split only, made
    from FSDD test clips and test noise recordings.

    Returns
    -------
    manifest : dict
        Items have ``id, kind, file, clip``; ``kind`` is ``words:<source>`` or a generated kind
        (whose ``clip`` is relative to ``cache``).
    """
    from ...data.negatives import KINDS, make_negatives

    words = [(f"words:{s}", c) for s, rows in sorted(src.words.items()) for c in rows]
    counts = {"test": {k: sizes.generated_per_kind for k in KINDS}}
    neg_inputs = [c for c in src.fsdd_test] + list(src.noise)
    spec = {"format": FORMAT, "kind": "negatives", "seed": seed, "rate": ITEM_RATE_HZ, "context_s": CONTEXT_S,
            "trim_top_db": TRIM_TOP_DB, "subtype": SUBTYPE, "counts": counts,
            "words": [(k, item_id(c), file_digest(c.path)) for k, c in words],
            "generated_inputs": sorted(f"{c.split}:{c.path.name}:{file_digest(c.path)}" for c in neg_inputs)}
    folder, doc = _cached(cache, "negatives", spec)
    if doc is not None:
        return doc
    cfg = dataclasses.replace(FRONT_END, sample_rate_hz=ITEM_RATE_HZ)
    generated = make_negatives(neg_inputs, cache / "generated", counts=counts, seed=seed_for("negatives", seed),
                               config=cfg) if neg_inputs else []
    ctx = int(round(CONTEXT_S * ITEM_RATE_HZ))

    def one(task):
        kind, c = task
        y = load_clip(c.path)
        a, b = trim_bounds(y) if kind.startswith("words:") else (0, y.shape[0])
        item = np.concatenate([np.zeros(ctx, np.float32), y[a:b], np.zeros(ctx, np.float32)])
        peak = float(np.abs(item).max())
        gain = MAX_PEAK / peak if peak > MAX_PEAK else 1.0
        iid = item_id(c) if kind.startswith("words:") else f"generated/{c.path.stem}"
        rel = f"{_safe(kind)}/{_safe(iid.split('/', 1)[1])}.wav"
        _write(folder / rel, item * np.float32(gain))
        # generated clips live in the cache: named relative to it, so the manifest does not depend on where it is
        clip = str(c.path) if kind.startswith("words:") else c.path.relative_to(cache).as_posix()
        return {"id": iid, "kind": kind, "clip": clip, "speaker": c.speaker, "split": c.split, "file": rel,
                "trim": [a, b], "speech_start": ctx, "speech_len": b - a, "gain": gain}

    todo = words + [(g.word, g) for g in generated]
    items = _build(todo, one, progress, "building negative clips", jobs)
    doc = {"format": FORMAT, "key": folder.name.split("-", 1)[1], "rate_hz": ITEM_RATE_HZ, "counts": counts,
           "data": {"words": {k: len(v) for k, v in src.words.items()}, "generated": counts["test"],
                    "generated_inputs": {"fsdd_test_clips": len(src.fsdd_test),
                                         "noise_files": [f"{c.path.parent.name}/{c.path.name}" for c in src.noise]}},
           "items": items}
    _save_manifest(folder, doc)
    doc["folder"] = str(folder)
    return doc


# --------------------------------------------------------------------------- streams
#: Continuous no-digit streams (false accepts per hour); ``passages`` come from ``--synth`` directly.
FA_STREAMS = ("words", "babble", "noise")
#: Steady-noise segmenter streams: 20 FSDD test digits over a continuous bed.
DIGIT_STREAMS = {"clean": None, "babble_10": ("babble", 10.0), "noise_10": ("noise", 10.0)}
#: Level of the beds of the digit streams (dBFS RMS).
BED_DBFS = -30.0
#: The words stream: gaps between words (s), filled with white noise at this level (dBFS RMS).
WORD_GAP_S = (0.2, 1.0)
WORD_FLOOR_DBFS = -66.0
STREAM_LEAD_S = 1.0


def _fade(y: np.ndarray, ms: float = 10.0) -> np.ndarray:
    n = min(int(ITEM_RATE_HZ * ms / 1000), y.shape[0] // 2)
    if n > 0:
        r = np.linspace(0.0, 1.0, n, dtype=np.float32)
        y = y.copy()
        y[:n] *= r
        y[-n:] *= r[::-1]
    return y


def noise_bed(recordings: Iterable[np.ndarray], *, normalize_dbfs: float | None) -> np.ndarray:
    """Noise recordings (float32 at :data:`ITEM_RATE_HZ`) one after the other, each faded in and out
    over 10 ms and, unless ``normalize_dbfs`` is None, first set to that RMS (dBFS)."""
    parts = []
    for y in recordings:
        if normalize_dbfs is not None:
            y = y * np.float32(10 ** (normalize_dbfs / 20) / max(rms(y), 1e-12))
        parts.append(_fade(y))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _noise_bed(mat: Material, *, normalize_dbfs: float | None) -> np.ndarray:
    return noise_bed((y for _, y in mat.noise), normalize_dbfs=normalize_dbfs)


def _babble_bed(mat: Material) -> np.ndarray:
    return np.concatenate([_fade(y) for _, _, y in mat.bed]) if mat.bed else np.zeros(0, np.float32)


STREAMS_DEFINITION = {
    "digits_<condition>": "FSDD test digits, gap_s apart after lead_s of bed; beds at bed_dbfs RMS (babble bed of "
                          "held-out speakers; test noise recordings each normalized and concatenated); each digit "
                          "scaled to the SNR over its own utterance",
    "words": "held-out Speech Commands test words (whole 1 s clips, shuffled), gaps of word_gap_s over white noise "
             "at word_floor_dbfs",
    "babble": "the babble bed of held-out Speech Commands test speakers (3-7 talkers), as made",
    "noise": "the test-split noise recordings concatenated at their recorded levels (10 ms fades)",
}


def words_in_a_row(paths: Sequence[str | Path], rng: np.random.Generator) -> np.ndarray:
    """Clips said one after another: ``far``'s ``words`` stream.

    The clips in an order drawn from ``rng``, each followed by a gap of :data:`WORD_GAP_S`
    (uniform, s), all over white noise at :data:`WORD_FLOOR_DBFS`.

    Returns
    -------
    y : np.ndarray [shape=(n,), float32] at :data:`ITEM_RATE_HZ` (empty for no clip)
    """
    parts = []
    for i in rng.permutation(len(paths)):
        parts.append(load_clip(paths[int(i)]))
        parts.append(np.zeros(int(rng.uniform(*WORD_GAP_S) * ITEM_RATE_HZ), np.float32))
    y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return y + (rng.standard_normal(y.shape[0]) * 10 ** (WORD_FLOOR_DBFS / 20)).astype(np.float32)


def build_streams(src: Sources, cache: Path, *, seed: int = 0, sizes: Sizes = FULL, progress: bool = True,
                  material: Callable[[], Material] | None = None) -> dict:
    """Write (or reuse) the continuous streams.

    * ``digits_<condition>`` (clean, babble_10, noise_10): :attr:`Sizes.stream_digits` FSDD test
      digits, :attr:`Sizes.stream_gap_s` apart, after :data:`STREAM_LEAD_S` of bed; beds at
      :data:`BED_DBFS` RMS (the babble bed; the test noise recordings, each normalized, concatenated),
      each digit scaled to the SNR over its own utterance; ``played`` lists (digit, start_s, end_s);
    * ``words``: held-out Speech Commands test words (whole 1 s clips, shuffled), gaps of 0.2-1.0 s,
      over white noise at :data:`WORD_FLOOR_DBFS`;
    * ``babble``: the babble bed (held-out speakers), as made;
    * ``noise``: the test noise recordings concatenated at their recorded levels.
    """
    # every held-out Speech Commands test word (the babble material), shuffled below
    stream_words = subset(src.babble_speech, sizes.stream_words)
    spec = {"format": FORMAT, "kind": "streams", "seed": seed, "rate": ITEM_RATE_HZ, "subtype": SUBTYPE,
            "material": material_key(src, sizes, seed), "bed_dbfs": BED_DBFS, "word_gap_s": WORD_GAP_S,
            "word_floor_dbfs": WORD_FLOOR_DBFS, "lead_s": STREAM_LEAD_S, "digits": sizes.stream_digits,
            "gap_s": sizes.stream_gap_s, "fsdd": [file_digest(c.path) for c in src.fsdd_test],
            "words": [file_digest(c.path) for c in stream_words]}
    folder, doc = _cached(cache, "streams", spec)
    if doc is not None:
        return doc
    mat = material() if material else load_material(src, cache, sizes=sizes, seed=seed)
    streams: dict[str, dict] = {}
    rng = np.random.default_rng(seed_for("robustness-streams", seed))
    tasks = []
    if src.fsdd_test:
        pick = [src.fsdd_test[i] for i in sorted(rng.choice(len(src.fsdd_test), size=min(sizes.stream_digits,
                                                                                       len(src.fsdd_test)), replace=False))]
        order = np.random.default_rng(seed_for("robustness-stream-order", seed)).permutation(len(pick))
        pick = [pick[i] for i in order]
        tasks += [("digits_" + name, spec_) for name, spec_ in DIGIT_STREAMS.items()]
    tasks += [(name, None) for name in FA_STREAMS]

    def one(task):
        name, how = task
        r = np.random.default_rng(seed_for("robustness-stream", seed, name))
        meta: dict = {}
        if name.startswith("digits_"):
            lead = int(STREAM_LEAD_S * ITEM_RATE_HZ)
            gap = int(sizes.stream_gap_s * ITEM_RATE_HZ)
            speech = []
            for c in pick:
                y = load_clip(c.path)
                a, b = trim_bounds(y)
                speech.append((c, y[a:b]))
            total = lead + sum(s.shape[0] + gap for _, s in speech) + lead
            if how is None:
                bed = np.zeros(total, np.float32)
                target = None
            else:
                kind, snr = how
                src_bed = _babble_bed(mat) if kind == "babble" else _noise_bed(mat, normalize_dbfs=BED_DBFS)
                if src_bed.size == 0:
                    return None
                bed, _ = _segment(src_bed, total, r)
                bed *= np.float32(10 ** (BED_DBFS / 20) / max(rms(bed), 1e-12))
                target = BED_DBFS + snr
                meta["snr_db_target"] = snr
                meta["bed"] = kind
            y = bed.copy()
            pos = lead
            played = []
            for c, s in speech:
                g = 1.0 if target is None else 10 ** (target / 20) / max(rms(s), 1e-12)
                y[pos:pos + s.shape[0]] += np.float32(g) * s
                played.append([c.label, round(pos / ITEM_RATE_HZ, 4), round((pos + s.shape[0]) / ITEM_RATE_HZ, 4),
                               item_id(c)])
                pos += s.shape[0] + gap
            meta["played"] = played
        elif name == "words":
            y = words_in_a_row([c.path for c in stream_words], r)
            meta["words"] = len(stream_words)
            meta["speakers"] = len({c.speaker for c in stream_words})
        elif name == "babble":
            y = _babble_bed(mat)
            meta["tracks"] = [n for n, _, _ in mat.bed]
        else:
            y = _noise_bed(mat, normalize_dbfs=None)
            meta["files"] = [n for n, _ in mat.noise]
        if y.size == 0:
            return None
        peak = float(np.abs(y).max())
        gain = MAX_PEAK / peak if peak > MAX_PEAK else 1.0
        rel = f"{name}.wav"
        _write(folder / rel, y * np.float32(gain))
        return {"name": name, "file": rel, "seconds": round(y.shape[0] / ITEM_RATE_HZ, 3), "gain": gain, **meta}

    for s in _build(tasks, one, progress, "building streams"):
        if s is not None:
            streams[s["name"]] = s
    doc = {"format": FORMAT, "key": folder.name.split("-", 1)[1], "rate_hz": ITEM_RATE_HZ, "streams": streams,
           "definition": STREAMS_DEFINITION}
    _save_manifest(folder, doc)
    doc["folder"] = str(folder)
    return doc


__all__ = ["CONDITIONS", "CONDITION_BY_NAME", "CONTEXT_S", "Condition", "FULL", "ITEM_RATE_HZ", "QUICK", "REVERB",
           "Sizes", "Sources", "build_digit_items", "build_negative_items", "build_streams",
           "held_out_speech_commands_speakers", "load_clip", "select_sources", "snr_db", "trim_bounds",
           "words_in_a_row"]
