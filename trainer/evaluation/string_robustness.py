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
``isolated``        isolated digit clips of held-out Speech Commands speakers, digits of the held-out
                    synthetic voices, and FSDD's official test clips (every one): the single digit
                    must come out
``speech``          speechocean762 sentences without number words: every digit is a false one;
                    also the synthetic voices' passages and Speech Commands non-digit words in a row
==================  ==========================================================================

Each string and isolated digit is scored clean and in babble at 10 dB SNR (3-7 held-out Speech
Commands talkers, :func:`trainer.data.augment.make_babble_bank`); each item sits between 0.5 s of silence.
Strings: exact share and digit error rate (substitutions, deletions, insertions;
:func:`trainer.evaluation.strings.string_scores`); isolated: share right; speech: false digits per hour.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import click
import numpy as np

log = logging.getLogger(__name__)

#: Silence before and after each item (s).
CONTEXT_S = 0.5
#: The running speech a string rule is chosen by: real people reading sentences.
REAL_SPEECH_SOURCE = "speechocean762"
#: Running speech the peer decoder (``--baseline``) gets: the real sentences (the rest is an hour of synthetic talk).
BASELINE_SPEECH_SOURCES = (REAL_SPEECH_SOURCE,)
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
                 seed: int = 0, other_speech: bool = True, words_per_run: int = 30,
                 passage_paths: Sequence[Path] = (), speech: bool = True) -> list[StringItem]:
    """The items of ``split`` (see the module docstring), audio loaded at 22,050 Hz.

    ``n_isolated=0``: no isolated digits (else ``n_isolated`` Speech Commands clips, half as many digits
    of the split's synthetic voices, and FSDD's test clips); ``speech=False``: no running speech at all
    (the strings only).

    ``other_speech``: besides the real readers' sentences, running speech of the split's synthetic
    voices (their ``train_passages`` readings) and its Speech Commands non-digit words said in a
    row (``far``'s ``words`` stream: ``words_per_run`` words per item, 0.2-1.0 s apart, over a
    -66 dBFS floor), as ``speech`` items of sources ``synth`` and ``speech_commands``;
    ``passage_paths`` are more synthetic passages (the held-out voices' ``passages/`` of ``data synth
    --passages``, which ``far`` reads and the corpus does not).

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
    if n_isolated > 0:
        synth = [r for r in rows if r.split == split and r.is_digit and r.source == "synth"]
        iso += [synth[i] for i in sorted(np.random.default_rng([seed, 31]).permutation(len(synth))[:n_isolated // 2])]
        iso += [r for r in rows if r.split == split and r.is_digit and r.source == "fsdd"]  # the official test clips
    items += [StringItem(r.path.stem, "isolated", r.source, r.speaker, r.label, load(r.path)) for r in iso]
    sentences = [r for r in rows if r.split == split and r.label == PASSAGE_LABEL and r.source == "speechocean762"]
    items += [StringItem(r.path.stem, "speech", r.source, r.speaker, "", load(r.path)) for r in sentences if speech]
    if other_speech and speech:
        from ..data.corpus import UNKNOWN_LABEL
        from .robustness.sets import words_in_a_row

        passages = [r for r in rows if r.split == split and r.label == PASSAGE_LABEL and r.source == "synth"]
        items += [StringItem(r.path.stem, "speech", "synth", r.speaker, "", load(r.path)) for r in passages]
        items += [StringItem(Path(p).stem, "speech", "synth", Path(p).stem, "", load(p)) for p in passage_paths]
        words = sorted((r for r in rows if r.split == split and r.label == UNKNOWN_LABEL
                        and r.source == "speech_commands"), key=lambda r: str(r.path))
        word_rng = np.random.default_rng([seed, 27])  # its own stream: the items above stay as they were
        words = [words[i] for i in word_rng.permutation(len(words))]
        for i in range(0, len(words) - words_per_run + 1, words_per_run):
            run = words[i:i + words_per_run]
            items.append(StringItem(f"words-{i // words_per_run}", "speech", "speech_commands",
                                    "+".join(sorted({r.speaker for r in run}))[:80], "",
                                    words_in_a_row([r.path for r in run], word_rng)))
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


@dataclass(frozen=True)
class StringRule:
    """The settings of the string model that can be replayed on recorded readings (:func:`rescore`)."""

    threshold: float | None = None
    min_digits_per_s: float = 0.0
    min_speech_ms: float = 800.0
    #: The string model confirms an unsure window digit (``Recognizer``'s ``string_confirm_threshold``; None: never).
    confirm_threshold: float | None = None
    confirm_string_threshold: float = 0.0
    #: The string model vetoes a window digit it hardly heard (``Recognizer``'s ``string_veto_threshold``; None: never).
    veto_threshold: float | None = None
    #: ... only where the utterance's speech peaks at least this far (dB) over the noise floor (0: everywhere).
    veto_min_peak_over_floor_db: float = 0.0
    #: The window classifier's threshold (None: the one the readings were recorded at, the bundle's).
    window_threshold: float | None = None

    @classmethod
    def of_bundle(cls, spec) -> "StringRule":
        """The rule a bundle's :class:`realtime.bundle.StringModelSpec` records."""
        return cls(spec.threshold, spec.min_digits_per_s, spec.min_speech_ms, spec.confirm_threshold,
                   spec.confirm_string_threshold, spec.veto_threshold, spec.veto_min_peak_over_floor_db)


