"""Read and verify a model bundle: ``NAME.tflite`` + ``NAME.json`` + ``NAME.mel.npz``.

The bundle is the contract between ``export/`` and ``realtime/`` (docs/design.md
section 2). ``NAME.json`` (spec version :data:`SPEC_VERSION`) holds::

    spec_version        int: 2 (written), 1 (still read: a 10-class bundle whose
                        output is probabilities)
    name, model         bundle name, Keras model it was exported from
    quantization        "int8" | "float16" | "dynamic" | "float32"
    front_end           every front-end parameter: sample_rate_hz, window_s,
                        window_samples, n_frames, n_fft, hop_length, win_length,
                        window, center, pad_mode, power, n_mels, fmin_hz, fmax_hz,
                        htk, norm, ref, amin, top_db (librosa 0.11 keyword meanings:
                        "window" is the STFT window function, "window_s" and
                        "window_samples" the 0.8 s model input)
    labels              class names, index = model output; "_silence_" and
                        "_unknown_" (REJECT_LABELS) are rejections, never a digit
    output_kind         "probabilities" (softmax inside the model; version 1) or
                        "logits" (version 2 deploy models: the runtime applies
                        softmax(logits / temperature))
    temperature         float > 0, fitted on validation data (default 1)
    threshold           float in [0, 1] or absent: the default minimum top-digit
                        probability, chosen on validation data for a false-accept
                        target (see "calibration")
    calibration         how temperature and threshold were chosen, ECE before/after
    input, output       name, shape, dtype, quantization {scale, zero_point}
                        (scale 0 = not quantized; real = scale * (q - zero_point))
    provenance          dataset, protocol, fold, run (relative to the bundle
                        directory), model_path (relative to the run), command
                        (absolute paths made relative), metrics, commit, created,
                        versions (python and packages); never an absolute path
    files               {"tflite": {...}, "mel_filterbank": {...}}, each
                        {"name", "bytes", "sha256"}; "strings_tflite" too if
                        the bundle has a digit-string model
    strings             optional: the digit-string (CTC) model that reads
                        utterances longer than one window (see StringModelSpec):
                        output_kind "ctc_logits", labels (digits, then the
                        blank), blank_index, decoding "greedy", max_frames (the
                        fixed log-mel input, padded with -top_db), time_stride
                        (log-mel frames per output frame), min_speech_ms (the
                        route: longer utterances go to this model), threshold
                        (minimum confidence of a string's least sure digit),
                        min_digits_per_s (a string needs at least this many
                        digits per second of speech), hangover_ms (optional:
                        silence that ends an utterance when the string model
                        is used), confirm_threshold and
                        confirm_string_threshold (optional: a digit the window
                        classifier is unsure of, top probability at or above
                        confirm_threshold, is accepted if this model reads the
                        same one digit with at least confirm_string_threshold),
                        veto_threshold (optional: a digit the window
                        classifier accepts is rejected if this model's highest
                        posterior of it over the utterance is under this;
                        veto_min_peak_over_floor_db, optional: only in
                        utterances whose speech peaks at least this many dB
                        over the noise floor),
                        quantization, input, output

``NAME.mel.npz`` holds ``mel_basis`` [shape=(n_mels, 1 + n_fft // 2), float32],
computed by ``librosa.filters.mel`` at export; the runtime never rebuilds it.

Only numpy, the standard library and :mod:`realtime.frontend` are imported here.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import BundleError
from .frontend import n_stft_bins, n_stft_frames

#: Version of the bundle format this code writes and reads.
SPEC_VERSION = 2
#: Versions this code reads (1: no output_kind/temperature/threshold, output = probabilities).
READABLE_SPEC_VERSIONS = (1, 2)
#: Classes that are rejections (the Speech Commands names): a decision for them has no digit.
REJECT_LABELS = ("_silence_", "_unknown_")
OUTPUT_KINDS = ("probabilities", "logits")
#: The bundle shipped inside the package (``realtime/models/default/spoken-digits.*``).
DEFAULT_BUNDLE = Path(__file__).resolve().parent / "models" / "default"
#: Quantization variants ``export`` can write (the one list: ``export`` imports it).
QUANTIZATIONS = ("int8", "float16", "dynamic", "float32")
#: Key of the mel matrix in ``NAME.mel.npz``.
MEL_KEY = "mel_basis"
#: Keys every bundle's ``front_end`` holds, in the order ``export`` writes them (:func:`front_end_spec`).
FRONT_END_KEYS = (
    "sample_rate_hz", "window_s", "window_samples", "n_frames", "n_fft", "hop_length", "win_length", "window",
    "center", "pad_mode", "power", "n_mels", "fmin_hz", "fmax_hz", "htk", "norm", "ref", "amin", "top_db",
)
_TOP_KEYS = ("spec_version", "name", "quantization", "front_end", "labels", "input", "output", "files")


def front_end_spec(values: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle's ``front_end`` object, as the exporter writes it.

    Parameters
    ----------
    values : mapping
        Every front-end parameter (e.g. ``trainer.config.FrontEndConfig.to_dict()``).

    Returns
    -------
    front_end : dict
        Exactly the keys :data:`FRONT_END_KEYS`, in that order.

    Raises
    ------
    ValueError
        If ``values`` lacks one of :data:`FRONT_END_KEYS`, or holds a key the bundle
        contract does not know (it would be silently lost on the edge).
    """
    missing = [k for k in FRONT_END_KEYS if k not in values]
    unknown = sorted(set(values) - set(FRONT_END_KEYS))
    if missing or unknown:
        raise ValueError(f"front-end parameters do not match the bundle contract (realtime.bundle.FRONT_END_KEYS): "
                         f"missing {missing}, unknown {unknown}")
    return {k: values[k] for k in FRONT_END_KEYS}


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as 64 lowercase hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as recorded in the bundle.

    ``scale == 0`` means the tensor is not quantized (float32); otherwise
    ``real = scale * (q - zero_point)`` (TFLite affine quantization).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str, where: Path) -> "TensorSpec":
        try:
            q = d.get("quantization") or {}
            return cls(str(d["name"]), tuple(int(s) for s in d["shape"]), str(d["dtype"]),
                       float(q.get("scale", 0.0)), int(q.get("zero_point", 0)))
        except (KeyError, TypeError, ValueError) as e:
            raise BundleError(f"{where}: malformed '{what}' entry ({e!r})") from None


