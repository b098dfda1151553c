"""Everything after capture, shared by ``listen`` (microphone) and ``recognize`` (files).

blocks at any rate ──> :class:`~realtime.audiofile.StreamResampler` ──> :class:`~realtime.segmenter.Segmenter`
──> 0.8 s window ──> ``classify(window) -> probabilities`` ──> :class:`Decision`
             └─> (speech longer than ``string_min_speech_ms``, with a string model) the whole utterance
                 ──> ``read_string(audio) -> StringReading`` ──> :class:`Decision` with the digit string

The classifier is any callable, so the pipeline is tested without a model;
``realtime.classifier.Classifier.predict`` is the real one. For live input, an
:class:`ArrivalClock` remembers when each block arrived, which gives each
decision its latency.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import constants as C
from .audiofile import StreamResampler, read_wav, resample
from .bundle import REJECT_LABELS
from .segmenter import Segmenter, SegmenterConfig, Utterance, estimate_noise_floor_dbfs, frame_levels_dbfs

if TYPE_CHECKING:
    from .strings import StringReading

#: ``classify(window)``: window float32 ``(window_samples,)`` -> probabilities float32 ``(n_classes,)``.
ClassifyFn = Callable[[np.ndarray], np.ndarray]
#: ``read_string(audio)``: a whole utterance float32 ``(n,)`` -> :class:`realtime.strings.StringReading`.
ReadStringFn = Callable[[np.ndarray], "StringReading"]


#: Label of an utterance whose top class is a digit below the threshold: not trusted, so unknown.
UNKNOWN_LABEL = REJECT_LABELS[1]
#: The digit length gate: one value (ms) for every digit, or a value per label (labels not in it: no gate).
DigitGate = float | Mapping[str, float]


def gate_of(min_digit_speech_ms: DigitGate | None, label: str) -> float:
    """The minimum speech length (ms) of ``label`` under a gate (None: the default,
    :data:`realtime.constants.MIN_DIGIT_SPEECH_MS`)."""
    g = C.MIN_DIGIT_SPEECH_MS if min_digit_speech_ms is None else min_digit_speech_ms
    return float(g.get(label, 0.0)) if isinstance(g, Mapping) else float(g)


#: What the history and ``recognize`` show for each rejection class.
REJECT_SYMBOLS = {"_silence_": "·", "_unknown_": "?"}


@dataclass(frozen=True)
class Decision:
    """The outcome of one utterance.

    Attributes
    ----------
    utterance : Utterance
        Where it is in the stream, and the window classified.
    probabilities : np.ndarray [shape=(n_classes,), dtype=float32]
    label : str
        A digit label (``"0"``-``"9"``) if accepted, else a rejection: ``"_silence_"``
        (noise, no speech) or ``"_unknown_"`` (speech that is not a digit, or a digit
        below the threshold).
    top_label : str
        The top class, accepted or not.
    confidence : float in [0, 1]
        The top probability.
    latency_ms : float or None (ms)
        Wall time from the arrival of the utterance's last sample to this decision;
        None for files (no wall clock).
    too_short : bool
        A digit was on top at or above the threshold, but the utterance was shorter than
        the recognizer's ``min_digit_speech_ms``: rejected as ``_unknown_``.
    reading : StringReading or None
        What the digit-string model read in this utterance, if it read it.
    is_string : bool
        The decision is the string model's: ``label`` is the string (``"4172"``) if accepted, else
        ``"_unknown_"``; ``top_label`` the string read (``"_unknown_"`` if empty), ``confidence`` its
        least sure digit's, ``probabilities`` empty. False: the window classifier's decision (also
        for an utterance the string model read but did not claim, :meth:`Recognizer._decide`).
    confirmed : bool
        The window classifier's top digit (at least the recognizer's ``string_confirm_threshold``,
        not rejected by the length gate) is the one digit the string model read in the utterance
        (with at least ``string_confirm_string_threshold``): accepted even under the threshold.
    vetoed : bool
        The window classifier's top digit was at or above the threshold, but the string model hardly
        heard that digit anywhere in the utterance (its highest posterior of it under the recognizer's
        ``string_veto_threshold``, in a quiet enough utterance): rejected as ``_unknown_``.
    """

    utterance: Utterance
    probabilities: np.ndarray = field(repr=False)
    label: str
    top_label: str
    confidence: float
    latency_ms: float | None = None
    too_short: bool = False
    reading: "StringReading | None" = field(default=None, repr=False)
    is_string: bool = False
    confirmed: bool = False
    vetoed: bool = False

    @property
    def accepted(self) -> bool:
        """True if the decision is a digit or a digit string."""
        return self.label not in REJECT_LABELS

    @property
    def digit(self) -> int | str | None:
        """The accepted label of the window classifier (an int for digit labels); None for a rejection
        and for a string (see :attr:`digits`)."""
        if not self.accepted or self.is_string:
            return None
        return int(self.label) if self.label.isdigit() else self.label

    @property
    def digits(self) -> str:
        """The accepted digits, in order: ``"7"`` for a digit, ``"4172"`` for a string, ``""`` for a rejection."""
        return self.label if self.accepted else ""

    @property
    def symbol(self) -> str:
        """The digit or the string, ``?`` for unknown speech, ``·`` for silence/noise."""
        return REJECT_SYMBOLS.get(self.label, self.label)

    def to_json(self, labels: Sequence[str], **extra) -> dict:
        """One JSON-ready object: kind (``"digit"``: the 0.8 s window classifier; ``"string"``: the
        digit-string model), digits (the accepted digits as a string: ``"7"``, ``"4172"``, or ``""``),
        time_s (utterance start, s), end_s, digit (int, or null when rejected or a string), label
        (the digit or string, or ``_silence_``/``_unknown_``), top, confidence, probabilities (label ->
        probability, every class; empty for a string), speech_ms (speech length of the utterance),
        too_short (a digit rejected by the length gate), confirmed (the string model read the same one
        digit: accepted under the threshold too), vetoed (a digit over the threshold rejected because the
        string model hardly heard it), steady_noise (heard in a steady noise: no
        length gate, :attr:`realtime.segmenter.Utterance.in_steady_noise`), latency_ms (null for
        files); for a string also ``digit_times``: per digit read, its label, start_s and end_s in the
        stream and confidence. Plus ``extra``."""
        u = self.utterance
        out = {
            **extra,
            "kind": "string" if self.is_string else "digit",
            "digits": self.digits,
            "time_s": round(u.start_s if not self.is_string else u.audio_start_sample / u.sample_rate_hz, 3),
            "end_s": round(u.end_s, 3),
            "digit": self.digit,
            "label": self.label,
            "top": int(self.top_label) if self.top_label.isdigit() and not self.is_string else self.top_label,
            "confidence": round(float(self.confidence), 4),
            "probabilities": {str(k): round(float(p), 4) for k, p in zip(labels, self.probabilities)},
            "speech_ms": round(u.speech_ms, 1),
            "too_short": self.too_short,
            "confirmed": self.confirmed,
            "vetoed": self.vetoed,
            "steady_noise": u.in_steady_noise,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
        }
        if self.is_string and self.reading is not None:
            offset = u.audio_start_sample / u.sample_rate_hz
            out["digit_times"] = [
                {"digit": t.label, "start_s": round(a, 3), "end_s": round(b, 3), "confidence": round(t.confidence, 4)}
                for t, (a, b) in zip(self.reading.tokens, self.reading.digit_times_s(offset))]
        return out


def decide(probabilities: np.ndarray, labels: Sequence[str], threshold: float, *,
           speech_ms: float | None = None, min_digit_speech_ms: DigitGate = 0.0,
           steady_noise: bool = False) -> tuple[str, str, float]:
    """Apply the label set's rejection classes, the threshold and the digit length gate.

    Parameters
    ----------
    probabilities : np.ndarray [shape=(n_classes,), float]
    labels : sequence of str, length n_classes
    threshold : float in [0, 1]
    speech_ms : float or None (ms)
        Speech length of the utterance (:attr:`realtime.segmenter.Utterance.speech_ms`); None: no gate.
    min_digit_speech_ms : float >= 0 or mapping label -> float (ms)
        A digit on top of a shorter utterance is not accepted: one value for every digit, or
        one per label (:data:`realtime.constants.MIN_DIGIT_SPEECH_MS`).
    steady_noise : bool
        The utterance was heard in a steady noise
        (:attr:`realtime.segmenter.Utterance.in_steady_noise`): no gate, as with ``speech_ms=None``.

    Returns
    -------
    label : str
        The top class if it is ``_silence_``/``_unknown_`` (a rejection class), or if its
        probability is >= ``threshold`` and the utterance is not shorter than
        ``min_digit_speech_ms``; else ``"_unknown_"`` (a digit too unsure, or too short, to accept).
    top_label : str
    confidence : float
        The top probability.
    """
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if p.shape[0] != len(labels):
        raise ValueError(f"{p.shape[0]} probabilities for {len(labels)} labels")
    i = int(np.argmax(p))
    conf = float(p[i])
    top = str(labels[i])
    if top in REJECT_LABELS:
        return top, top, conf
    too_short = (speech_ms is not None and not steady_noise
                 and speech_ms < gate_of(min_digit_speech_ms, top))
    if conf >= threshold and not too_short:
        return top, top, conf
    return UNKNOWN_LABEL, top, conf


class ArrivalClock:
    """Maps a stream sample index to the wall time at which it arrived.

    Parameters
    ----------
    sample_rate_hz : int (Hz)
        Rate of the indexed stream (the capture rate).
    history : int
        Blocks remembered.
    """

    def __init__(self, sample_rate_hz: int, *, history: int = 512) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._marks: deque[tuple[int, float]] = deque(maxlen=history)
        self.samples = 0

    def add(self, n_samples: int, t_end: float) -> None:
        """Record that ``n_samples`` more samples arrived, the last at ``t_end`` (s)."""
        self.samples += n_samples
        self._marks.append((self.samples, t_end))

    def time_of(self, sample: float) -> float | None:
        """Arrival time (s) of stream sample ``sample``, or None if unknown (too old or not yet arrived)."""
        for end, t in self._marks:
            if end >= sample:
                return t - (end - sample) / self.sample_rate_hz
        return None


def string_accepted(digits: str, confidence: float, speech_ms: float, *, threshold: float | None,
                    min_digits_per_s: float = 0.0) -> bool:
    """The acceptance rule of a digit string read by the string model.

    Accepted if it is not empty, its least sure digit's confidence is at least ``threshold`` (None:
    any), and it holds at least ``min_digits_per_s`` digits per second of speech (``speech_ms``,
    :attr:`realtime.segmenter.Utterance.speech_ms`). The rate rule: people say 2-4 digits per second
    in a string, pauses included; a CTC model that hears a digit-like syllable in a sentence emits
    one digit among several seconds of speech. Both limits are chosen on validation speech
    (``export-strings``, docs/results.md).
    """
    if not digits:
        return False
    if threshold is not None and confidence < threshold:
        return False
    return len(digits) >= min_digits_per_s * speech_ms / 1000.0


def string_segmenter_config(sample_rate_hz: int, window_samples: int, max_speech_ms: float | None = None,
                            **overrides) -> SegmenterConfig:
    """The segmenter of a recognizer with a digit-string model: utterances up to ``max_speech_ms``
    (default :data:`realtime.constants.STRING_MAX_SPEECH_MS`) are kept, and the history floor holds
    within an utterance (:class:`realtime.segmenter.SegmenterConfig`), so that a string said in one
    breath stays one utterance."""
    return SegmenterConfig(sample_rate_hz=sample_rate_hz, window_samples=window_samples,
                           max_speech_ms=float(max_speech_ms or C.STRING_MAX_SPEECH_MS),
                           hold_history_floor_in_speech=True, **overrides)


class Recognizer:
    """Streaming recognizer: feed audio blocks, get decisions.

    Parameters
    ----------
    classify : callable
        ``classify(window float32 (window_samples,)) -> probabilities (n_classes,)``.
    sample_rate_hz : int (Hz)
        The classifier's rate (the bundle's, 22,050).
    window_samples : int
        The classifier's window (17,640).
    labels : sequence of str
        Class names, in the order of the probabilities.
    threshold : float in [0, 1]
        Minimum top probability for a decision; below, a rejection.
    input_rate_hz : int or None (Hz)
        Rate of the blocks given to :meth:`feed`; resampled if it differs from ``sample_rate_hz``.
    initial_floor_dbfs : float or None (dBFS)
        Initial noise floor (files); None: estimated during a warm-up (live input).
    config : SegmenterConfig, optional
        Segmenter settings; defaults from :mod:`realtime.constants`.
    min_digit_speech_ms : float >= 0, mapping label -> float, or None (ms)
        Digits of shorter utterances are rejected (:func:`decide`): one value for every digit
        (0: no gate), one per label, or None: :data:`realtime.constants.MIN_DIGIT_SPEECH_MS`.
    read_string : callable or None
        The digit-string model (:meth:`realtime.strings.StringReader.read`): utterances with more
        than ``string_min_speech_ms`` of speech are read whole by it; its decision stands if it
        accepts two digits or more (:func:`string_accepted`), or if the utterance is longer than the
        window classifier takes (:data:`realtime.constants.MAX_SPEECH_MS`); otherwise the window
        classifier decides, as without a string model.
    string_min_speech_ms : float >= 0 (ms)
        The route to ``read_string``.
    string_threshold : float in [0, 1] or None
        A string is accepted if its least sure digit's confidence is at least this (None: always).
    string_min_digits_per_s : float >= 0 (1/s)
        ... and if it holds at least this many digits per second of the utterance's speech: a digit
        string is digits from end to end, while a false digit in a sentence sits among seconds of
        other words (:func:`string_accepted`).
    string_max_speech_ms : float or None (ms)
        With ``read_string`` and no ``config``: the segmenter keeps utterances up to this long
        (default :data:`realtime.constants.STRING_MAX_SPEECH_MS`) instead of dropping those over
        :data:`realtime.constants.MAX_SPEECH_MS`.
    string_hangover_ms : float or None (ms)
        With ``read_string`` and no ``config``: an utterance ends after this much time without speech
        (default :data:`realtime.constants.HANGOVER_MS`): longer joins digits said with short pauses
        into one string, at the cost of latency.
    string_confirm_threshold : float in [0, 1] or None
        With ``read_string``: a digit the window classifier puts on top with at least this probability
        (and not rejected by the length gate) is *confirmed* if the string model reads the utterance as
        that one digit, and then accepted even under ``threshold`` (:attr:`Decision.confirmed`). Two
        models that hear the same digit in different ways (one 0.8 s window, one utterance with CTC)
        rarely agree on the same false digit: a cascade of a detector and a verifier, as keyword
        spotters confirm a first stage's unsure hits. None: no confirmation.
    string_confirm_string_threshold : float in [0, 1]
        ... the string model's confidence in that digit must be at least this.
    string_veto_threshold : float in [0, 1] or None
        With ``read_string``: a digit the window classifier accepts (at or over ``threshold``, not
        confirmed) is *vetoed*, rejected as ``_unknown_`` (:attr:`Decision.vetoed`), if the string
        model's highest posterior of that digit over the whole utterance
        (:meth:`realtime.strings.StringReading.peak`) is under this: the utterance model did not hear
        that digit anywhere. The window classifier sees 0.8 s of a word and is sometimes sure of a digit
        in ordinary speech; the string model, trained on sentences as empty targets, reads the whole
        utterance. None: no veto.
    string_veto_min_peak_over_floor_db : float (dB)
        ... only in utterances whose speech peaks at least this far above the noise floor
        (:attr:`realtime.segmenter.Utterance.peak_over_floor_db`): in babble and noise the string model
        misses real digits too, so it vetoes only where it is reliable. 0: everywhere.

    Raises
    ------
    ValueError
        If ``threshold`` is outside [0, 1] or a ``min_digit_speech_ms`` value is < 0.
    """

    def __init__(self, classify: ClassifyFn, *, sample_rate_hz: int, window_samples: int, labels: Sequence[str],
                 threshold: float = C.DEFAULT_THRESHOLD, input_rate_hz: int | None = None,
                 initial_floor_dbfs: float | None = None, config: SegmenterConfig | None = None,
                 min_digit_speech_ms: DigitGate | None = None, read_string: ReadStringFn | None = None,
                 string_min_speech_ms: float = C.STRING_MIN_SPEECH_MS, string_threshold: float | None = None,
                 string_max_speech_ms: float | None = None, string_hangover_ms: float | None = None,
                 string_min_digits_per_s: float = 0.0, string_confirm_threshold: float | None = None,
                 string_confirm_string_threshold: float = 0.0, string_veto_threshold: float | None = None,
                 string_veto_min_peak_over_floor_db: float = 0.0) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        for name, v in (("string_threshold", string_threshold), ("string_confirm_threshold", string_confirm_threshold),
                        ("string_confirm_string_threshold", string_confirm_string_threshold),
                        ("string_veto_threshold", string_veto_threshold)):
            if v is not None and not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        self.string_confirm_threshold = None if read_string is None else string_confirm_threshold
        self.string_confirm_string_threshold = float(string_confirm_string_threshold or 0.0)
        self.string_veto_threshold = None if read_string is None else string_veto_threshold
        self.string_veto_min_peak_over_floor_db = float(string_veto_min_peak_over_floor_db or 0.0)
        self.read_string = read_string
        self.string_min_speech_ms = float(string_min_speech_ms)
        self.string_threshold = string_threshold
        self.string_min_digits_per_s = float(string_min_digits_per_s or 0.0)
        gate = C.MIN_DIGIT_SPEECH_MS if min_digit_speech_ms is None else min_digit_speech_ms
        values = list(gate.values()) if isinstance(gate, Mapping) else [gate]
        if not all(float(v) >= 0.0 for v in values):
            raise ValueError(f"min_digit_speech_ms must be >= 0 ms, got {min_digit_speech_ms}")
        self.min_digit_speech_ms: DigitGate = dict(gate) if isinstance(gate, Mapping) else float(gate)
        self.classify = classify
        self.labels = tuple(str(x) for x in labels)
        self.threshold = float(threshold)
        self.sample_rate_hz = int(sample_rate_hz)
        self.input_rate_hz = int(input_rate_hz or sample_rate_hz)
        if config is None and read_string is not None:
            config = string_segmenter_config(self.sample_rate_hz, int(window_samples), string_max_speech_ms,
                                             hangover_ms=float(string_hangover_ms or C.HANGOVER_MS))
        cfg = config or SegmenterConfig(sample_rate_hz=self.sample_rate_hz, window_samples=int(window_samples))
        if cfg.sample_rate_hz != self.sample_rate_hz or cfg.window_samples != int(window_samples):
            raise ValueError("config.sample_rate_hz / window_samples differ from the classifier's")
        self.segmenter = Segmenter(cfg, initial_floor_dbfs=initial_floor_dbfs)
        self._resampler = StreamResampler(self.input_rate_hz, self.sample_rate_hz)
        self.clock = ArrivalClock(self.input_rate_hz)
        self._finished = False

    def feed(self, block: np.ndarray, arrival_time: float | None = None) -> list[Decision]:
        """Process the next block of the stream.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), float32]
            Mono samples at ``input_rate_hz``, any ``n``.
        arrival_time : float or None (s, ``time.monotonic()``)
            When the block's last sample arrived; enables ``latency_ms``.

        Returns
        -------
        decisions : list of Decision
            One per utterance that ended in this block, in order.
        """
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        if arrival_time is not None:
            self.clock.add(block.shape[0], arrival_time)
        return self._decide(self.segmenter.push(self._resampler.process(block)), live=arrival_time is not None)

    def finish(self) -> list[Decision]:
        """End of the stream: drain the resampler and close an open utterance."""
        if self._finished:
            return []
        self._finished = True
        tail = self.segmenter.push(self._resampler.process(np.zeros(0, np.float32), last=True))
        return self._decide(tail + self.segmenter.flush(), live=False)

    def _decide(self, utterances: list[Utterance], *, live: bool) -> list[Decision]:
        out = []
        max_window_ms = C.MAX_SPEECH_MS  # the longest utterance the window classifier decides
        for u in utterances:
            reading, from_string = None, False
            if self.read_string is not None and u.audio is not None and u.speech_ms > self.string_min_speech_ms:
                reading = self.read_string(u.audio)
                conf = float(reading.confidence)
                ok = string_accepted(reading.digits, conf, u.speech_ms, threshold=self.string_threshold,
                                     min_digits_per_s=self.string_min_digits_per_s)
                # The string model claims the utterance if it accepts two digits or more, or if the utterance
                # is too long for the window classifier; else the classifier decides, as without it.
                from_string = (ok and len(reading.digits) >= 2) or u.speech_ms > max_window_ms
            if from_string:
                probs = np.zeros(0, np.float32)
                top = reading.digits or UNKNOWN_LABEL
                label, too_short = (top if ok else UNKNOWN_LABEL), False
            confirmed = vetoed = False
            if not from_string:
                probs = np.asarray(self.classify(u.window), dtype=np.float32).reshape(-1)
                label, top, conf = decide(probs, self.labels, self.threshold, speech_ms=u.speech_ms,
                                          min_digit_speech_ms=self.min_digit_speech_ms,
                                          steady_noise=u.in_steady_noise)
                too_short = label != top and top not in REJECT_LABELS and conf >= self.threshold
                if self._may_confirm(u, top, conf):
                    reading = reading if reading is not None else self.read_string(u.audio)
                    confirmed = (reading.digits == top
                                 and float(reading.confidence) >= self.string_confirm_string_threshold)
                    if confirmed:
                        label = top
                if (self.string_veto_threshold is not None and u.audio is not None and not confirmed and label == top
                        and label.isdigit() and self._quiet_enough(u)):
                    reading = reading if reading is not None else self.read_string(u.audio)
                    peak = reading.peak(top)
                    if peak is not None and peak < self.string_veto_threshold:
                        label, vetoed = UNKNOWN_LABEL, True
            latency = None
            if live:
                # The utterance's last sample, as an index of the input (capture-rate) stream.
                t_end = self.clock.time_of(u.end_sample * self.input_rate_hz / self.sample_rate_hz)
                if t_end is not None:
                    latency = (time.monotonic() - t_end) * 1000.0
            out.append(Decision(u, probs, label, top, conf, latency, too_short, reading, from_string, confirmed,
                                vetoed))
        return out

    def _quiet_enough(self, u: Utterance) -> bool:
        """The string model may veto in this utterance: no level gate, or its speech peaks at least
        ``string_veto_min_peak_over_floor_db`` over the floor (an unknown level: no)."""
        gate = self.string_veto_min_peak_over_floor_db
        return gate <= 0.0 or u.peak_over_floor_db >= gate

    def _may_confirm(self, u: Utterance, top: str, conf: float) -> bool:
        """The string model is asked to confirm a window decision: a digit on top with at least
        ``string_confirm_threshold`` (at or over the threshold too, so that a decision says whether
        both models agree), not rejected by the length gate."""
        if self.string_confirm_threshold is None or u.audio is None or top in REJECT_LABELS:
            return False
        if conf < self.string_confirm_threshold:
            return False
        return u.in_steady_noise or u.speech_ms >= gate_of(self.min_digit_speech_ms, top)

    # -- state for a display ---------------------------------------------------
    @property
    def level_dbfs(self) -> float:
        return self.segmenter.level_dbfs

    @property
    def in_speech(self) -> bool:
        return self.segmenter.in_speech

    @property
    def warming_up(self) -> bool:
        return self.segmenter.warming_up


def run_blocks(recognizer: Recognizer, blocks: Iterable[np.ndarray]) -> Iterator[Decision]:
    """Feed every block, then finish; yields the decisions in order."""
    for block in blocks:
        yield from recognizer.feed(block)
    yield from recognizer.finish()


def iter_blocks(samples: np.ndarray, block_samples: int) -> Iterator[np.ndarray]:
    """Split a signal into consecutive blocks of ``block_samples`` (the last may be shorter)."""
    if block_samples <= 0:
        raise ValueError(f"block_samples must be > 0, got {block_samples}")
    for i in range(0, samples.shape[0], block_samples):
        yield samples[i: i + block_samples]


def file_noise_floor_dbfs(samples: np.ndarray, sample_rate_hz: int) -> float:
    """Initial noise floor of a recording known in advance.

    The :data:`~realtime.constants.INITIAL_FLOOR_PERCENTILE` of the frame levels over
    its first :data:`~realtime.constants.FILE_FLOOR_ESTIMATE_S`, but at least
    :data:`~realtime.constants.FILE_FLOOR_BELOW_PEAK_DB` below its loudest frame:
    a trimmed clip (FSDD) is speech from end to end and has no noise to measure.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float32]
    sample_rate_hz : int (Hz)

    Returns
    -------
    floor_dbfs : float (dBFS)
        At least :data:`~realtime.constants.MIN_NOISE_FLOOR_DBFS`.
    """
    head = samples[: int(C.FILE_FLOOR_ESTIMATE_S * sample_rate_hz)]
    if samples.shape[0] >= C.TRIMMED_FILE_MAX_S * sample_rate_hz:
        # a recording with noise around its speech: measure it as the live floor tracker would
        cfg = SegmenterConfig(sample_rate_hz=sample_rate_hz, window_samples=1,
                              initial_floor_percentile=C.NOISE_FLOOR_HISTORY_PERCENTILE)
        est = estimate_noise_floor_dbfs(head, sample_rate_hz, config=cfg)
        return C.MIN_NOISE_FLOOR_DBFS if est is None else est
    est = estimate_noise_floor_dbfs(head, sample_rate_hz)
    if est is None:
        return C.MIN_NOISE_FLOOR_DBFS
    frame = max(1, int(round(sample_rate_hz * C.FRAME_MS / 1000.0)))
    peak = float(frame_levels_dbfs(samples, frame).max())
    return max(min(est, peak - C.FILE_FLOOR_BELOW_PEAK_DB), C.MIN_NOISE_FLOOR_DBFS)


def recognize_samples(samples: np.ndarray, sample_rate_hz: int, classify: ClassifyFn, *, model_rate_hz: int,
                      window_samples: int, labels: Sequence[str], threshold: float = C.DEFAULT_THRESHOLD,
                      block_samples: int = 4096, min_digit_speech_ms: DigitGate | None = None,
                      **string_options) -> list[Decision]:
    """Recognize the digits in a recording known in advance (the ``recognize`` path).

    The recording is streamed through the same :class:`Recognizer` as the
    microphone, with two differences that only a file allows: it is resampled at
    once (exactly as ``librosa.load`` in the trainer), and the initial noise floor is
    estimated from the recording itself (:func:`file_noise_floor_dbfs`: FSDD clips
    start with speech, leaving no time for a warm-up). The end of the file ends
    its last utterance.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float32]
        Mono audio in [-1, 1] at ``sample_rate_hz``.
    sample_rate_hz : int (Hz)
    classify, model_rate_hz, window_samples, labels, threshold, min_digit_speech_ms
        See :class:`Recognizer` (``model_rate_hz`` is its ``sample_rate_hz``).
    block_samples : int > 0
        Block size used to stream the recording, at ``model_rate_hz`` (decisions do not depend on it).
    **string_options
        ``read_string``, ``string_min_speech_ms``, ``string_threshold``, ``string_max_speech_ms``,
        ``string_hangover_ms``, ``string_min_digits_per_s``, ``string_confirm_threshold``,
        ``string_confirm_string_threshold``, ``string_veto_threshold``, ``string_veto_min_peak_over_floor_db``
        of :class:`Recognizer` (the digit-string model).

    Returns
    -------
    decisions : list of Decision
        In the order spoken.
    """
    # Resampled at once, as librosa.load does: the same samples as in training, without the
    # resampler's ringing past the end of the file that a stream would keep.
    x = resample(np.asarray(samples, dtype=np.float32).reshape(-1), sample_rate_hz, model_rate_hz)
    rec = Recognizer(classify, sample_rate_hz=model_rate_hz, window_samples=window_samples, labels=labels,
                     threshold=threshold, initial_floor_dbfs=file_noise_floor_dbfs(x, model_rate_hz),
                     min_digit_speech_ms=min_digit_speech_ms, **string_options)
    return list(run_blocks(rec, iter_blocks(x, block_samples)))


def recognize_file(path, classify: ClassifyFn, *, model_rate_hz: int, window_samples: int, labels: Sequence[str],
                   threshold: float = C.DEFAULT_THRESHOLD,
                   min_digit_speech_ms: DigitGate | None = None, **string_options) -> list[Decision]:
    """Read a WAV file (any rate, channels, bit depth) and recognize its digits.

    Raises
    ------
    AudioInputError
        If the file is missing, unreadable or empty.

    See Also
    --------
    recognize_samples
    """
    samples, rate = read_wav(path)
    return recognize_samples(samples, rate, classify, model_rate_hz=model_rate_hz, window_samples=window_samples,
                             labels=labels, threshold=threshold, min_digit_speech_ms=min_digit_speech_ms,
                             **string_options)