def _runs(items: Sequence[StringItem], conditions: Sequence[str], babble: Sequence[np.ndarray]) -> list[tuple]:
    """``(item, condition)`` in the order both runs play them (so that babble draws match): strings and
    isolated digits in every condition (babble only if there is babble), running speech clean only."""
    return [(it, c) for it in items for c in (conditions if it.kind != "speech" else ("clean",))
            if c == "clean" or babble]


def run_items(bundle, items: Sequence[StringItem], *, conditions: Sequence[str] = ("clean", "babble_10"),
              babble: Sequence[np.ndarray] = (), use_strings: bool = True, threshold: float | None = None,
              string_hangover_ms: float | None = None, seed: int = 0, progress: bool = False,
              interpreter: str | None = None) -> list[dict]:
    """Recognize every item (strings and isolated digits in every condition; speech clean only), recording
    enough to replay any :class:`StringRule` (:func:`rescore`).

    With a string model each item runs twice through the same segmenter (the string model's, its
    ``hangover_ms`` or ``string_hangover_ms``): once with the string model reading every utterance,
    once with the window classifier deciding every utterance. Without one (or ``use_strings=False``),
    once, as ``recognize --no-strings``. ``interpreter``: the TFLite package (None: the first installed).

    Returns
    -------
    results : list of dict
        Per (item, condition): id, kind, source, speaker, condition, digits (said), seconds (audio
        length), utterances: ``[string read or None, its confidence or None, speech ms, window
        classifier's label, its top label, its top probability, whether the length gate rejects that
        top label, the string model's highest posterior of that top label or None, the utterance's peak
        over the segmenter's noise floor in dB]`` per utterance (silence rejections left out).
    """
    from realtime import constants as C
    from realtime.classifier import Classifier
    from realtime.pipeline import gate_of, recognize_samples, string_segmenter_config
    from rich.progress import Progress

    clf = Classifier(bundle, interpreter=interpreter)
    strings = use_strings and clf.bundle.strings is not None
    window_opts: dict = {}
    string_opts: dict = {}
    if strings:
        from realtime.strings import recognizer_options

        opts = recognizer_options(clf)
        hangover = string_hangover_ms or opts["string_hangover_ms"] or C.HANGOVER_MS
        cfg = string_segmenter_config(clf.sample_rate_hz, clf.window_samples, opts["string_max_speech_ms"],
                                      hangover_ms=hangover)
        window_opts = {"config": cfg}
        string_opts = {"config": cfg, "read_string": opts["read_string"], "string_min_speech_ms": 0.0,
                       "string_threshold": None, "string_min_digits_per_s": 0.0}
    thr = clf.bundle.threshold if threshold is None else threshold
    rng = np.random.default_rng(seed)
    todo = _runs(items, conditions, babble)
    out = []

    def run(y, options):
        return recognize_samples(y, clf.sample_rate_hz, clf.predict, model_rate_hz=clf.sample_rate_hz,
                                 window_samples=clf.window_samples, labels=clf.labels, threshold=thr, **options)

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("strings", total=len(todo))
        for it, cond in todo:
            y = embed(it, cond, babble, rng, clf.sample_rate_hz)
            window = run(y, window_opts)
            read = run(y, string_opts) if strings else [None] * len(window)
            if strings and [d.utterance.start_sample for d in read] != [d.utterance.start_sample for d in window]:
                raise RuntimeError(f"{it.id}: the two runs cut different utterances")
            rows = [[None if s is None else s.reading.digits, None if s is None else round(s.reading.confidence, 4),
                     round(w.utterance.speech_ms, 1), w.label, w.top_label, round(float(w.confidence), 4),
                     w.top_label.isdigit() and not w.utterance.in_steady_noise
                     and w.utterance.speech_ms < gate_of(None, w.top_label),
                     None if s is None else s.reading.peak(w.top_label),
                     round(w.utterance.peak_over_floor_db, 1)]
                    for s, w in zip(read, window) if w.label != "_silence_" or (s is not None and s.reading.digits)]
            out.append({"id": it.id, "kind": it.kind, "source": it.source, "speaker": it.speaker, "condition": cond,
                        "digits": it.digits, "seconds": round(y.size / clf.sample_rate_hz, 3), "utterances": rows})
            bar.advance(task)
    return out


def run_baseline(items: Sequence[StringItem], *, conditions: Sequence[str] = ("clean", "babble_10"),
                 babble: Sequence[np.ndarray] = (), seed: int = 0, progress: bool = False) -> list[dict]:
    """PocketSphinx with a digit-loop grammar (:class:`trainer.evaluation.baselines.PocketSphinxDigits`,
    ``loop=True``) on the same items as :func:`run_items`, each decoded whole (it has no segmenter and no
    rejection): the same audio, babble included (the same draws of ``seed``). It decodes at about half
    real time here, so the CLI gives it the clean strings, the isolated digits and the real sentences only
    (:data:`BASELINE_SPEECH_SOURCES`).

    Returns
    -------
    results : list of dict
        As :func:`run_items`, with ``read`` (the decoded digits) and no ``utterances``; :func:`summarize` scores them.

    Raises
    ------
    DataError
        If pocketsphinx is not installed.
    """
    from rich.progress import Progress

    from ..config import FRONT_END
    from .baselines import PocketSphinxDigits

    decoder = PocketSphinxDigits(loop=True)
    rate = FRONT_END.sample_rate_hz
    rng = np.random.default_rng(seed)
    todo = _runs(items, conditions, babble)
    out = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("pocketsphinx", total=len(todo))
        for it, cond in todo:
            y = embed(it, cond, babble, rng, rate)
            out.append({"id": it.id, "kind": it.kind, "source": it.source, "speaker": it.speaker, "condition": cond,
                        "digits": it.digits, "seconds": round(y.size / rate, 3), "read": decoder.decode_string(y, rate)})
            bar.advance(task)
    return out