#: Output kinds of a digit-string model: per-frame logits of the labels and the CTC blank.
STRING_OUTPUT_KINDS = ("ctc_logits",)
#: Decodings the runtime implements (:func:`realtime.ctc.greedy_decode`).
STRING_DECODINGS = ("greedy",)


@dataclass(frozen=True)
class StringModelSpec:
    """The digit-string (CTC) model of a bundle, as recorded under ``strings``.

    Attributes
    ----------
    tflite_path : Path
        ``NAME.strings.tflite`` (checksum verified).
    labels : tuple of str
        Output classes, the digits and the blank at ``blank_index``.
    blank_index : int
    max_frames : int
        Log-mel frames of the longest utterance it reads (``(max_frames - 1) * hop_length /
        sample_rate_hz`` seconds): the fixed input, or the limit of an open frames axis
        (:attr:`dynamic_frames`).
    time_stride : int
        Log-mel frames per output frame.
    min_speech_ms : float (ms)
        Utterances with more speech than this are read by this model, shorter ones by the
        window classifier.
    threshold : float in [0, 1] or None
        Minimum confidence of a string's least sure digit (None: every string is accepted).
    hangover_ms : float or None (ms)
        Silence that ends an utterance with this model (None: the segmenter's default).
    min_digits_per_s : float (1/s)
        A string needs at least this many digits per second of speech (0: no such rule).
    confirm_threshold : float in [0, 1] or None
        A digit on top of the window classifier with at least this probability, but under the bundle's
        threshold, is accepted if this model reads the utterance as that one digit (None: no confirmation).
    confirm_string_threshold : float in [0, 1]
        ... with at least this confidence.
    veto_threshold : float in [0, 1] or None
        A digit the window classifier accepts is rejected if this model's highest posterior of that digit
        over the utterance is under this (None: no veto).
    veto_min_peak_over_floor_db : float >= 0 (dB)
        ... only in utterances whose speech peaks at least this far over the noise floor (0: in every one).
    decoding : str
        ``"greedy"`` (best path).
    quantization : str
    input, output : TensorSpec
    """

    tflite_path: Path
    labels: tuple[str, ...]
    blank_index: int
    max_frames: int
    time_stride: int
    min_speech_ms: float
    threshold: float | None
    hangover_ms: float | None
    min_digits_per_s: float
    decoding: str
    quantization: str
    input: TensorSpec
    output: TensorSpec
    confirm_threshold: float | None = None
    confirm_string_threshold: float = 0.0
    veto_threshold: float | None = None
    veto_min_peak_over_floor_db: float = 0.0

    def output_frames(self, n_frames: int) -> int:
        """Output frames that cover ``n_frames`` log-mel frames."""
        return -(-int(n_frames) // self.time_stride)

    @property
    def dynamic_frames(self) -> bool:
        """The model's frames axis is open (``input.shape[2] == -1``): the runtime resizes the input to
        each utterance (a multiple of ``time_stride`` frames, at most ``max_frames``) instead of padding
        it to ``max_frames``."""
        return len(self.input.shape) == 3 and self.input.shape[2] == -1


def _string_spec(spec: dict, base: Path, json_path: Path) -> StringModelSpec | None:
    doc = spec.get("strings")
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise BundleError(f"{json_path}: 'strings' must be an object")
    missing = [k for k in ("output_kind", "labels", "blank_index", "max_frames", "time_stride", "min_speech_ms",
                           "decoding", "input", "output") if k not in doc]
    if missing:
        raise BundleError(f"{json_path}: 'strings' lacks {', '.join(missing)}")
    if doc["output_kind"] not in STRING_OUTPUT_KINDS:
        raise BundleError(f"{json_path}: strings.output_kind {doc['output_kind']!r} is not one of "
                          f"{', '.join(STRING_OUTPUT_KINDS)}; upgrade spoken-digits")
    if doc["decoding"] not in STRING_DECODINGS:
        raise BundleError(f"{json_path}: strings.decoding {doc['decoding']!r} is not one of {', '.join(STRING_DECODINGS)}")
    path = _check_file(base, spec["files"].get("strings_tflite"), "strings_tflite", json_path)
    labels = doc["labels"]
    blank = doc["blank_index"]
    if (not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels) or not isinstance(blank, int) or not 0 <= blank < len(labels)):
        raise BundleError(f"{json_path}: strings.labels must be distinct names and blank_index one of their positions")
    for k in ("max_frames", "time_stride"):
        if isinstance(doc[k], bool) or not isinstance(doc[k], int) or doc[k] < 1:
            raise BundleError(f"{json_path}: strings.{k} must be a positive integer, got {doc[k]!r}")
    for k in ("threshold", "confirm_threshold", "confirm_string_threshold", "veto_threshold"):
        v = doc.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1):
            raise BundleError(f"{json_path}: strings.{k} must be a number in [0, 1], got {v!r}")
    gate = doc.get("veto_min_peak_over_floor_db")
    if gate is not None and (isinstance(gate, bool) or not isinstance(gate, (int, float)) or not 0 <= gate <= 120):
        raise BundleError(f"{json_path}: strings.veto_min_peak_over_floor_db must be a number of dB in [0, 120], "
                          f"got {gate!r}")
    thr = doc.get("threshold")
    out = StringModelSpec(
        tflite_path=path, labels=tuple(labels), blank_index=blank, max_frames=doc["max_frames"],
        time_stride=doc["time_stride"], min_speech_ms=float(doc["min_speech_ms"]),
        threshold=None if thr is None else float(thr),
        hangover_ms=None if doc.get("hangover_ms") is None else float(doc["hangover_ms"]),
        min_digits_per_s=float(doc.get("min_digits_per_s") or 0.0), decoding=doc["decoding"],
        quantization=str(doc.get("quantization", "")), input=TensorSpec.from_dict(doc["input"], "strings.input", json_path),
        output=TensorSpec.from_dict(doc["output"], "strings.output", json_path),
        confirm_threshold=None if doc.get("confirm_threshold") is None else float(doc["confirm_threshold"]),
        confirm_string_threshold=float(doc.get("confirm_string_threshold") or 0.0),
        veto_threshold=None if doc.get("veto_threshold") is None else float(doc["veto_threshold"]),
        veto_min_peak_over_floor_db=float(gate or 0.0))
    n_mels = spec["front_end"]["n_mels"]
    frames = -1 if out.dynamic_frames else out.max_frames
    if out.input.shape != (1, n_mels, frames):
        raise BundleError(f"{json_path}: strings.input shape {out.input.shape} is not (1, n_mels, max_frames) = "
                          f"{(1, n_mels, out.max_frames)} or (1, n_mels, -1) (frames resized per utterance)")
    if out.output.shape != (1, -1 if out.dynamic_frames else out.output_frames(out.max_frames), len(labels)):
        raise BundleError(f"{json_path}: strings.output shape {out.output.shape} does not match max_frames, "
                          f"time_stride and {len(labels)} labels")
    return out


