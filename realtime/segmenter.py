"""Streaming speech segmenter: finds each spoken digit and cuts its 0.8 s window.

An energy detector with an adaptive noise floor, run on fixed frames of
:data:`~realtime.constants.FRAME_MS` whatever the size of the incoming blocks,
so its decisions are independent of the capture block size:

* every frame's level (dBFS, mean removed) is compared with a noise floor that
  falls fast towards quieter frames and climbs slowly towards louder ones;
* a frame :data:`~realtime.constants.ONSET_DB` above the floor starts an
  utterance; frames :data:`~realtime.constants.OFFSET_DB` above it are active
  speech, also those just before the onset (look-back); :data:`~realtime.constants.HANGOVER_MS`
  without an active frame ends it;
* utterances with too little active speech (clicks) or too long (steady noise)
  are dropped;
* the window starts :data:`~realtime.constants.PRE_ROLL_MS` before the first
  active frame, left-aligned and zero-padded at the end, exactly as the trainer
  pads a clip (``librosa.util.fix_length``);
* an utterance longer than the window (a digit with babble or noise run into it)
  gets the window of most energy inside it instead of its first 0.8 s: the
  speech of the talker nearest the microphone, not the noise that opened it.

The audio is kept in a preallocated ring buffer; nothing grows with the stream.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import constants as C

#: Added to the mean square before the log, so that digital silence has a finite level (power, FS^2).
_POWER_EPS = 1e-12


@dataclass(frozen=True)
class SegmenterConfig:
    """Settings of :class:`Segmenter`; defaults come from :mod:`realtime.constants`.

    Parameters
    ----------
    sample_rate_hz : int > 0 (Hz)
        Rate of the audio given to the segmenter (the bundle's rate).
    window_samples : int > 0 (samples)
        Length of the classifier window (17,640 = 0.8 s at 22,050 Hz).
    frame_ms, hangover_ms, min_speech_ms, max_speech_ms, pre_roll_ms, post_roll_ms, warmup_ms : float (ms)
    onset_lookback_ms, onset_lookback_gap_ms : float (ms)
        See :mod:`realtime.constants`.
    onset_db, offset_db : float (dB above the noise floor)
    min_noise_floor_dbfs : float (dBFS)
    floor_fall_time_constant_ms : float > 0 (ms)
    floor_rise_db_per_s, floor_rise_in_noise_db_per_s : float >= 0 (dB/s)
    initial_floor_percentile : float in [0, 100]
    floor_history_percentile : float in [0, 100]; floor_history_ms : float >= 0 (ms, 0 = off)
        The floor is at least this percentile of the levels of the last ``floor_history_ms``.
    hold_history_floor_in_speech : bool
        Within an utterance (up to ``max_speech_ms``), the history percentile keeps the value it
        had at the onset (the levels are still recorded): a string of digits said without pauses
        fills most of ``floor_history_ms`` with speech, and the percentile would climb into it and
        cut the string. On with a digit-string model; off for the window classifier alone.
    """

    sample_rate_hz: int
    window_samples: int
    frame_ms: float = C.FRAME_MS
    onset_db: float = C.ONSET_DB
    offset_db: float = C.OFFSET_DB
    hangover_ms: float = C.HANGOVER_MS
    min_speech_ms: float = C.MIN_SPEECH_MS
    max_speech_ms: float = C.MAX_SPEECH_MS
    pre_roll_ms: float = C.PRE_ROLL_MS
    post_roll_ms: float = C.POST_ROLL_MS
    onset_lookback_ms: float = C.ONSET_LOOKBACK_MS
    onset_lookback_gap_ms: float = C.ONSET_LOOKBACK_GAP_MS
    warmup_ms: float = C.WARMUP_MS
    min_noise_floor_dbfs: float = C.MIN_NOISE_FLOOR_DBFS
    floor_fall_time_constant_ms: float = C.NOISE_FLOOR_FALL_TIME_CONSTANT_MS
    floor_rise_db_per_s: float = C.NOISE_FLOOR_RISE_DB_PER_S
    floor_rise_in_noise_db_per_s: float = C.NOISE_FLOOR_RISE_IN_NOISE_DB_PER_S
    initial_floor_percentile: float = C.INITIAL_FLOOR_PERCENTILE
    floor_history_percentile: float = C.NOISE_FLOOR_HISTORY_PERCENTILE
    floor_history_ms: float = C.NOISE_FLOOR_HISTORY_MS
    hold_history_floor_in_speech: bool = False

    def __post_init__(self) -> None:
        if self.sample_rate_hz <= 0 or self.window_samples <= 0:
            raise ValueError(
                f"sample_rate_hz and window_samples must be > 0, got {self.sample_rate_hz}, {self.window_samples}"
            )
        if self.frame_samples < 1:
            raise ValueError(f"frame_ms={self.frame_ms} gives frames of < 1 sample at {self.sample_rate_hz} Hz")
        if not self.onset_db >= self.offset_db >= 0:
            raise ValueError(f"need onset_db >= offset_db >= 0, got {self.onset_db}, {self.offset_db}")
        if self.floor_fall_time_constant_ms <= 0:
            raise ValueError(f"floor_fall_time_constant_ms must be > 0, got {self.floor_fall_time_constant_ms}")
        for name in ("initial_floor_percentile", "floor_history_percentile"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be in [0, 100], got {getattr(self, name)}")
        for name in ("hangover_ms", "min_speech_ms", "max_speech_ms", "pre_roll_ms", "post_roll_ms", "warmup_ms",
                     "onset_lookback_ms", "onset_lookback_gap_ms", "floor_history_ms",
                     "floor_rise_db_per_s", "floor_rise_in_noise_db_per_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def _frames(self, ms: float) -> int:
        return int(math.ceil(ms / self.frame_ms - 1e-9))

    @property
    def frame_samples(self) -> int:
        """Samples per analysis frame (220 at 22,050 Hz and 10 ms)."""
        return int(round(self.sample_rate_hz * self.frame_ms / 1000.0))

    @property
    def hangover_frames(self) -> int:
        return max(1, self._frames(self.hangover_ms))

    @property
    def min_speech_frames(self) -> int:
        return self._frames(self.min_speech_ms)

    @property
    def max_speech_frames(self) -> int:
        return max(1, self._frames(self.max_speech_ms))

    @property
    def onset_lookback_frames(self) -> int:
        return self._frames(self.onset_lookback_ms)

    @property
    def onset_lookback_gap_frames(self) -> int:
        return self._frames(self.onset_lookback_gap_ms)

    @property
    def floor_history_frames(self) -> int:
        return self._frames(self.floor_history_ms)

    @property
    def warmup_frames(self) -> int:
        return self._frames(self.warmup_ms)

    @property
    def pre_roll_samples(self) -> int:
        return int(round(self.pre_roll_ms * self.sample_rate_hz / 1000.0))

    @property
    def post_roll_samples(self) -> int:
        return int(round(self.post_roll_ms * self.sample_rate_hz / 1000.0))


@dataclass(frozen=True)
class Utterance:
    """One detected utterance and its classifier window.

    Sample indices count from the first sample given to the segmenter, at
    ``sample_rate_hz``.

    Attributes
    ----------
    start_sample : int
        First sample of the window: the first active frame minus the pre-roll, or, for an
        utterance longer than the window, the start of its loudest window.
    speech_start_sample : int
        First sample of the first active frame.
    end_sample : int
        One past the last sample of the last active frame: the end of the utterance.
    detected_at_sample : int
        Stream position at which the segmenter closed the utterance (end + hangover).
    window : np.ndarray [shape=(window_samples,), dtype=float32]
        ``stream[start_sample : start_sample + n_samples]`` followed by zeros.
    n_samples : int
        Real samples at the start of ``window``; the rest is zero padding.
    active_ms : float (ms)
        Active speech in the utterance.
    sample_rate_hz : int (Hz)
    peak_dbfs : float (dBFS)
        Level of the loudest frame of the speech.
    floor_dbfs : float (dBFS)
        The noise floor when the utterance ended.
    background_dbfs : float (dBFS)
        10th percentile of the frame levels of the floor history (the last
        :data:`~realtime.constants.NOISE_FLOOR_HISTORY_MS`, this utterance included) when it ended:
        the quiet tenth of the recent audio. Digital silence gives about -120 dBFS.
    background_spread_db : float (dB)
        25th minus 10th percentile of the same levels: under 1-2 dB in a steady noise, several dB
        in babble, more in running speech (its pauses). NaN (with ``background_dbfs``) without a
        floor history.
    audio : np.ndarray [shape=(m,), dtype=float32] or None
        The whole utterance, pre-roll to post-roll (``window`` holds its loudest
        ``window_samples`` when it is longer): what the digit-string model reads.
    audio_start_sample : int
        Stream index of ``audio[0]``.
    """

    start_sample: int
    speech_start_sample: int
    end_sample: int
    detected_at_sample: int
    window: np.ndarray = field(repr=False)
    n_samples: int
    active_ms: float
    sample_rate_hz: int
    peak_dbfs: float = math.nan
    floor_dbfs: float = math.nan
    background_dbfs: float = math.nan
    background_spread_db: float = math.nan
    audio: np.ndarray | None = field(default=None, repr=False)
    audio_start_sample: int = 0

    @property
    def start_s(self) -> float:
        """Start of the window in the stream (s)."""
        return self.start_sample / self.sample_rate_hz

    @property
    def end_s(self) -> float:
        """End of the utterance in the stream (s)."""
        return self.end_sample / self.sample_rate_hz

    @property
    def speech_ms(self) -> float:
        """Speech length (ms): from the first to the end of the last active frame, pauses inside included."""
        return (self.end_sample - self.speech_start_sample) * 1000.0 / self.sample_rate_hz

    @property
    def peak_over_floor_db(self) -> float:
        """How far (dB) the loudest frame of the speech stood above the noise floor: a peak SNR (NaN if
        unknown)."""
        return self.peak_dbfs - self.floor_dbfs

    @property
    def in_steady_noise(self) -> bool:
        """True if the utterance was heard in a steady noise loud enough to eat its weak edges.

        All three: the quiet tenth of the recent audio (:attr:`background_dbfs`) is a real noise, at
        or above :data:`~realtime.constants.MIN_NOISE_FLOOR_DBFS` (not digital silence); its levels
        are steady (:attr:`background_spread_db` under
        :data:`~realtime.constants.STEADY_NOISE_MAX_SPREAD_DB`: not babble, not the pauses of
        running speech); and the speech peaks less than
        :data:`~realtime.constants.STEADY_NOISE_MAX_PEAK_OVER_FLOOR_DB` above the floor. The digit
        length gate does not apply then (:func:`realtime.pipeline.decide`). False if unknown (NaN).
        """
        return is_steady_noise(self.background_dbfs, self.background_spread_db, self.peak_over_floor_db)

    @property
    def mask(self) -> np.ndarray:
        """``True`` on real samples, ``False`` on padding: shape ``(window_samples,)``, bool."""
        m = np.zeros(self.window.shape[0], dtype=bool)
        m[: self.n_samples] = True
        return m


def is_steady_noise(background_dbfs: float, background_spread_db: float, peak_over_floor_db: float, *,
                    max_spread_db: float = C.STEADY_NOISE_MAX_SPREAD_DB,
                    max_peak_over_floor_db: float = C.STEADY_NOISE_MAX_PEAK_OVER_FLOOR_DB) -> bool:
    """The rule of :attr:`Utterance.in_steady_noise`, with its limits as arguments (``python -m
    trainer.benchmarks.gate`` tries others): ``background_dbfs`` (dBFS) at or above
    :data:`~realtime.constants.MIN_NOISE_FLOOR_DBFS`, ``background_spread_db`` (dB) under
    ``max_spread_db`` and ``peak_over_floor_db`` (dB) under ``max_peak_over_floor_db``. NaN: False."""
    return bool(background_dbfs >= C.MIN_NOISE_FLOOR_DBFS and background_spread_db < max_spread_db
                and peak_over_floor_db < max_peak_over_floor_db)


def frame_levels_dbfs(samples: np.ndarray, frame_samples: int) -> np.ndarray:
    """Level of each complete frame: mean-removed power in dB relative to full scale.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float]
        Mono audio in [-1, 1].
    frame_samples : int > 0
        Samples per frame; a trailing incomplete frame is ignored.

    Returns
    -------
    levels : np.ndarray [shape=(n // frame_samples,), dtype=float64] (dBFS)
        ``10 log10(mean((x - mean(x))^2) + 1e-12)`` per frame (>= -120 dBFS).
    """
    n = samples.shape[0] // frame_samples
    if n == 0:
        return np.zeros(0)
    frames = np.asarray(samples[: n * frame_samples], dtype=np.float64).reshape(n, frame_samples)
    power = frames.var(axis=1)
    return 10.0 * np.log10(power + _POWER_EPS)


def estimate_noise_floor_dbfs(samples: np.ndarray, sample_rate_hz: int, *,
                              config: SegmenterConfig | None = None) -> float | None:
    """Initial noise floor for a recording known in advance (a file).

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float]
        Mono audio in [-1, 1], at ``sample_rate_hz``.
    sample_rate_hz : int > 0 (Hz)
    config : SegmenterConfig, optional
        Gives the frame length, the percentile and the lowest floor.

    Returns
    -------
    floor_dbfs : float or None (dBFS)
        The ``initial_floor_percentile`` of the frame levels, at least
        ``min_noise_floor_dbfs``; ``None`` if the audio is shorter than one frame.
    """
    cfg = config or SegmenterConfig(sample_rate_hz=sample_rate_hz, window_samples=1)
    frame = max(1, int(round(sample_rate_hz * cfg.frame_ms / 1000.0)))
    levels = frame_levels_dbfs(np.asarray(samples), frame)
    if levels.size == 0:
        return None
    return max(float(np.percentile(levels, cfg.initial_floor_percentile)), cfg.min_noise_floor_dbfs)


def loudest_window_offset(span: np.ndarray, window_samples: int, step_samples: int) -> int:
    """Where the ``window_samples`` of most energy start in ``span``.

    Candidate starts are every ``step_samples`` from 0, and the last possible start;
    of equal windows the earliest wins. Energy is the sum of squares after removing the
    span's mean (a DC offset adds nothing).

    Parameters
    ----------
    span : np.ndarray [shape=(n,), dtype=float32]
        Audio of one utterance, ``n >= window_samples``.
    window_samples : int > 0
    step_samples : int > 0
        Resolution of the search (the segmenter's frame, 10 ms).

    Returns
    -------
    offset : int in [0, n - window_samples]

    Raises
    ------
    ValueError
        If ``span`` is shorter than ``window_samples``, or a length is < 1.
    """
    n = int(span.shape[0])
    if window_samples < 1 or step_samples < 1 or n < window_samples:
        raise ValueError(f"need a span of >= window_samples >= 1 samples and step_samples >= 1, "
                         f"got {n}, {window_samples}, {step_samples}")
    x = span.astype(np.float64) - float(np.mean(span, dtype=np.float64))
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    starts = np.unique(np.append(np.arange(0, n - window_samples + 1, step_samples), n - window_samples))
    totals = energy[starts + window_samples] - energy[starts]
    return int(starts[int(np.argmax(totals))])


class Segmenter:
    """Streaming utterance detector; feed it audio with :meth:`push`.

    Parameters
    ----------
    config : SegmenterConfig
    initial_floor_dbfs : float or None (dBFS)
        Start with this noise floor (for files, see :func:`estimate_noise_floor_dbfs`).
        ``None`` (live input): the first ``warmup_ms`` of audio only estimate the floor.

    Notes
    -----
    The state a display may read: :attr:`level_dbfs` (last frame),
    :attr:`noise_floor_dbfs`, :attr:`in_speech`, :attr:`samples_seen`.
    """

    #: Audio is analysed in chunks of at most this many frames (bounds the ring buffer).
    _CHUNK_FRAMES = 16

    def __init__(self, config: SegmenterConfig, *, initial_floor_dbfs: float | None = None) -> None:
        self.config = cfg = config
        self._frame = cfg.frame_samples
        # The ring must hold a whole valid utterance at close time, plus one chunk being analysed.
        need = (cfg.pre_roll_samples + (cfg.max_speech_frames + cfg.hangover_frames + 3) * self._frame
                + self._CHUNK_FRAMES * self._frame)
        self._ring = np.zeros(need, dtype=np.float32)
        self._partial = np.zeros(self._frame, dtype=np.float32)
        self._n_partial = 0
        self.samples_seen = 0
        self._frames_seen = 0
        self._fall = 1.0 - math.exp(-cfg.frame_ms / cfg.floor_fall_time_constant_ms)
        self._rise = cfg.floor_rise_db_per_s * cfg.frame_ms / 1000.0
        self._rise_noise = cfg.floor_rise_in_noise_db_per_s * cfg.frame_ms / 1000.0
        self._warmup: list[float] | None = None
        if initial_floor_dbfs is None and cfg.warmup_frames > 0:
            self._warmup = []
            self.noise_floor_dbfs = cfg.min_noise_floor_dbfs
        else:
            floor = cfg.min_noise_floor_dbfs if initial_floor_dbfs is None else initial_floor_dbfs
            self.noise_floor_dbfs = max(float(floor), cfg.min_noise_floor_dbfs)
        self.level_dbfs = -120.0
        #: The fast-falling, slowly rising tracker; ``noise_floor_dbfs`` is at least the history percentile too.
        self._tracked_floor = self.noise_floor_dbfs
        self._history: deque[float] = deque(maxlen=max(1, cfg.floor_history_frames))
        self._history_floor = -math.inf
        #: Levels of the frames before the current one (dBFS), newest last, for the onset look-back.
        self._recent: deque[float] = deque(maxlen=max(1, cfg.onset_lookback_frames))
        self.in_speech = False
        self._speech_start = 0  # frame index
        self._last_active = 0  # frame index
        self._active = 0  # active frames in the current utterance
        self._peak = -math.inf  # loudest frame of the current utterance (dBFS)

    # -- public --------------------------------------------------------------
    @property
    def warming_up(self) -> bool:
        """True while the first frames only estimate the noise floor."""
        return self._warmup is not None

    def push(self, samples: np.ndarray) -> list[Utterance]:
        """Analyse the next samples of the stream.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,), float32]
            The next mono samples at ``config.sample_rate_hz``, in [-1, 1]; any ``n >= 0``.

        Returns
        -------
        utterances : list of Utterance
            The utterances that ended in these samples, in order (often empty).

        Raises
        ------
        ValueError
            If ``samples`` is not one-dimensional.
        """
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"expected mono samples of shape (n,), got shape {x.shape}")
        out: list[Utterance] = []
        step = self._CHUNK_FRAMES * self._frame
        for i in range(0, x.shape[0], step):
            self._push_chunk(x[i: i + step], out)
        return out

    def flush(self) -> list[Utterance]:
        """End of the stream: close an utterance still open, as if silence followed.

        Its window may keep the stream's last samples, up to the post-roll.

        Returns
        -------
        utterances : list of Utterance
            Zero or one utterance.
        """
        out: list[Utterance] = []
        if self.in_speech:
            self._close(self._frames_seen, out, available=self.samples_seen)
        return out

    # -- internals -------------------------------------------------------------
    def _write_ring(self, x: np.ndarray) -> None:
        n = x.shape[0]
        size = self._ring.shape[0]
        pos = self.samples_seen % size
        first = min(n, size - pos)
        self._ring[pos: pos + first] = x[:first]
        if first < n:
            self._ring[: n - first] = x[first:]
        self.samples_seen += n

    def _read_ring(self, start: int, n: int, out: np.ndarray) -> None:
        size = self._ring.shape[0]
        pos = start % size
        first = min(n, size - pos)
        out[:first] = self._ring[pos: pos + first]
        if first < n:
            out[first:n] = self._ring[: n - first]

    def _push_chunk(self, x: np.ndarray, out: list[Utterance]) -> None:
        self._write_ring(x)
        f = self._frame
        if self._n_partial:
            take = min(f - self._n_partial, x.shape[0])
            self._partial[self._n_partial: self._n_partial + take] = x[:take]
            self._n_partial += take
            x = x[take:]
            if self._n_partial < f:
                return
            self._frame_step(float(frame_levels_dbfs(self._partial, f)[0]), out)
            self._n_partial = 0
        n_full = x.shape[0] // f
        for level in frame_levels_dbfs(x, f):
            self._frame_step(float(level), out)
        rest = x[n_full * f:]
        self._partial[: rest.shape[0]] = rest
        self._n_partial = rest.shape[0]

    def _update_floor(self, level: float, rise: float) -> None:
        floor = self._tracked_floor
        if level < floor:
            floor += (level - floor) * self._fall
        else:
            floor += min(level - floor, rise)
        self._tracked_floor = max(floor, self.config.min_noise_floor_dbfs)
        self.noise_floor_dbfs = max(self._tracked_floor, self._history_floor)

    #: The history percentile is recomputed every this many frames (50 ms at 10 ms frames).
    _HISTORY_EVERY = 5

    def _update_history(self, k: int, level: float) -> None:
        cfg = self.config
        if cfg.floor_history_ms <= 0:
            return
        self._history.append(level)
        if (cfg.hold_history_floor_in_speech and self.in_speech
                and self._last_active - self._speech_start + 1 <= cfg.max_speech_frames):
            return
        if k % self._HISTORY_EVERY == 0 and len(self._history) * 2 >= self._history.maxlen:
            self._history_floor = float(np.percentile(self._history, cfg.floor_history_percentile))
            self.noise_floor_dbfs = max(self._tracked_floor, self._history_floor)

    def _frame_step(self, level: float, out: list[Utterance]) -> None:
        cfg = self.config
        k = self._frames_seen  # index of this frame
        self._frames_seen += 1
        self.level_dbfs = level
        if self._warmup is not None:
            self._warmup.append(level)
            self._history.append(level)
            if len(self._warmup) >= cfg.warmup_frames:
                floor = float(np.percentile(self._warmup, cfg.initial_floor_percentile))
                self.noise_floor_dbfs = self._tracked_floor = max(floor, cfg.min_noise_floor_dbfs)
                self._warmup = None
            return
        self._update_history(k, level)
        if not self.in_speech:
            if level > self.noise_floor_dbfs + cfg.onset_db:
                self.in_speech = True
                self._speech_start = self._last_active = k
                self._active = 1
                self._peak = level
                self._look_back(k)
            else:
                self._update_floor(level, self._rise)
                self._recent.append(level)
            return
        if level > self.noise_floor_dbfs + cfg.offset_db:
            self._last_active = k
            self._active += 1
            self._peak = max(self._peak, level)
        too_long = self._last_active - self._speech_start + 1 > cfg.max_speech_frames
        self._update_floor(level, self._rise_noise if too_long else self._rise)
        if k - self._last_active >= cfg.hangover_frames:
            self._close(k + 1, out)

    def _look_back(self, k: int) -> None:
        """Move the start of the utterance that begins at frame ``k`` back over the quieter
        frames just before it that are already active (above floor + offset_db): a plosive's
        burst and aspiration ("two") often stay below the onset threshold."""
        cfg = self.config
        threshold = self.noise_floor_dbfs + cfg.offset_db
        gap = 0
        for back, level in enumerate(reversed(self._recent), start=1):
            if level > threshold:
                self._speech_start = k - back
                self._active += 1 + gap  # a short gap inside speech counts as speech
                gap = 0
            else:
                gap += 1
                if gap > cfg.onset_lookback_gap_frames:
                    break
        self._recent.clear()

    def _close(self, detected_frame: int, out: list[Utterance], available: int | None = None) -> None:
        cfg = self.config
        f = self._frame
        self.in_speech = False
        speech_frames = self._last_active - self._speech_start + 1
        if self._active < cfg.min_speech_frames or speech_frames > cfg.max_speech_frames:
            return
        speech_start = self._speech_start * f
        end = (self._last_active + 1) * f
        analysed = detected_frame * f
        # Never beyond the samples analysed (block-size invariance), except at the end of the
        # stream, where every sample given is final (the last incomplete frame counts).
        available = analysed if available is None else available
        start = max(speech_start - cfg.pre_roll_samples, 0)
        stop = min(end + cfg.post_roll_samples, available)
        window = np.zeros(cfg.window_samples, dtype=np.float32)
        audio_start = start
        if stop - start > cfg.window_samples:
            span = np.empty(stop - start, dtype=np.float32)
            self._read_ring(start, span.shape[0], span)
            offset = loudest_window_offset(span, cfg.window_samples, f)
            start += offset
            window[:] = span[offset: offset + cfg.window_samples]
            n = cfg.window_samples
        else:
            n = stop - start
            self._read_ring(start, n, window)
            span = window[:n].copy()
        if self._history:
            background, q25 = np.percentile(np.fromiter(self._history, np.float64, len(self._history)), [10.0, 25.0])
            spread = float(q25 - background)
        else:
            background = spread = math.nan
        out.append(Utterance(
            start_sample=start, speech_start_sample=speech_start, end_sample=end,
            detected_at_sample=analysed, window=window, n_samples=n,
            active_ms=self._active * cfg.frame_ms, sample_rate_hz=cfg.sample_rate_hz,
            peak_dbfs=float(self._peak), floor_dbfs=float(self.noise_floor_dbfs),
            background_dbfs=float(background), background_spread_db=spread,
            audio=span, audio_start_sample=audio_start,
        ))