def reading_of(utterances: Sequence[list], rule: StringRule | None) -> str:
    """The digits a user sees for one item under ``rule`` (None: no string model), as
    :meth:`realtime.pipeline.Recognizer._decide` decides them. Readings recorded without the window
    classifier's top label and probability allow no confirmation and no other window threshold, those
    without the string model's posterior of that label no veto."""
    from realtime import constants as C
    from realtime.pipeline import string_accepted

    out = []
    for read, conf, ms, window_label, *window in utterances:
        if rule is not None and read is not None and ms > rule.min_speech_ms:
            ok = string_accepted(read, conf, ms, threshold=rule.threshold, min_digits_per_s=rule.min_digits_per_s)
            if (ok and len(read) >= 2) or ms > C.MAX_SPEECH_MS:
                out.append(read if ok else "")
                continue
        if rule is None and ms > C.MAX_SPEECH_MS:
            continue  # without a string model the segmenter drops it
        top, top_p, gated = window[:3] if len(window) >= 3 else (window_label, None, False)
        peak = window[3] if len(window) >= 4 else None
        over_floor = window[4] if len(window) >= 5 else None
        if rule is not None and rule.window_threshold is not None and top_p is not None:
            label = top if top.isdigit() and not gated and top_p >= rule.window_threshold else "_unknown_"
        else:
            label = window_label
        confirmed = (rule is not None and rule.confirm_threshold is not None and top_p is not None and top.isdigit()
                     and not gated and top_p >= rule.confirm_threshold and read == top
                     and conf is not None and conf >= rule.confirm_string_threshold)
        if confirmed:
            out.append(top)
        elif label not in ("_unknown_", "_silence_"):
            quiet = (rule is not None and (rule.veto_min_peak_over_floor_db <= 0 or (
                over_floor is not None and over_floor >= rule.veto_min_peak_over_floor_db)))
            vetoed = (quiet and rule.veto_threshold is not None and peak is not None
                      and peak < rule.veto_threshold)
            out.append("" if vetoed else label)
        else:
            out.append("")
    return "".join(out)


def rescore(results: Sequence[dict], rule: StringRule | None) -> list[dict]:
    """Every result with ``read``: its digits under ``rule`` (:func:`reading_of`)."""
    return [{**r, "read": reading_of(r["utterances"], rule)} for r in results]


def _false_digits(speech: Sequence[dict]) -> tuple[int, float, float | None]:
    """False digits read in speech items, the hours of speech (the context silence left out), and their rate."""
    false = sum(len(r["read"]) for r in speech)
    hours = sum(r["seconds"] - 2 * CONTEXT_S for r in speech) / 3600
    return false, hours, round(false / hours, 1) if hours else None


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
            false, hours, per_hour = _false_digits(rs)
            table[name] = {"items": len(rs), "minutes": round(hours * 60, 1), "false_digits": false,
                           "false_digits_per_hour": per_hour, "items_with_digits": sum(bool(r["read"]) for r in rs)}
        elif kind == "isolated":
            table[name] = {"items": len(rs), "right": round(sum(r["read"] == r["digits"] for r in rs) / len(rs), 4),
                           "wrong": sum(bool(r["read"]) and r["read"] != r["digits"] for r in rs),
                           "nothing": sum(not r["read"] for r in rs)}
        else:
            table[name] = {"items": len(rs), **string_scores([r["digits"] for r in rs], [r["read"] for r in rs])}
    return table


def pooled_exact(table: dict, kind: str, condition: str = "clean") -> tuple[float | None, int]:
    """The share of exact strings of one ``kind`` (``real``, ``tts``, ``assembled``) in a :func:`summarize`
    table, over every source, in ``condition``; and the number of strings (0: none, share None)."""
    rows = [v for k, v in table.items() if k.startswith(f"{kind}:") and k.endswith(f":{condition}")]
    n = sum(v["strings"] for v in rows)
    return (round(sum(v["exact"] * v["strings"] for v in rows) / n, 4) if n else None), n


def bundle_rule(bundle, *, use_strings: bool = True, threshold: float | None = None,
                min_speech_ms: float | None = None) -> StringRule | None:
    """The string rule of a bundle, with ``threshold`` / ``min_speech_ms`` in place of its own if given
    (None: it has no string model, or ``use_strings`` is False)."""
    from realtime.bundle import load_bundle

    spec = load_bundle(bundle).strings
    if spec is None or not use_strings:
        return None
    rule = StringRule.of_bundle(spec)
    return replace(rule, threshold=rule.threshold if threshold is None else threshold,
                   min_speech_ms=rule.min_speech_ms if min_speech_ms is None else min_speech_ms)