@dataclass(frozen=True)
class Bundle:
    """A verified bundle.

    Attributes
    ----------
    json_path, tflite_path, mel_path : Path
        The three files.
    spec : dict
        ``NAME.json`` as read.
    mel_basis : np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
        Mel filterbank (power spectrum bins -> mel bands).
    """

    json_path: Path
    tflite_path: Path
    mel_path: Path
    spec: dict
    mel_basis: np.ndarray
    #: The digit-string model, if the bundle has one (``strings`` in ``NAME.json``).
    strings: StringModelSpec | None = None

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def directory(self) -> Path:
        return self.json_path.parent

    @property
    def front_end(self) -> dict[str, Any]:
        """Every front-end parameter (see the module docstring)."""
        return self.spec["front_end"]

    @property
    def sample_rate_hz(self) -> int:
        """Sample rate the model expects, Hz (22,050)."""
        return int(self.front_end["sample_rate_hz"])

    @property
    def window_samples(self) -> int:
        """Samples in one window (17,640 = 0.8 s at 22,050 Hz)."""
        return int(self.front_end["window_samples"])

    @property
    def window_s(self) -> float:
        return float(self.front_end["window_s"])

    @property
    def log_mel_shape(self) -> tuple[int, int]:
        """``(n_mels, n_frames)`` = (64, 35)."""
        return (int(self.front_end["n_mels"]), int(self.front_end["n_frames"]))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.spec["labels"])

    @property
    def quantization(self) -> str:
        return self.spec["quantization"]

    @property
    def output_kind(self) -> str:
        """``"probabilities"`` or ``"logits"`` (see the module docstring)."""
        return self.spec.get("output_kind", "probabilities")

    @property
    def temperature(self) -> float:
        """Softmax temperature for logits outputs (1 if the bundle records none)."""
        return float(self.spec.get("temperature", 1.0))

    @property
    def threshold(self) -> float | None:
        """The bundle's default acceptance threshold, or ``None`` if it records none."""
        t = self.spec.get("threshold")
        return None if t is None else float(t)

    @property
    def input(self) -> TensorSpec:
        return TensorSpec.from_dict(self.spec["input"], "input", self.json_path)

    @property
    def output(self) -> TensorSpec:
        return TensorSpec.from_dict(self.spec["output"], "output", self.json_path)


