"""Read digit strings ("four one seven two" in one breath) from whole utterances: a bundle's CTC model.

The bundle's ``strings`` model (:class:`realtime.bundle.StringModelSpec`) takes the log-mel of a
whole utterance (:meth:`realtime.frontend.FrontEnd.log_mel_utterance`), padded with silence
(``-top_db``) to its fixed ``max_frames``, or, if its frames axis is open, resized to the
utterance's own frames (rounded up to the stride), and gives per-frame logits of the ten digits and the CTC
blank. The string is read off by best-path decoding (:func:`realtime.ctc.greedy_decode`); each digit
keeps its frames (times) and its confidence (the highest posterior of its run), the string its
least sure digit's confidence. A forward-only LSTM never lets the padding after the utterance
change what it says about the utterance; a bidirectional one (the bundle's ``recurrent``) reads the
padding first, so its bundles leave the frames axis open and get no more than a frame of padding.

numpy and a TFLite interpreter only (no TensorFlow, no librosa).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import constants as C
from .bundle import Bundle, load_bundle
from .classifier import dequantize, open_interpreter, quantize, softmax
from .ctc import CtcToken, greedy_decode, string_confidence
from .errors import BundleError
from .frontend import FrontEnd


@dataclass(frozen=True)
class StringReading:
    """What the string model heard in one utterance.

    Attributes
    ----------
    digits : str
        The decoded string (``"4172"``; ``""`` if every frame is blank).
    tokens : tuple of CtcToken
        One per digit, with its output frames and confidence.
    confidence : float in [0, 1]
        The lowest digit confidence (1.0 for an empty string).
    frame_s : float (s)
        Duration of one output frame (``hop_length * time_stride / sample_rate_hz``).
    truncated : bool
        The utterance was longer than the model's input; only its first ``max_frames`` frames were read.
    peaks : tuple of (str, float)
        Every label but the blank with its highest posterior over the utterance's frames (in [0, 1]):
        how much the model heard that digit anywhere, read or not (:meth:`peak`).
    """

    digits: str
    tokens: tuple[CtcToken, ...]
    confidence: float
    frame_s: float
    truncated: bool = False
    peaks: tuple[tuple[str, float], ...] = ()

    def peak(self, label: str) -> float | None:
        """The highest posterior of ``label`` over the utterance's frames (None: not one of the model's labels,
        or a reading made without posteriors)."""
        return next((p for name, p in self.peaks if name == label), None)

    def digit_times_s(self, offset_s: float = 0.0) -> list[tuple[float, float]]:
        """Start and end (s) of each digit's run of frames, from ``offset_s`` (the audio's start)."""
        return [t.times_s(self.frame_s, offset_s) for t in self.tokens]


def model_input(log_mel: np.ndarray, *, max_frames: int, time_stride: int, top_db: float,
                dynamic: bool) -> np.ndarray:
    """What the string model is given for one utterance's log-mel.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_mels, n), float]
        dB relative to the utterance's maximum (``-top_db .. 0``); frames past ``max_frames`` are cut.
    max_frames, time_stride : int >= 1
        The bundle's :class:`realtime.bundle.StringModelSpec` values.
    top_db : float (dB)
        Padding is ``-top_db`` (silence).
    dynamic : bool
        An open frames axis: padded up to a multiple of ``time_stride`` (the strided convolution
        places odd and even inputs differently), at most ``max_frames``; else padded to ``max_frames``.

    Returns
    -------
    x : np.ndarray [shape=(n_mels, width), float32]
    """
    k = min(log_mel.shape[1], max_frames)
    width = min(max_frames, -(-k // time_stride) * time_stride) if dynamic else max_frames
    x = np.full((log_mel.shape[0], width), -top_db, np.float32)
    x[:, :k] = log_mel[:, :k]
    return x


class StringReader:
    """A bundle's digit-string model, ready to read one utterance at a time.

    Parameters
    ----------
    bundle : Bundle or path
        A bundle with a ``strings`` model.
    num_threads : int >= 1
    interpreter : str or None
        As :class:`realtime.classifier.Classifier`.

    Attributes
    ----------
    spec : StringModelSpec
    max_samples : int
        Longest utterance read whole (samples at the bundle's rate).

    Raises
    ------
    BundleError
        If the bundle has no string model, or the model does not load or does not match its record.
    InterpreterMissingError
        If no TFLite interpreter is installed.
    """

    def __init__(self, bundle: Bundle | str | os.PathLike, *, num_threads: int = 1, interpreter: str | None = None):
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        if self.bundle.strings is None:
            raise BundleError(f"{self.bundle.json_path}: this bundle has no digit-string model "
                              "(export one with 'spoken-digits export-strings')")
        self.spec = spec = self.bundle.strings
        self.front_end = FrontEnd.from_bundle(self.bundle)
        fe = self.bundle.front_end
        self.sample_rate_hz = int(fe["sample_rate_hz"])
        self.top_db = float(fe["top_db"])
        self.frame_s = int(fe["hop_length"]) * spec.time_stride / self.sample_rate_hz
        self.max_samples = (spec.max_frames - 1) * int(fe["hop_length"])
        self.interpreter_name, self._interpreter, self._in, self._out = open_interpreter(
            spec.tflite_path, spec.input, spec.output, num_threads=num_threads, interpreter=interpreter)
        self._in_dtype = np.dtype(self._in["dtype"])
        self._width = int(self._in["shape"][2])  # frames the interpreter is allocated for

    def posteriors_log_mel(self, log_mel: np.ndarray) -> np.ndarray:
        """Per-frame class probabilities of one utterance's log-mel.

        Parameters
        ----------
        log_mel : np.ndarray [shape=(n_mels, n), float]
            dB relative to the utterance's maximum (``-top_db .. 0``); ``n <= max_frames``.

        Returns
        -------
        posteriors : np.ndarray [shape=(output_frames(n), n_labels), float32]
            Softmax of the dequantized logits, only the frames that cover the utterance.

        Raises
        ------
        ValueError
            If the shape does not fit the model or the values are not finite.
        """
        spec = self.spec
        x = np.asarray(log_mel, dtype=np.float32)
        n_mels = spec.input.shape[1]
        if x.ndim != 2 or x.shape[0] != n_mels or not 1 <= x.shape[1] <= spec.max_frames:
            raise ValueError(f"expected a log-mel of shape ({n_mels}, 1..{spec.max_frames}), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("the log-mel holds non-finite values (NaN or inf)")
        full = model_input(x, max_frames=spec.max_frames, time_stride=spec.time_stride, top_db=self.top_db,
                           dynamic=spec.dynamic_frames)
        width = full.shape[1]
        if spec.input.quantized:
            full = quantize(full, spec.input.scale, spec.input.zero_point, self._in_dtype)
        it = self._interpreter
        if spec.dynamic_frames and width != self._width:
            it.resize_tensor_input(self._in["index"], [1, n_mels, width])
            it.allocate_tensors()
            self._width = width
        it.reset_all_variables()
        it.set_tensor(self._in["index"], full[np.newaxis].astype(self._in_dtype, copy=False))
        it.invoke()
        y = it.get_tensor(self._out["index"])[0]
        y = dequantize(y, spec.output.scale, spec.output.zero_point) if spec.output.quantized else np.asarray(y, np.float32)
        return softmax(y[: spec.output_frames(x.shape[1])])

    def read(self, audio: np.ndarray) -> StringReading:
        """The digit string of one utterance.

        Parameters
        ----------
        audio : np.ndarray [shape=(n,), float32]
            Mono samples at the bundle's rate (Hz), in [-1, 1]; the utterance with a little silence
            around it (as the segmenter cuts it). Beyond :attr:`max_samples` only the start is read.

        Returns
        -------
        reading : StringReading

        Raises
        ------
        ValueError
            If ``audio`` is empty, not 1-D or holds non-finite values.
        """
        y = np.asarray(audio, dtype=np.float32)
        truncated = y.ndim == 1 and y.size > self.max_samples
        if truncated:
            y = y[: self.max_samples]
        return self.read_log_mel(self.front_end.log_mel_utterance(y), truncated=truncated)

    def read_log_mel(self, log_mel: np.ndarray, *, truncated: bool = False) -> StringReading:
        """The digit string of one utterance's log-mel (:meth:`posteriors_log_mel`, then best-path decoding).

        Parameters
        ----------
        log_mel : np.ndarray [shape=(n_mels, n), float]
            As :meth:`posteriors_log_mel` takes it (``n <= max_frames``).
        truncated : bool
            Recorded in the reading: the utterance was cut to the model's input.

        Returns
        -------
        reading : StringReading

        Raises
        ------
        ValueError
            As :meth:`posteriors_log_mel`.
        """
        post = self.posteriors_log_mel(log_mel)
        labels, blank = self.spec.labels, self.spec.blank_index
        tokens = tuple(greedy_decode(post, labels, blank=blank))
        top = post.max(axis=0) if post.shape[0] else np.zeros(len(labels), np.float32)
        peaks = tuple((name, round(float(top[k]), 4)) for k, name in enumerate(labels) if k != blank)
        return StringReading("".join(t.label for t in tokens), tokens, string_confidence(tokens), self.frame_s,
                             truncated, peaks)


def recognizer_options(classifier, threshold: float | None = None) -> dict:
    """The :class:`realtime.pipeline.Recognizer` keyword arguments of a classifier's bundle's string model
    (``read_string`` and the rule its bundle records); ``{}`` if the bundle has none.

    Parameters
    ----------
    classifier : realtime.classifier.Classifier
        Its bundle and interpreter package are used for the string model too.
    threshold : float or None
        The window classifier's threshold in use (``--threshold``, a calibrated one). Stricter than the
        bundle's: no confirmation of unsure digits (the user asked for fewer digits; the confirmation was
        chosen for the bundle's threshold). None, or the bundle's or lower: the bundle's confirmation.
    """
    spec = classifier.bundle.strings
    if spec is None:
        return {}
    reader = StringReader(classifier.bundle, interpreter=classifier.interpreter_name)
    longest_ms = reader.max_samples / reader.sample_rate_hz * 1000 - (C.PRE_ROLL_MS + C.POST_ROLL_MS)
    return {"read_string": reader.read, "string_min_speech_ms": spec.min_speech_ms, "string_threshold": spec.threshold,
            "string_hangover_ms": spec.hangover_ms, "string_min_digits_per_s": spec.min_digits_per_s,
            "string_confirm_threshold": spec.confirm_threshold if confirms_at(classifier.bundle, threshold) else None,
            "string_confirm_string_threshold": spec.confirm_string_threshold,
            "string_veto_threshold": spec.veto_threshold,
            "string_veto_min_peak_over_floor_db": spec.veto_min_peak_over_floor_db,
            "string_max_speech_ms": min(C.STRING_MAX_SPEECH_MS, longest_ms)}


def confirms_at(bundle, threshold: float | None) -> bool:
    """Whether a bundle's string model confirms unsure digits at the window classifier's ``threshold``:
    it has a confirmation rule, and ``threshold`` is None or not above the bundle's own (a user's
    stricter threshold turns the confirmation off)."""
    spec = bundle.strings
    if spec is None or spec.confirm_threshold is None:
        return False
    return threshold is None or bundle.threshold is None or float(threshold) <= float(bundle.threshold) + 1e-9


__all__ = ["StringReader", "StringReading", "confirms_at", "model_input", "recognizer_options"]