#: The rules :func:`sweep_rules` tries: routes (ms of speech), thresholds (least sure digit), digit rates (1/s).
SWEEP_ROUTES_MS: tuple[float, ...] = (500.0, 800.0, 1000.0)
SWEEP_THRESHOLDS: tuple[float | None, ...] = (None, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
SWEEP_DIGITS_PER_S: tuple[float, ...] = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5)
#: The confirmations :func:`sweep_rules` tries on the chosen rule: the window classifier's top probability
#: (None: no confirmation), and the string model's confidence in the same digit.
SWEEP_CONFIRM_THRESHOLDS: tuple[float | None, ...] = (None, 0.3, 0.5, 0.6, 0.7, 0.8)
SWEEP_CONFIRM_STRING_THRESHOLDS: tuple[float, ...] = (0.0, 0.5, 0.7, 0.9)
#: The vetoes :func:`sweep_rules` tries last (the string model's highest posterior of the window digit; None: no
#: veto), each with the window classifier's threshold (None: the bundle's, as recorded).
SWEEP_VETO_THRESHOLDS: tuple[float | None, ...] = (None, 0.02, 0.05, 0.1, 0.2, 0.3)
SWEEP_WINDOW_THRESHOLDS: tuple[float | None, ...] = (None, 0.88, 0.85, 0.8, 0.75, 0.7)
#: ... and with the veto only in utterances this many dB over the noise floor (0: everywhere).
SWEEP_VETO_MIN_PEAK_OVER_FLOOR_DB: tuple[float, ...] = (0.0, 35.0, 40.0, 45.0, 50.0)


def rule_scores(results: Sequence[dict], rule: StringRule | None) -> dict:
    """One rule's summary on clean items: false digits per hour of the real readers' sentences
    (``other_speech_fa_per_hour``: of the synthetic passages and words in a row), exact share per string kind
    (``real``, ``tts``, ``assembled``; all their sources), their mean, and the isolated digits' share right;
    ``isolated_babble``: the isolated digits' share right in babble (None without)."""
    from .strings import string_scores

    every = rescore(results, rule)
    read = [r for r in every if r["condition"] == "clean"]
    false, _, per_hour = _false_digits([r for r in read if r["kind"] == "speech" and r["source"] == REAL_SPEECH_SOURCE])
    other = [r for r in read if r["kind"] == "speech" and r["source"] != REAL_SPEECH_SOURCE]
    row: dict = {"rule": None if rule is None else asdict(rule), "false_digits": false,
                 "false_digits_per_hour": per_hour, "other_speech_fa_per_hour": _false_digits(other)[2]}
    exact = []
    for kind in ("real", "tts", "assembled"):
        rs = [r for r in read if r["kind"] == kind]
        row[kind] = string_scores([r["digits"] for r in rs], [r["read"] for r in rs])["exact"] if rs else None
        if rs:
            exact.append(row[kind])
    row["mean_exact"] = round(float(np.mean(exact)), 4) if exact else None
    iso = [r for r in read if r["kind"] == "isolated"]
    row["isolated"] = round(sum(r["read"] == r["digits"] for r in iso) / len(iso), 4) if iso else None
    noisy = [r for r in every if r["kind"] == "isolated" and r["condition"] != "clean"]
    row["isolated_babble"] = round(sum(r["read"] == r["digits"] for r in noisy) / len(noisy), 4) if noisy else None
    return row


#: The sweep's default ceiling of false digits per hour of running speech (issue 27's goal).
SWEEP_MAX_FA_PER_HOUR = 10.0
#: The sweep's default ceiling on the other running speech, as a multiple of the classifier's own rate there
#: (a quarter over it: about one false digit in the 40 minutes of the validation split).
SWEEP_OTHER_FA_RATIO = 1.25


def dominates(r: dict, ref: dict) -> bool:
    """Whether :func:`rule_scores` row ``r`` is at least as good as ``ref`` everywhere (no more false digits
    on the real sentences or the other speech, no fewer isolated digits right, clean or in babble) and
    better somewhere."""
    r_fa = (r["false_digits_per_hour"], r["other_speech_fa_per_hour"] or 0.0)
    ref_fa = (ref["false_digits_per_hour"], ref["other_speech_fa_per_hour"] or 0.0)
    r_iso = (r["isolated"] or 0.0, r.get("isolated_babble") or 0.0)
    ref_iso = (ref["isolated"] or 0.0, ref.get("isolated_babble") or 0.0)
    return (all(a <= b for a, b in zip(r_fa, ref_fa)) and all(a >= b for a, b in zip(r_iso, ref_iso))
            and (r_fa, r_iso) != (ref_fa, ref_iso))