#: Where the bundles shipped in the package live; ``--model NAME`` picks ``NAME`` among them.
PACKAGED_BUNDLES = DEFAULT_BUNDLE.parent


def packaged_bundle_names() -> list[str]:
    """Names of the bundles shipped in the package (``default``)."""
    return sorted(p.name for p in PACKAGED_BUNDLES.iterdir() if p.is_dir() and any(p.glob("*.json")))


def find_bundle_json(path: str | os.PathLike) -> Path:
    """The ``NAME.json`` of a bundle given as its directory, the JSON file itself, or the name of a
    bundle shipped in the package (:func:`packaged_bundle_names`) when no such path exists.

    Raises
    ------
    BundleError
        If ``path`` does not exist, or the directory holds no ``*.json`` or several.
    """
    p = Path(path)
    if not p.exists() and len(p.parts) == 1 and (PACKAGED_BUNDLES / p.name).is_dir():
        p = PACKAGED_BUNDLES / p.name
    if not p.exists():
        raise BundleError(f"model bundle {p} does not exist (create one with 'spoken-digits export'; the package "
                          f"ships {', '.join(packaged_bundle_names())})")
    if p.is_file():
        if p.suffix != ".json":
            raise BundleError(f"{p}: give the bundle directory or its .json file, not a {p.suffix or 'suffix-less'} file")
        return p
    candidates = sorted(q for q in p.glob("*.json") if not q.name.startswith("."))
    if not candidates:
        raise BundleError(f"{p}: not a model bundle (no NAME.json inside; create one with 'spoken-digits export')")
    if len(candidates) > 1:
        raise BundleError(f"{p}: several .json files ({', '.join(c.name for c in candidates)}); give the one to use")
    return candidates[0]


