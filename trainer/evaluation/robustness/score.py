"""Scoring through the real segmenter: items, continuous streams, threshold sweeps.

The model runs **once**, with threshold 0, and every decision is recorded as
(top label, confidence, where); the threshold is applied afterwards
(:func:`accepted`), so a sweep of thresholds needs no second run. A decision is
*accepted* at threshold ``t`` if its top label is not a rejection class (a label
starting with ``_``: ``_silence_``, ``_unknown_``) and its confidence (the top
probability) is ``>= t``, as :func:`realtime.pipeline.decide` applies a threshold.

With a bundle's digit-string model (``ModelRunner.string_options``, as ``recognize`` runs
by default), an utterance the string model claims is a *string decision*: accepted or
not by the string model's own rule (its bundle's threshold, :func:`realtime.pipeline.string_accepted`),
whatever the window classifier's threshold; an accepted one counts as many false
digits as it holds. A window decision the string model confirmed (it read the same one digit,
the recognizer's ``string_confirm_threshold``) is accepted at every threshold up to the bundle's
own (a stricter threshold turns confirmation off, :func:`realtime.strings.confirms_at`): it is
scored as if its confidence were at least that threshold (:attr:`Dec.score`). A window digit
the string model vetoed (the recognizer's ``string_veto_threshold``) is rejected at every
threshold, as the length gate's are (the run at threshold 0 asks the string model about every
digit on top).

Only numpy, soundfile and :mod:`realtime` are used here: the model path is
exactly the one ``recognize`` and ``listen`` take.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

#: Outcomes of a digit item, in report order.
OUTCOMES = ("right", "wrong", "rejected", "missed", "extra")


def is_rejection(label: str) -> bool:
    """True for the open-set classes (``_silence_``, ``_unknown_``, any ``_..._`` label)."""
    return label.startswith("_")


@dataclass(frozen=True)
class Dec:
    """One decision of the segmenter + classifier, before any threshold.

    Attributes
    ----------
    top : str
        The top label.
    confidence : float in [0, 1]
        Its probability.
    top_digit : str or None
        The most probable digit label (differs from ``top`` when a rejection class wins).
    top_digit_p : float
        Its probability.
    start_s, end_s : float (s)
        Speech start and end of the utterance in the item or stream.
    too_short : bool
        A digit on top of an utterance shorter than the recognizer's ``min_digit_speech_ms``:
        rejected at every threshold (:func:`realtime.pipeline.decide`).
    string : str or None
        A string decision (the digit-string model claimed the utterance): the digits it read
        (``top`` is the same, or ``_unknown_`` if it read none; ``confidence`` its least sure
        digit's). None: the window classifier's decision.
    string_accepted : bool
        The string model's rule accepted ``string``: at every threshold (the window classifier's
        threshold does not apply to it).
    confirmed : bool
        A window decision the string model confirmed (:attr:`realtime.pipeline.Decision.confirmed`).
    confirmed_up_to : float
        ... accepted at every threshold up to this (the bundle's threshold).
    vetoed : bool
        A window digit the string model vetoed (:attr:`realtime.pipeline.Decision.vetoed`): rejected at
        every threshold.
    """

    top: str
    confidence: float
    top_digit: str | None
    top_digit_p: float
    start_s: float
    end_s: float
    too_short: bool = False
    string: str | None = None
    string_accepted: bool = False
    confirmed: bool = False
    confirmed_up_to: float = 1.0
    vetoed: bool = False

    @property
    def candidate(self) -> bool:
        """A digit that some threshold accepts: a digit on top, not rejected by the length gate or
        vetoed by the string model. (A string decision: never, see :attr:`fixed`.)"""
        return self.string is None and not is_rejection(self.top) and not self.too_short and not self.vetoed

    @property
    def score(self) -> float:
        """The highest threshold at which a candidate is accepted: its confidence, or for a confirmed
        digit at least :attr:`confirmed_up_to`."""
        return max(self.confidence, self.confirmed_up_to) if self.confirmed else self.confidence

    @property
    def fixed(self) -> bool:
        """A string decision its rule accepted: accepted at every threshold."""
        return self.string is not None and self.string_accepted

    @property
    def n_digits(self) -> int:
        """Digits this decision reports when accepted: 1, or the length of a string."""
        return len(self.string) if self.string is not None else 1

    def to_json(self) -> dict:
        out = {"top": self.top, "confidence": round(self.confidence, 6), "top_digit": self.top_digit,
               "top_digit_p": round(self.top_digit_p, 6), "start_s": round(self.start_s, 3),
               "end_s": round(self.end_s, 3)}
        if self.too_short:
            out["too_short"] = True
        if self.string is not None:
            out["string"], out["string_accepted"] = self.string, self.string_accepted
        if self.confirmed:
            out["confirmed"], out["confirmed_up_to"] = True, self.confirmed_up_to
        if self.vetoed:
            out["vetoed"] = True
        return out


def accepted(d: Dec, threshold: float) -> bool:
    """Is ``d`` a decision (not a rejection) at ``threshold``? A string decision: if its own rule accepted it;
    a confirmed digit: up to its :attr:`Dec.confirmed_up_to` whatever its confidence."""
    return d.fixed or (d.candidate and d.score >= threshold)


def dec_from_probabilities(probabilities: np.ndarray, labels: Sequence[str], start_s: float, end_s: float,
                           too_short: bool = False) -> Dec:
    """A :class:`Dec` from a probability vector (float32 as the classifier returns it)."""
    p = np.asarray(probabilities, dtype=np.float32).reshape(-1)
    if p.shape[0] != len(labels):
        raise ValueError(f"{p.shape[0]} probabilities for {len(labels)} labels")
    i = int(np.argmax(p))
    digits = [k for k, lab in enumerate(labels) if lab.isdigit()]
    j = max(digits, key=lambda k: p[k]) if digits else None
    return Dec(str(labels[i]), float(p[i]), None if j is None else str(labels[j]),
               0.0 if j is None else float(p[j]), float(start_s), float(end_s), bool(too_short))


def dec_from_decision(d, labels: Sequence[str], confirmed_up_to: float = 1.0) -> Dec:
    """A :class:`Dec` from a :class:`realtime.pipeline.Decision` (its probabilities and length gate, not its
    label; a string decision: the string read and whether its rule accepted it; a confirmed digit: accepted
    up to ``confirmed_up_to``, the bundle's threshold; a vetoed digit: never)."""
    u = d.utterance
    start_s, end_s = u.speech_start_sample / u.sample_rate_hz, u.end_sample / u.sample_rate_hz
    if d.is_string:
        read = d.reading.digits if d.reading is not None else ""
        return Dec(read or "_unknown_", float(d.confidence), None, 0.0, start_s, end_s,
                   string=read, string_accepted=bool(d.accepted))
    dec = dec_from_probabilities(d.probabilities, labels, start_s, end_s, d.too_short)
    if d.vetoed:
        dec = replace(dec, vetoed=True)
    return replace(dec, confirmed=True, confirmed_up_to=float(confirmed_up_to)) if d.confirmed else dec


# --------------------------------------------------------------------------- items
def item_outcome(digit: str, decs: Sequence[Dec], threshold: float) -> str:
    """The outcome of a digit item at ``threshold``.

    ``right``: the accepted labels are exactly ``[digit]``; ``wrong``: one accepted
    label, another one; ``extra``: more than one accepted; ``rejected``: decisions,
    none accepted; ``missed``: no decision at all (the segmenter found nothing).
    """
    acc = [d.top for d in decs if accepted(d, threshold)]
    if acc == [digit]:
        return "right"
    if len(acc) > 1:
        return "extra"
    if len(acc) == 1:
        return "wrong"
    return "rejected" if decs else "missed"


def right_interval(digit: str, decs: Sequence[Dec]) -> tuple[float, float] | None:
    """The thresholds at which an item is right: ``lo < t <= hi``, or None if at none.

    At ``t`` the accepted decisions are the non-rejection ones with confidence ``>= t``;
    exactly one, the right digit, remains for ``t`` above the second-highest confidence
    and up to the highest.
    """
    fixed = [d.top for d in decs if d.fixed]  # accepted strings: at every threshold
    conf = sorted(((d.score, d.top) for d in decs if d.candidate), reverse=True)
    if fixed:
        if fixed != [digit]:
            return None
        return (conf[0][0] if conf else -np.inf, np.inf)  # right while no digit decision is accepted beside it
    if not conf or conf[0][1] != digit:
        return None
    lo = conf[1][0] if len(conf) > 1 else -np.inf
    hi = conf[0][0]
    return (lo, hi) if lo < hi else None


@dataclass
class Counts:
    """Outcome counts of a group of items at one threshold."""

    n: int = 0
    right: int = 0
    wrong: int = 0
    rejected: int = 0
    missed: int = 0
    extra: int = 0
    #: Items with more than one decision, accepted or not (the segmenter split them).
    split: int = 0

    def add(self, outcome: str, n_decisions: int) -> None:
        self.n += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.split += n_decisions > 1

    @property
    def accuracy(self) -> float | None:
        return None if self.n == 0 else self.right / self.n

    def to_json(self) -> dict:
        return {"n": self.n, "accuracy": None if self.n == 0 else round(self.right / self.n, 4),
                **{k: getattr(self, k) for k in OUTCOMES}, "split": self.split}


def count_items(results: Iterable[tuple[str, Sequence[Dec]]], threshold: float) -> Counts:
    """:class:`Counts` of ``(digit, decisions)`` pairs at ``threshold``."""
    c = Counts()
    for digit, decs in results:
        c.add(item_outcome(digit, decs, threshold), len(decs))
    return c


# --------------------------------------------------------------------------- model runs
@dataclass
class ModelRunner:
    """The bundle's classifier and the recognizer settings, applied at threshold 0.

    ``predict(window) -> probabilities`` is :meth:`realtime.classifier.Classifier.predict`
    (any callable in tests). ``min_digit_speech_ms`` is the recognizer's digit length gate
    (ms, one value or per label, :class:`realtime.pipeline.Recognizer`; None: the per-digit
    default :data:`realtime.constants.MIN_DIGIT_SPEECH_MS`, as ``listen`` and ``recognize``; 0: none).
    ``string_options`` are the recognizer's digit-string model and rule
    (:func:`realtime.strings.recognizer_options`; empty: the window classifier alone);
    ``confirmed_up_to`` the highest threshold at which its confirmation holds (the bundle's threshold).
    """

    predict: Callable[[np.ndarray], np.ndarray]
    labels: tuple[str, ...]
    sample_rate_hz: int
    window_samples: int
    min_digit_speech_ms: float | dict[str, float] | None = None
    string_options: dict = field(default_factory=dict)
    confirmed_up_to: float = 1.0

    def __post_init__(self) -> None:
        if self.min_digit_speech_ms is None:
            from realtime import constants as C

            self.min_digit_speech_ms = dict(C.MIN_DIGIT_SPEECH_MS)

    @classmethod
    def from_classifier(cls, clf, *, min_digit_speech_ms: float | dict[str, float] | None = None,
                        strings: bool = True) -> "ModelRunner":
        """The runner of a :class:`realtime.classifier.Classifier`; with ``strings`` (the default, as
        ``recognize``) also its bundle's digit-string model, if it has one."""
        from realtime.strings import recognizer_options

        ceiling = clf.bundle.threshold if clf.bundle.threshold is not None else 1.0
        return cls(clf.predict, tuple(clf.labels), int(clf.sample_rate_hz), int(clf.window_samples),
                   min_digit_speech_ms, recognizer_options(clf) if strings else {}, float(ceiling))

    def dec(self, decision, labels: Sequence[str]) -> Dec:
        """:func:`dec_from_decision` with this runner's :attr:`confirmed_up_to`."""
        return dec_from_decision(decision, labels, self.confirmed_up_to)

    @property
    def reads_strings(self) -> bool:
        return self.string_options.get("read_string") is not None

    def recognize(self, samples: np.ndarray, rate_hz: int, *, convert: Callable | None = None) -> list:
        """Every decision of a recording through the ``recognize`` path (segmenter + classifier), as
        :class:`Dec` or as ``convert(decision, labels)`` returns it."""
        from realtime.pipeline import recognize_samples

        out = recognize_samples(samples, rate_hz, self.predict, model_rate_hz=self.sample_rate_hz,
                                window_samples=self.window_samples, labels=self.labels, threshold=0.0,
                                min_digit_speech_ms=self.min_digit_speech_ms, **self.string_options)
        convert = convert or self.dec
        return [convert(d, self.labels) for d in out]

    def classify_window(self, samples: np.ndarray, rate_hz: int) -> Dec:
        """The plain window path: the clip resampled, left-aligned, zero-padded (or cut) to the window."""
        x = _resample(np.asarray(samples, np.float32), rate_hz, self.sample_rate_hz)
        w = np.zeros(self.window_samples, np.float32)
        n = min(x.shape[0], self.window_samples)
        w[:n] = x[:n]
        return dec_from_probabilities(self.predict(w), self.labels, 0.0, n / self.sample_rate_hz)


def _resample(x: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    if from_hz == to_hz:
        return x
    import soxr

    return soxr.resample(x, from_hz, to_hz, quality="HQ").astype(np.float32)


def read_audio(path, rate_hz: int | None = None) -> tuple[np.ndarray, int]:
    """A WAV file as mono float32 (channels averaged), resampled to ``rate_hz`` if given."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    y = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if rate_hz is not None and rate != rate_hz:
        return _resample(y, int(rate), int(rate_hz)), int(rate_hz)
    return y, int(rate)


# --------------------------------------------------------------------------- streams
@dataclass
class StreamResult:
    """A continuous stream streamed through the :class:`~realtime.pipeline.Recognizer`.

    Attributes
    ----------
    decisions : list of Dec
    seconds : float (s)
        Audio played.
    max_speech_s : float (s)
        Longest time the segmenter stayed in its speech state.
    long_speech : list of (start_s, duration_s)
        Every speech-state run longer than ``hang_s``.
    files : list of (name, start_s, end_s)
        Where each recording of a stream made of several lies in it (empty for one recording).
    """

    decisions: list[Dec] = field(default_factory=list)
    seconds: float = 0.0
    max_speech_s: float = 0.0
    long_speech: list[tuple[float, float]] = field(default_factory=list)
    files: list[tuple[str, float, float]] = field(default_factory=list)

    def false_accepts_by_file(self, threshold: float) -> dict[str, int]:
        """False digits at ``threshold`` per recording of the stream (by the decision's start), most first;
        recordings without any are left out. Empty for a stream of one recording."""
        counts: dict[str, int] = {}
        for d in self.decisions:
            if accepted(d, threshold):
                name = next((n for n, a, b in self.files if a <= d.start_s < b), None)
                if name is not None:
                    counts[name] = counts.get(name, 0) + d.n_digits
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def false_accepts(self, threshold: float) -> int:
        """False digits at ``threshold``: every accepted digit decision, and every digit of an accepted string."""
        return sum(d.n_digits for d in self.decisions if accepted(d, threshold))

    def false_accept_speech_s(self, threshold: float) -> list[float]:
        """Speech length (s, ``end_s - start_s``) of every false accept at ``threshold``: whole words
        (0.3-0.8 s) and fragments of running speech (0.1-0.2 s) call for different remedies."""
        return [d.end_s - d.start_s for d in self.decisions if accepted(d, threshold)]

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


def fixed_blocks(segments: Iterable[np.ndarray], block_samples: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of ``block_samples`` over a sequence of arrays (the last may be shorter)."""
    carry = np.zeros(0, np.float32)
    for seg in segments:
        x = np.concatenate([carry, np.asarray(seg, np.float32).reshape(-1)]) if carry.size else \
            np.asarray(seg, np.float32).reshape(-1)
        n_full = x.shape[0] // block_samples
        for i in range(n_full):
            yield x[i * block_samples:(i + 1) * block_samples]
        carry = x[n_full * block_samples:].copy()
    if carry.size:
        yield carry


def run_stream(runner: ModelRunner, segments: Iterable[np.ndarray], rate_hz: int, *,
               block_ms: float | None = None, hang_s: float = 2.0,
               on_block: Callable[[int], None] | None = None, convert: Callable | None = None) -> StreamResult:
    """Stream audio through a live :class:`~realtime.pipeline.Recognizer`, as ``listen`` does.

    Blocks of the capture block size (``realtime.constants.CAPTURE_BLOCK_MS`` at
    ``rate_hz``), no initial noise floor (the live warm-up), threshold 0. After every
    block, the segmenter's ``in_speech`` is read to time its speech-state runs.

    Parameters
    ----------
    segments : iterable of np.ndarray [float32]
        The stream, in consecutive pieces, mono at ``rate_hz``.
    on_block : callable(n_samples) or None
        Progress callback.
    convert : callable(decision, labels) or None
        What each :class:`~realtime.pipeline.Decision` is kept as (default :func:`dec_from_decision`;
        the threshold methods of :class:`StreamResult` need :class:`Dec`).
    """
    from realtime import constants as C
    from realtime.pipeline import Recognizer

    block_ms = C.CAPTURE_BLOCK_MS if block_ms is None else block_ms
    block = max(1, int(round(block_ms * rate_hz / 1000.0)))
    convert = convert or runner.dec
    rec = Recognizer(runner.predict, sample_rate_hz=runner.sample_rate_hz, window_samples=runner.window_samples,
                     labels=runner.labels, threshold=0.0, input_rate_hz=rate_hz,
                     min_digit_speech_ms=runner.min_digit_speech_ms, **runner.string_options)
    res = StreamResult()
    seen = 0
    run_start: int | None = None

    def end_run(at: int) -> None:
        nonlocal run_start
        if run_start is not None:
            dur = (at - run_start) / rate_hz
            res.max_speech_s = max(res.max_speech_s, dur)
            if dur > hang_s:
                res.long_speech.append((round(run_start / rate_hz, 3), round(dur, 3)))
            run_start = None

    for b in fixed_blocks(segments, block):
        res.decisions += [convert(d, runner.labels) for d in rec.feed(b)]
        seen += b.shape[0]
        if rec.in_speech:
            if run_start is None:
                run_start = seen - b.shape[0]
        else:
            end_run(seen)
        if on_block is not None:
            on_block(b.shape[0])
    end_run(seen)
    res.decisions += [convert(d, runner.labels) for d in rec.finish()]
    res.seconds = seen / rate_hz
    return res


def match_played(played: Sequence[tuple[str, float, float]], decs: Sequence[Dec], threshold: float,
                 *, tolerance_s: float = 0.1) -> dict:
    """Score a stream of known digits: each decision goes to the played digit it overlaps most.

    Parameters
    ----------
    played : sequence of (digit, start_s, end_s)
    decs : the stream's decisions
    tolerance_s : float (s)
        A decision may start or end this far outside the digit and still overlap it.

    Returns
    -------
    dict with ``played``, ``found`` (digits with at least one decision, accepted or not),
    ``right`` (digits whose accepted labels are exactly their digit), ``extra``
    (accepted decisions overlapping no played digit), ``decisions``.
    """
    assigned: list[list[Dec]] = [[] for _ in played]
    extra = 0
    for d in decs:
        best, best_ov = None, 0.0
        for i, (_, s, e) in enumerate(played):
            ov = min(d.end_s, e + tolerance_s) - max(d.start_s, s - tolerance_s)
            if ov > best_ov:
                best, best_ov = i, ov
        if best is None:
            extra += accepted(d, threshold)
        else:
            assigned[best].append(d)
    found = sum(1 for a in assigned if a)
    right = sum(1 for (digit, _, _), a in zip(played, assigned) if item_outcome(digit, a, threshold) == "right")
    return {"played": len(played), "found": found, "right": right, "extra": extra, "decisions": len(decs)}


# --------------------------------------------------------------------------- sweep
def sweep(items: Sequence[tuple[str, Sequence[Dec]]], negatives: Sequence[Dec], hours: float,
          thresholds: Sequence[float] | None = None) -> dict:
    """Miss rate on digit items and false accepts per hour on negative streams, per threshold.

    Parameters
    ----------
    items : sequence of (digit, decisions)
        Digit items; *miss* = not right (no decision, rejected, wrong or extra).
    negatives : sequence of Dec
        Every decision of the continuous no-digit streams (an accepted string: its digits at every threshold).
    hours : float > 0
        Their total duration.
    thresholds : sequence of float or None
        Default: 0, 1 and every confidence of an accepted-label decision (items and negatives).

    Returns
    -------
    dict of lists ``threshold``, ``miss_rate``, ``false_accepts``, ``fa_per_hour`` (ascending threshold).
    """
    if thresholds is None:
        confs = {d.score for _, ds in items for d in ds if d.candidate}
        confs |= {d.score for d in negatives if d.candidate}
        thresholds = sorted({0.0, 1.0, *confs})
    t = np.asarray(sorted(thresholds), dtype=np.float64)
    right = np.zeros(t.shape[0], np.int64)
    for digit, decs in items:
        iv = right_interval(digit, decs)
        if iv is not None:
            right += (t > iv[0]) & (t <= iv[1])
    neg = np.sort(np.asarray([d.score for d in negatives if d.candidate], np.float64))
    fa = neg.shape[0] - np.searchsorted(neg, t, side="left")  # confidences >= t
    fa = fa + sum(d.n_digits for d in negatives if d.fixed)
    n = max(len(items), 1)
    return {"threshold": t.tolist(), "miss_rate": (1.0 - right / n).tolist(), "false_accepts": fa.tolist(),
            "fa_per_hour": (fa / hours if hours > 0 else np.full(t.shape, np.nan)).tolist(), "n_items": len(items),
            "hours": hours}


def miss_at_fa_per_hour(curve: dict, budgets: Sequence[float]) -> dict[float, dict | None]:
    """The best point of a :func:`sweep` curve within each false-accept budget.

    For each budget (false accepts per hour), the threshold with the lowest miss rate among those
    whose FA/h is at most the budget (ties: the lowest threshold). This compares models at the same
    false-accept rate, as the wake-word field reads a DET curve, rather than each at its own
    validation threshold.

    Parameters
    ----------
    curve : dict
        :func:`sweep`'s result (``threshold``, ``miss_rate``, ``fa_per_hour``).
    budgets : sequence of float >= 0 (false accepts per hour)

    Returns
    -------
    dict budget -> ``{"threshold", "miss_rate", "fa_per_hour"}``, or None where no swept threshold
    meets the budget (the curve was swept on too few thresholds).
    """
    t = np.asarray(curve["threshold"], np.float64)
    miss = np.asarray(curve["miss_rate"], np.float64)
    fa = np.asarray(curve["fa_per_hour"], np.float64)
    out: dict[float, dict | None] = {}
    for b in budgets:
        ok = np.flatnonzero(fa <= b)
        if ok.size == 0:
            out[b] = None
            continue
        i = ok[np.argmin(miss[ok])]  # argmin takes the first (lowest threshold) of equal misses
        out[b] = {"threshold": float(t[i]), "miss_rate": float(miss[i]), "fa_per_hour": float(fa[i])}
    return out


__all__ = ["Counts", "Dec", "ModelRunner", "OUTCOMES", "StreamResult", "accepted", "count_items",
           "dec_from_decision", "dec_from_probabilities", "fixed_blocks", "is_rejection", "item_outcome",
           "match_played", "miss_at_fa_per_hour", "read_audio", "right_interval", "run_stream", "sweep"]