def sweep_rules(results: Sequence[dict], *, baseline_results: Sequence[dict] | None = None,
                max_fa_per_hour: float | None = SWEEP_MAX_FA_PER_HOUR,
                other_fa_ratio: float | None = SWEEP_OTHER_FA_RATIO,
                routes_ms: Sequence[float] = SWEEP_ROUTES_MS,
                thresholds: Sequence[float | None] = SWEEP_THRESHOLDS,
                digits_per_s: Sequence[float] = SWEEP_DIGITS_PER_S,
                confirm_thresholds: Sequence[float | None] = SWEEP_CONFIRM_THRESHOLDS,
                confirm_string_thresholds: Sequence[float] = SWEEP_CONFIRM_STRING_THRESHOLDS,
                veto_thresholds: Sequence[float | None] = SWEEP_VETO_THRESHOLDS,
                window_thresholds: Sequence[float | None] = SWEEP_WINDOW_THRESHOLDS,
                veto_gates_db: Sequence[float] = SWEEP_VETO_MIN_PEAK_OVER_FLOOR_DB) -> dict:
    """Replay every rule of the grid on recorded readings (:func:`run_items`) and choose one.

    The choice: of the rules whose false digits per hour of the real sentences are at or under
    ``max_fa_per_hour`` (None: no ceiling) and not above the window classifier's alone (``baseline``:
    ``baseline_results``, the same items run without the string model as ``recognize --no-strings``
    runs them, or else the classifier's decisions within the string segmenter's utterances, which are
    cut differently), and whose false digits per hour of the other running speech (synthetic
    passages, words in a row) are at most ``other_fa_ratio`` times the classifier's alone there
    (None: not checked), the one with the most strings right (``mean_exact``: the mean of the real, TTS and assembled exact shares, clean), ties
    to fewer false digits, then to the higher isolated share, then to the stricter rule (higher
    threshold, higher digit rate: the same on these items, safer on others). Run it on the validation split
    (``spoken-digits strings --split val --sweep``): the held-out split must not choose.

    Then, on the chosen rule, the confirmation of unsure window digits (``confirm_thresholds`` x
    ``confirm_string_thresholds``; :class:`realtime.pipeline.Recognizer`'s ``string_confirm_threshold``):
    within the same false-digit limits, the one with the most isolated digits right, ties to more
    strings right, fewer false digits, then to the stricter confirmation (higher thresholds); no
    confirmation unless one gains isolated digits.

    Last, on that rule, the string model's veto of window digits it hardly heard (``veto_thresholds``)
    with the window classifier's threshold (``window_thresholds``; None: the bundle's) and the level gate
    of the veto (``veto_gates_db``: only in utterances whose speech peaks this far over the noise floor).
    Only points that dominate the rule so far count (:func:`dominates`: no more false digits on the real
    sentences or on the other speech, no fewer isolated digits right, clean or in babble, and better in
    one of these; a veto lets the window threshold come down: fewer false digits *and* fewer misses, not
    a trade along the curve). Of those, the one
    with the fewest false digits of the real sentences, then of the other speech (the issue's goal is
    the false-digit rate), then the most isolated digits right, most strings right, the higher window
    threshold and the lower veto.

    Returns
    -------
    sweep : dict
        ``baseline`` (:func:`rule_scores` without a string model), ``rules`` (one per grid point),
        ``chosen`` (one of ``rules`` with its confirmation and veto, or None if none keeps to the baseline's
        false digits), ``confirm_rules`` (the chosen rule with each confirmation), ``veto_base`` (the rule
        with its confirmation, before the veto; None with no rule) and ``veto_rules`` (it with each veto and
        window threshold).

    Raises
    ------
    ValueError
        If ``results`` hold no real running speech (no false-digit rate to keep to).
    """
    if not any(r["kind"] == "speech" and r["source"] == REAL_SPEECH_SOURCE for r in results):
        raise ValueError("the results hold no real running speech: no false-digit rate to choose a rule by")
    baseline = rule_scores(results if baseline_results is None else baseline_results, None)
    rows = [rule_scores(results, StringRule(t, d, m)) for m in routes_ms for t in thresholds for d in digits_per_s]
    limit = baseline["false_digits_per_hour"]
    if max_fa_per_hour is not None:
        limit = min(limit, float(max_fa_per_hour))
    ok = [r for r in rows if r["false_digits_per_hour"] <= limit]
    other_limit = None
    if other_fa_ratio is not None and baseline.get("other_speech_fa_per_hour") is not None:
        other_limit = round(other_fa_ratio * baseline["other_speech_fa_per_hour"], 1)
        ok = [r for r in ok if r["other_speech_fa_per_hour"] is None or r["other_speech_fa_per_hour"] <= other_limit]
    chosen = max(ok, key=lambda r: (r["mean_exact"] or 0.0, -r["false_digits_per_hour"], r["isolated"] or 0.0,
                                    r["rule"]["threshold"] or 0.0, r["rule"]["min_digits_per_s"]), default=None)
    confirm_rows: list[dict] = []
    if chosen is not None:
        base = StringRule(**{k: v for k, v in chosen["rule"].items()
                             if k not in ("confirm_threshold", "confirm_string_threshold")})
        confirm_rows = [chosen] + [
            rule_scores(results, replace(base, confirm_threshold=c, confirm_string_threshold=cs))
            for c in confirm_thresholds if c is not None for cs in confirm_string_thresholds]

        def within(r):
            return r["false_digits_per_hour"] <= limit and (
                other_limit is None or r["other_speech_fa_per_hour"] is None or r["other_speech_fa_per_hour"] <= other_limit)

        better = [r for r in confirm_rows[1:] if within(r) and (r["isolated"] or 0.0) > (chosen["isolated"] or 0.0)]
        chosen = max(better, key=lambda r: (r["isolated"] or 0.0, r["mean_exact"] or 0.0, -r["false_digits_per_hour"],
                                            -(r["other_speech_fa_per_hour"] or 0.0), r["rule"]["confirm_threshold"],
                                            r["rule"]["confirm_string_threshold"]), default=chosen)
    veto_rows: list[dict] = []
    veto_base = chosen
    if chosen is not None:
        base = StringRule(**chosen["rule"])
        veto_rows = [rule_scores(results, replace(base, veto_threshold=v, window_threshold=w,
                                                  veto_min_peak_over_floor_db=0.0 if v is None else g))
                     for w in window_thresholds for v in veto_thresholds for g in (veto_gates_db if v is not None else (0.0,))
                     if (v, w) != (None, None)]
        chosen = max((r for r in veto_rows if dominates(r, veto_base)),
                     key=lambda r: (-r["false_digits_per_hour"], -(r["other_speech_fa_per_hour"] or 0.0),
                                    r["isolated"] or 0.0, r.get("isolated_babble") or 0.0, r["mean_exact"] or 0.0,
                                    r["rule"]["window_threshold"] or 1.0, -(r["rule"]["veto_threshold"] or 0.0),
                                    r["rule"]["veto_min_peak_over_floor_db"]),
                     default=chosen)
    return {"baseline": baseline, "max_fa_per_hour": limit, "max_other_fa_per_hour": other_limit, "rules": rows,
            "chosen": chosen, "confirm_rules": confirm_rows, "veto_base": veto_base, "veto_rules": veto_rows}