def _check_file(base: Path, entry: Any, what: str, json_path: Path) -> Path:
    if not isinstance(entry, dict) or not {"name", "sha256"} <= set(entry):
        raise BundleError(f"{json_path}: 'files.{what}' must name a file and its sha256")
    name = str(entry["name"])
    if Path(name).name != name:
        raise BundleError(f"{json_path}: file name {name!r} must not contain a directory")
    f = base / name
    if not f.is_file():
        raise BundleError(f"{json_path}: bundle file {name} is missing from {base}")
    digest = sha256_file(f)
    if digest != entry["sha256"]:
        raise BundleError(
            f"{f}: checksum mismatch (sha256 {digest[:12]}..., the bundle records {str(entry['sha256'])[:12]}...); "
            "the file is corrupt or was replaced: export the bundle again"
        )
    return f


def _check_front_end(fe: Any, json_path: Path) -> None:
    if not isinstance(fe, dict):
        raise BundleError(f"{json_path}: 'front_end' must be an object")
    missing = [k for k in FRONT_END_KEYS if k not in fe]
    if missing:
        raise BundleError(f"{json_path}: front_end lacks {', '.join(missing)}")
    # What realtime.frontend implements; anything else would silently give other features.
    if fe["window"] != "hann":
        raise BundleError(f"{json_path}: front_end STFT window {fe['window']!r} is not supported (only 'hann')")
    if fe["ref"] != "max":
        raise BundleError(f"{json_path}: front_end ref {fe['ref']!r} is not supported (only 'max', i.e. ref=np.max)")
    if fe["power"] not in (1, 1.0, 2, 2.0):
        raise BundleError(f"{json_path}: front_end power {fe['power']!r} is not supported (1 or 2)")
    if fe["pad_mode"] not in ("constant", "reflect", "edge", "symmetric", "wrap"):
        raise BundleError(f"{json_path}: front_end pad_mode {fe['pad_mode']!r} is not supported")
    ints = ("sample_rate_hz", "window_samples", "n_frames", "n_fft", "hop_length", "win_length", "n_mels")
    if not all(isinstance(fe[k], int) and fe[k] > 0 for k in ints):
        raise BundleError(f"{json_path}: front_end {', '.join(ints)} must be positive integers")
    if fe["win_length"] > fe["n_fft"]:
        raise BundleError(f"{json_path}: front_end win_length {fe['win_length']} > n_fft {fe['n_fft']}")
    try:
        frames = n_stft_frames(fe["window_samples"], fe["n_fft"], fe["hop_length"], bool(fe["center"]))
    except ValueError as e:
        raise BundleError(f"{json_path}: front_end {e}") from None
    if frames != fe["n_frames"]:
        raise BundleError(f"{json_path}: front_end n_frames {fe['n_frames']} disagrees with its STFT settings ({frames})")


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read a bundle and verify it before anything uses it.

    Parameters
    ----------
    path : path
        The bundle directory (holding exactly one ``NAME.json``) or ``NAME.json`` itself.

    Returns
    -------
    bundle : Bundle

    Raises
    ------
    BundleError
        If the bundle or one of its files is missing; ``NAME.json`` is not valid JSON
        or lacks a required key; its ``spec_version`` is not :data:`SPEC_VERSION`;
        a file's SHA-256 differs from the recorded one; the front end uses a
        setting the numpy front end does not implement; or the mel matrix's shape
        is not ``(n_mels, 1 + n_fft // 2)``. The message names the file.
    """
    json_path = find_bundle_json(path)
    try:
        spec = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{json_path}: unreadable bundle description ({e})") from None
    if not isinstance(spec, dict) or "spec_version" not in spec:
        raise BundleError(f"{json_path}: not a spoken-digits bundle (no 'spec_version')")
    if spec["spec_version"] not in READABLE_SPEC_VERSIONS:
        raise BundleError(
            f"{json_path}: bundle spec version {spec['spec_version']!r} is not supported by this version of "
            f"spoken-digits (reads versions {', '.join(map(str, READABLE_SPEC_VERSIONS))}); export the bundle again "
            "or upgrade spoken-digits"
        )
    missing = [k for k in _TOP_KEYS if k not in spec]
    if missing:
        raise BundleError(f"{json_path}: bundle description lacks {', '.join(missing)}")
    _check_front_end(spec["front_end"], json_path)
    files = spec["files"]
    if not isinstance(files, dict):
        raise BundleError(f"{json_path}: 'files' must be an object")
    base = json_path.parent
    tflite_path = _check_file(base, files.get("tflite"), "tflite", json_path)
    mel_path = _check_file(base, files.get("mel_filterbank"), "mel_filterbank", json_path)
    try:
        with np.load(mel_path, allow_pickle=False) as z:
            mel_basis = np.ascontiguousarray(z[MEL_KEY], dtype=np.float32)
    except (OSError, ValueError, KeyError) as e:
        raise BundleError(f"{mel_path}: unreadable mel filterbank ({e})") from None
    fe = spec["front_end"]
    want = (fe["n_mels"], n_stft_bins(fe["n_fft"]))
    if mel_basis.shape != want:
        raise BundleError(f"{mel_path}: mel filterbank of shape {mel_basis.shape}, expected (n_mels, 1 + n_fft // 2) = {want}")
    if not np.all(np.isfinite(mel_basis)) or np.any(mel_basis < 0):
        raise BundleError(f"{mel_path}: mel filterbank holds negative or non-finite weights")
    labels = spec["labels"]
    if not isinstance(labels, list) or not labels:
        raise BundleError(f"{json_path}: 'labels' must be a non-empty list")
    if not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
        raise BundleError(f"{json_path}: 'labels' must be distinct non-empty strings")
    if spec.get("output_kind", "probabilities") not in OUTPUT_KINDS:
        raise BundleError(f"{json_path}: output_kind {spec['output_kind']!r} is not one of {', '.join(OUTPUT_KINDS)}")
    t = spec.get("temperature", 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1e3:
        raise BundleError(f"{json_path}: temperature must be a number > 0, got {t!r}")
    thr = spec.get("threshold")
    if thr is not None and (isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 <= thr <= 1):
        raise BundleError(f"{json_path}: threshold must be a number in [0, 1], got {thr!r}")
    bundle = Bundle(json_path, tflite_path, mel_path, spec, mel_basis, _string_spec(spec, base, json_path))
    inp, out = bundle.input, bundle.output
    if inp.shape[1:] != bundle.log_mel_shape:
        raise BundleError(f"{json_path}: model input shape {inp.shape} does not match the front end's {bundle.log_mel_shape}")
    if out.shape[-1] != len(labels):
        raise BundleError(f"{json_path}: model output shape {out.shape} does not match {len(labels)} labels")
    return bundle


__all__ = ["Bundle", "DEFAULT_BUNDLE", "PACKAGED_BUNDLES", "packaged_bundle_names", "STRING_DECODINGS", "STRING_OUTPUT_KINDS", "StringModelSpec", "FRONT_END_KEYS", "OUTPUT_KINDS", "QUANTIZATIONS", "READABLE_SPEC_VERSIONS",
           "REJECT_LABELS", "SPEC_VERSION", "TensorSpec", "find_bundle_json",
           "front_end_spec", "load_bundle", "sha256_file"]