def sweep_table(sweep: dict, *, top: int = 12):
    """The ``top`` rules of :func:`sweep_rules` by ``mean_exact`` (those within its false-digit limit
    first), the baseline and the chosen rule, as a ``rich`` table."""
    from rich.table import Table

    t = Table(title="string rules on recorded readings (clean)")
    for col in ("route ms", "threshold", "digits / s", "false digits / h", "other speech / h", "real", "tts",
                "assembled", "mean", "isolated"):
        t.add_column(col, justify="right")
    base = sweep["baseline"]
    limit = sweep["max_fa_per_hour"]

    def cells(r):
        f = [r.get(k) for k in ("real", "tts", "assembled", "mean_exact", "isolated")]
        other = "-" if r.get("other_speech_fa_per_hour") is None else f"{r['other_speech_fa_per_hour']}"
        return [f"{r['false_digits_per_hour']} ({r['false_digits']})", other,
                *("-" if v is None else f"{v:.3f}" for v in f)]

    t.add_row("no string model", "", "", *cells(base))
    other_limit = sweep.get("max_other_fa_per_hour")

    def outside(r):
        return r["false_digits_per_hour"] > limit or (
            other_limit is not None and (r["other_speech_fa_per_hour"] or 0.0) > other_limit)

    ranked = sorted(sweep["rules"], key=lambda r: (outside(r), -(r["mean_exact"] or 0.0), r["false_digits_per_hour"]))
    for r in ranked[:top]:
        rule = r["rule"]
        mark = " (chosen)" if r == sweep["chosen"] else ""
        t.add_row(f"{rule['min_speech_ms']:.0f}{mark}", "none" if rule["threshold"] is None else f"{rule['threshold']:.2f}",
                  f"{rule['min_digits_per_s']:.1f}", *cells(r))
    return t


def veto_table(sweep: dict, *, top: int = 20):
    """The last stage of :func:`sweep_rules` as a ``rich`` table: the rule before it, then the ``top`` rows
    (window threshold, veto, its level gate) that dominate it, fewest false digits first, or, if none
    does, the ``top`` with the most isolated digits; None if it has no such rows."""
    from rich.table import Table

    rows = sweep.get("veto_rules") or []
    ref = sweep.get("veto_base")
    if not rows or ref is None:
        return None
    t = Table(title="veto of window digits x window threshold, on the chosen rule (clean)")
    for col in ("window threshold", "veto", "over floor dB", "false digits / h", "other speech / h", "isolated",
                "isolated, babble", "strings mean"):
        t.add_column(col, justify="right")
    chosen = sweep["chosen"]

    def key(r):
        return (r["false_digits_per_hour"], r["other_speech_fa_per_hour"] or 0.0, -(r["isolated"] or 0.0))

    shown = sorted((r for r in rows if dominates(r, ref)), key=key)[:top] or sorted(
        rows, key=lambda r: -(r["isolated"] or 0.0))[:top]
    for r in [ref] + shown:
        rule = r["rule"]
        mark = " (chosen)" if r == chosen else ""
        cell = lambda v, f="{:.3f}": "-" if v is None else f.format(v)  # noqa: E731
        t.add_row("bundle's" if rule.get("window_threshold") is None else f"{rule['window_threshold']:.2f}",
                  ("none" if rule.get("veto_threshold") is None else f"{rule['veto_threshold']:.2f}") + mark,
                  f"{rule.get('veto_min_peak_over_floor_db') or 0:.0f}",
                  f"{r['false_digits_per_hour']} ({r['false_digits']})", cell(r.get("other_speech_fa_per_hour"), "{}"),
                  cell(r.get("isolated")), cell(r.get("isolated_babble")), cell(r.get("mean_exact")))
    return t


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


def rich_table(table: dict, title: str):
    """The :func:`summarize` table as a ``rich`` table (one row per kind, source and condition)."""
    from rich.table import Table

    t = Table(title=title)
    for col in ("items", "kind", "source", "condition", "exact / right", "digit error rate (S/D/I)", "false digits / h"):
        t.add_column(col, justify="right" if col in ("items", "exact / right") else "left")
    for name, v in table.items():
        kind, source, cond = name.split(":")
        if kind == "speech":
            t.add_row(str(v["items"]), kind, source, cond, "", "",
                      f"{v['false_digits_per_hour']} ({v['false_digits']} in {v['minutes']} min)")
        elif kind == "isolated":
            t.add_row(str(v["items"]), kind, source, cond, f"{v['right']:.3f}", f"{v['wrong']} wrong, {v['nothing']} none", "")
        else:
            t.add_row(str(v["items"]), kind, source, cond, f"{v['exact']:.3f}",
                      f"{v['digit_error_rate']:.3f} ({v['substitutions']}/{v['deletions']}/{v['insertions']})", "")
    return t


def strings_cmd_impl(bundle, data_root, synth_dir, split, size, no_strings, string_threshold, min_speech_ms, out,
                     seed, progress, sweep: bool = False, max_fa_per_hour: float | None = SWEEP_MAX_FA_PER_HOUR,
                     other_fa_ratio: float | None = SWEEP_OTHER_FA_RATIO, baseline: str | None = None,
                     strings_only: bool = False, string_hangover_ms: float | None = None,
                     cache_dir: Path | None = None) -> dict:
    """What ``spoken-digits strings`` measures (its options), as a JSON-ready dict: bundle, split, string_rule,
    seed, seconds, table (:func:`summarize`), items; with ``sweep`` also sweep, with ``baseline`` also
    baseline. ``strings_only``: the digit strings alone (no isolated digits, no running speech), as
    ``robustness`` adds them to its tables. ``cache_dir``: where the babble tracks are kept (a
    ``strings-eval`` subfolder; default :func:`trainer.data.dataset.default_cache_dir`)."""
    import time

    from ..data.corpus import CorpusPaths, read_corpus
    from ..data.dataset import default_cache_dir

    t0 = time.monotonic()
    rows = read_corpus(CorpusPaths.shared(data_root, synth=synth_dir))
    held_out_passages = sorted((Path(synth_dir) / "passages").glob("*.wav")) if synth_dir and split == "test" else []
    items = select_items(rows, split=split, n_tts=size, n_assembled=size, n_isolated=0 if strings_only else size,
                         seed=seed, passage_paths=held_out_passages, speech=not strings_only)
    babble = babble_tracks(rows, Path(cache_dir or default_cache_dir()) / "strings-eval", seed=seed)
    rule = bundle_rule(bundle, use_strings=not no_strings, threshold=string_threshold, min_speech_ms=min_speech_ms)
    results = rescore(run_items(bundle, items, babble=babble, use_strings=rule is not None, seed=seed,
                                string_hangover_ms=string_hangover_ms, progress=progress), rule)
    doc = {"bundle": str(bundle), "split": split, "string_rule": None if rule is None else asdict(rule), "seed": seed,
           "string_hangover_ms": string_hangover_ms,
           "seconds": round(time.monotonic() - t0, 1), "table": summarize(results), "items": results}
    if sweep and rule is not None:
        alone = rescore(run_items(bundle, items, babble=babble, conditions=("clean",), use_strings=False, seed=seed,
                                  string_hangover_ms=string_hangover_ms, progress=progress), None)
        doc["sweep"] = sweep_rules(results, baseline_results=alone, max_fa_per_hour=max_fa_per_hour,
                                   other_fa_ratio=other_fa_ratio)
        doc["seconds"] = round(time.monotonic() - t0, 1)
    if baseline:
        from .baselines import pocketsphinx_version

        peer_items = [it for it in items if it.kind != "speech" or it.source in BASELINE_SPEECH_SOURCES]
        peer = run_baseline(peer_items, conditions=("clean",), seed=seed, progress=progress)
        doc["baseline"] = {"name": baseline, "grammar": "digit loop", "version": pocketsphinx_version(),
                           "table": summarize(peer), "items": peer}
        doc["seconds"] = round(time.monotonic() - t0, 1)
    if out:
        write_json(doc, out)
    return doc


@click.command("strings")
@click.argument("bundle", type=click.Path(path_type=Path), required=False)
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder laid out like ../shared/data (speechocean762, Speech Commands copies, fsdd, noise).")
@click.option("--synth-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="'data synth --strings' output: the held-out voices' strings.")
@click.option("--split", type=click.Choice(("test", "val")), default="test", show_default=True,
              help="test: held-out speakers and voices; val: the validation speakers (used to choose settings).")
@click.option("--size", type=click.IntRange(1), default=200, show_default=True,
              help="Synthetic-voice strings, assembled strings per source group, and isolated Speech Commands digits "
                   "(and half as many isolated digits of synthetic voices).")
@click.option("--no-strings", is_flag=True, help="Ignore the bundle's string model (the window classifier alone).")
@click.option("--string-threshold", type=click.FloatRange(0, 1), default=None,
              help="Override the bundle's string threshold (0-1, least sure digit).")
@click.option("--min-speech-ms", type=click.FloatRange(0), default=None,
              help="Override the bundle's route (ms of speech above which the string model reads).")
@click.option("--string-hangover-ms", type=click.FloatRange(50, 1000), default=None,
              help="Override the bundle's hangover (ms of silence that end an utterance with the string model; "
                   "longer joins digits said with pauses, and delays every decision by as much).")
@click.option("--json", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the table and every item's reading here.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sweep", is_flag=True,
              help="Also replay a grid of string rules (route ms, threshold, digits per second of speech) on the "
                   "same readings and choose the one with the most strings right whose false digits per hour stay "
                   "within --max-fa-per-hour and the window classifier's alone; use with --split val "
                   "(export-strings takes the rule).")
@click.option("--baseline", type=click.Choice(("pocketsphinx",)), default=None,
              help="Also decode the clean strings, isolated digits and real sentences with a peer: pocketsphinx with "
                   "a digit-loop grammar (no segmenter, no rejection; about half real time; pip install "
                   "'spoken-digits[baselines]').")
@click.option("--other-fa-ratio", type=click.FloatRange(0), default=SWEEP_OTHER_FA_RATIO, show_default=True,
              help="With --sweep: on the other running speech (synthetic passages, words in a row) a rule may give "
                   "at most this multiple of the window classifier's own false digits per hour.")
@click.option("--max-fa-per-hour", type=click.FloatRange(0), default=SWEEP_MAX_FA_PER_HOUR, show_default=True,
              help="With --sweep: a rule may give at most this many false digits per hour of the running speech "
                   "(and no more than the window classifier alone).")
def strings_cmd(bundle, data_root, synth_dir, split, size, no_strings, string_threshold, min_speech_ms,
                string_hangover_ms, out, seed, sweep, baseline, other_fa_ratio, max_fa_per_hour):
    """Digit strings, isolated digits and running speech through BUNDLE (default: the shipped one), as 'recognize' reads files.

    Rows: real speechocean762 strings, held-out synthetic voices' strings and strings assembled from
    held-out speakers' digits (clean and babble 10 dB: exact strings, digit error rate with
    substitutions/deletions/insertions); held-out Speech Commands digits one by one (share right);
    held-out speechocean762 sentences (false digits per hour).
    """
    from rich.console import Console

    from realtime.bundle import DEFAULT_BUNDLE, load_bundle

    if sweep and split == "test":
        log.warning("--sweep on the test split: choose rules on --split val; the held-out split only measures")
    if sweep and (no_strings or load_bundle(bundle or DEFAULT_BUNDLE).strings is None):
        raise click.UsageError("--sweep needs a bundle with a string model (and no --no-strings)")
    doc = strings_cmd_impl(bundle or DEFAULT_BUNDLE, data_root, synth_dir, split, size, no_strings,
                           string_threshold, min_speech_ms, out, seed, progress=True, sweep=sweep,
                           max_fa_per_hour=max_fa_per_hour, other_fa_ratio=other_fa_ratio, baseline=baseline,
                           string_hangover_ms=string_hangover_ms)
    console = Console()
    console.print(rich_table(doc["table"], f"{bundle or 'default bundle'}, {split} split ({doc['seconds']:.0f} s)"))
    if baseline:
        console.print(rich_table(doc["baseline"]["table"], f"pocketsphinx {doc['baseline']['version']}, digit-loop "
                                                           f"grammar, {split} split"))
    if sweep:
        console.print(sweep_table(doc["sweep"]))
        vetoes = veto_table(doc["sweep"])
        if vetoes is not None:
            console.print(vetoes)
        chosen = doc["sweep"]["chosen"]
        if chosen is None:
            console.print(f"no rule keeps to {doc['sweep']['max_fa_per_hour']} false digits per hour of the real "
                          f"sentences and {doc['sweep']['max_other_fa_per_hour']} of the other speech")
        else:
            r = chosen["rule"]
            console.print(f"chosen: export-strings ... --min-speech-ms {r['min_speech_ms']:.0f} "
                          + ("" if r["threshold"] is None else f"--threshold {r['threshold']} ")
                          + f"--min-digits-per-s {r['min_digits_per_s']}"
                          + ("" if r.get("confirm_threshold") is None else
                             f" --confirm-threshold {r['confirm_threshold']} "
                             f"--confirm-string-threshold {r['confirm_string_threshold']}")
                          + ("" if r.get("veto_threshold") is None else f" --veto-threshold {r['veto_threshold']}")
                          + ("" if not r.get("veto_min_peak_over_floor_db") else
                             f" --veto-min-peak-over-floor-db {r['veto_min_peak_over_floor_db']:.0f}")
                          + ("" if r.get("window_threshold") is None else
                             f" --classifier-threshold {r['window_threshold']}")
                          + f" (isolated digits {chosen['isolated']}, strings {chosen['mean_exact']}, "
                            f"{chosen['false_digits_per_hour']} false digits / h of real sentences, "
                            f"{chosen['other_speech_fa_per_hour']} of other speech)")


__all__ = ["BABBLE_SNR_DB", "BASELINE_SPEECH_SOURCES", "CONTEXT_S", "REAL_SPEECH_SOURCE", "StringItem", "StringRule", "babble_tracks", "embed", "reading_of", "rescore",
           "rich_table", "run_items",
           "SWEEP_CONFIRM_STRING_THRESHOLDS", "SWEEP_CONFIRM_THRESHOLDS", "SWEEP_DIGITS_PER_S", "SWEEP_MAX_FA_PER_HOUR", "SWEEP_OTHER_FA_RATIO", "SWEEP_ROUTES_MS", "SWEEP_THRESHOLDS",
           "SWEEP_VETO_MIN_PEAK_OVER_FLOOR_DB", "SWEEP_VETO_THRESHOLDS", "SWEEP_WINDOW_THRESHOLDS",
           "rule_scores", "run_baseline", "select_items", "strings_cmd", "strings_cmd_impl", "summarize", "sweep_rules", "sweep_table", "veto_table", "dominates",
           "write_json"]
