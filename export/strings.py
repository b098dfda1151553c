"""Add a digit-string (CTC) model to a bundle: ``spoken-digits export-strings``.

The string recipe's model (``python -m trainer.recipes.strings``, ``RUN/model.keras``) reads log-mels
of any length; on the edge its frames axis stays open by default (the runtime resizes the input to
each utterance, up to ``max_frames`` = ``max_s`` seconds), or is fixed at ``max_frames`` with every
utterance padded with silence (``input_frames="fixed"``). Either way the converter emits fused
``UNIDIRECTIONAL_SEQUENCE_LSTM`` ops with builtin ops only (a bidirectional model: one per direction,
the backward one between two ``REVERSE_V2``; :func:`export.convert.convert`, logits output). The new bundle is the isolated-digit bundle it starts from (same files, same front end,
same threshold) plus ``NAME.strings.tflite`` and the ``strings`` entry of ``NAME.json``
(:class:`realtime.bundle.StringModelSpec`): utterances with more than ``min_speech_ms`` of speech
go to the string model, the others to the window classifier.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from realtime.bundle import QUANTIZATIONS, load_bundle
from realtime.strings import model_input
from trainer.atomic import atomic_path
from trainer.errors import RunError

log = logging.getLogger(__name__)

#: Longest utterance the exported string model reads whole (s).
DEFAULT_MAX_S = 8.0
#: Utterances with more speech than this (ms) go to the string model: a 0.8 s window holds one digit.
DEFAULT_MIN_SPEECH_MS = 800.0
#: How the edge model's frames axis is set (:func:`export_strings`).
INPUT_FRAMES = ("dynamic", "fixed")
#: File of a string run: test log-mels on which the exporter measures the edge model's parity.
PARITY_FILE = "parity.npz"
#: File of a string run: training log-mels for int8 calibration (written by the recipe).
REPRESENTATIVE_FILE = "representative.npz"


def max_frames_of(max_s: float, *, sample_rate_hz: int, hop_length: int, time_stride: int = 2) -> int:
    """Log-mel frames of ``max_s`` seconds (centred STFT: ``1 + n // hop_length``), rounded up to a
    multiple of ``time_stride``.

    The multiple matters: a strided ``"same"`` convolution pads ``(out - 1) * stride + kernel - in``
    frames, half of them before the first frame, so inputs of odd and even length place the
    convolution one frame apart; the recipe trains on widths that are multiples of 32.
    """
    n = 1 + int(round(max_s * sample_rate_hz)) // hop_length
    return -(-n // time_stride) * time_stride


def _base_spec(base, classifier_threshold: float | None) -> dict:
    """The new bundle's JSON from the isolated-digit bundle ``base``, its threshold replaced by ``classifier_threshold``.

    The base's ``threshold_rule`` is kept, with the replacement recorded under ``strings_sweep``.
    """
    spec = {k: v for k, v in base.spec.items() if k not in ("spec_version", "name", "files")}
    if classifier_threshold is not None and classifier_threshold != spec.get("threshold"):
        rule = dict(spec.get("threshold_rule") or {})
        rule["strings_sweep"] = {"threshold": float(classifier_threshold), "before": spec.get("threshold"),
                                 "method": "chosen with the string model on validation speech "
                                           "('spoken-digits strings --split val --sweep')"}
        spec["threshold"], spec["threshold_rule"] = float(classifier_threshold), rule
    return spec


def export_strings(run_dir: str | os.PathLike, bundle: str | os.PathLike, out: str | os.PathLike, *,
                   quantization: str = "int8", max_s: float = DEFAULT_MAX_S,
                   min_speech_ms: float = DEFAULT_MIN_SPEECH_MS, threshold: float | None = None,
                   hangover_ms: float | None = None, min_digits_per_s: float = 0.0, input_frames: str = "dynamic",
                   confirm_threshold: float | None = None, confirm_string_threshold: float = 0.0,
                   veto_threshold: float | None = None, veto_min_peak_over_floor_db: float = 0.0,
                   classifier_threshold: float | None = None,
                   force: bool = False, keras_model=None, calibration: np.ndarray | None = None) -> Path:
    """Write bundle ``out``: ``bundle`` plus the string model of ``run_dir``.

    Parameters
    ----------
    run_dir : path
        A run of the string recipe (``model.keras``; ``representative.npz`` for int8).
    bundle : path
        The isolated-digit bundle to extend (its files are copied; it is not changed).
    out : path
        New bundle directory ``.../NAME``.
    quantization : {"int8", "float16", "dynamic", "float32"}
    max_s : float > 0 (s)
        Longest utterance read whole; fixes the model's input frames.
    min_speech_ms : float >= 0 (ms)
        Route: utterances with more speech go to the string model.
    threshold : float in [0, 1] or None
        Minimum confidence of a string's least sure digit; None accepts every string.
    hangover_ms : float or None (ms)
        Silence that ends an utterance when the string model is used; None: the segmenter's default.
    min_digits_per_s : float >= 0 (1/s)
        A string needs at least this many digits per second of speech
        (:func:`realtime.pipeline.string_accepted`).
    input_frames : {"dynamic", "fixed"}
        ``dynamic``: the model's frames axis stays open and the runtime resizes it to each
        utterance (no padding: what a bidirectional model needs; short utterances cost less);
        ``fixed``: ``max_frames`` frames, every utterance padded with silence (the first bundles).
    confirm_threshold : float in [0, 1] or None
        A window-classifier digit with at least this top probability (under the bundle's threshold too)
        is accepted if the string model reads the same one digit (:class:`realtime.pipeline.Recognizer`);
        None: no confirmation. Chosen on validation speech (``spoken-digits strings --split val --sweep``).
    confirm_string_threshold : float in [0, 1]
        ... with at least this confidence.
    veto_threshold : float in [0, 1] or None
        A digit the window classifier accepts is rejected if the string model's highest posterior of it
        over the utterance is under this (:class:`realtime.pipeline.Recognizer`'s ``string_veto_threshold``);
        None: no veto.
    veto_min_peak_over_floor_db : float in [0, 120] (dB)
        ... only in utterances whose speech peaks at least this far over the noise floor (0: in every one).
    classifier_threshold : float in [0, 1] or None
        The window classifier's threshold of the new bundle, chosen with the veto on validation speech
        (the base bundle's ``threshold_rule`` is kept, with this choice under ``strings_sweep``); None:
        the base bundle's.
    keras_model, calibration : optional
        An already loaded model / calibration log-mels, each as :func:`realtime.strings.model_input`
        gives it (tests).

    Returns
    -------
    json_path : Path

    Raises
    ------
    RunError
        If the run has no model, or no calibration data for int8.
    ValueError
        Unknown quantization, ``max_s <= 0``, or a threshold outside [0, 1].
    FileExistsError
        If ``out`` exists and not ``force``.
    BundleError
        If ``bundle`` is not a valid bundle.
    """
    import keras

    from trainer.models import ctc
    from trainer.models.layers import SpecAugment  # noqa: F401 (registers the layer for load_model)

    from .convert import convert
    from .exporter import command_line, portable_path, tflite_io, write_bundle

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if input_frames not in INPUT_FRAMES:
        raise ValueError(f"input_frames must be one of {', '.join(INPUT_FRAMES)}, got {input_frames!r}")
    if not max_s > 0:
        raise ValueError(f"max_s must be > 0, got {max_s}")
    for name, v in (("threshold", threshold), ("confirm_threshold", confirm_threshold),
                    ("confirm_string_threshold", confirm_string_threshold), ("veto_threshold", veto_threshold),
                    ("classifier_threshold", classifier_threshold)):
        if v is not None and not 0 <= v <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {v}")
    if not 0 <= veto_min_peak_over_floor_db <= 120:
        raise ValueError(f"veto_min_peak_over_floor_db must be in [0, 120] dB, got {veto_min_peak_over_floor_db}")
    run_dir, out = Path(run_dir), Path(out)
    base = load_bundle(bundle)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    fe = base.front_end
    max_frames = max_frames_of(max_s, sample_rate_hz=fe["sample_rate_hz"], hop_length=fe["hop_length"],
                               time_stride=ctc.TIME_STRIDE)
    if keras_model is None:
        path = run_dir / "model.keras"
        if not path.is_file():
            raise RunError(f"{run_dir}: no model.keras (train it with 'python -m trainer.recipes.strings')")
        keras_model = keras.models.load_model(path, compile=False)
    n_mels = int(keras_model.inputs[0].shape[1])
    if n_mels != fe["n_mels"]:
        raise RunError(f"{run_dir}: the string model reads {n_mels} mel bands, the bundle's front end {fe['n_mels']}")
    conv = keras_model.get_layer("conv")
    names = {layer.name for layer in keras_model.layers}
    bidirectional = "bilstm" in names
    lstm = keras_model.get_layer("bilstm").forward_layer if bidirectional else keras_model.get_layer("lstm")
    dynamic = input_frames == "dynamic"
    fixed = ctc.build_ctc_model(max_frames=None if dynamic else max_frames, conv_filters=int(conv.filters),
                                units=int(lstm.units), bidirectional=bidirectional)
    fixed.set_weights(keras_model.get_weights())
    if quantization == "int8" and calibration is None:
        rep = run_dir / REPRESENTATIVE_FILE
        if not rep.is_file():
            raise RunError(f"{rep}: missing; int8 needs training log-mels (rerun the recipe, or --quantize float32)")
        with np.load(rep, allow_pickle=False) as z:  # each utterance as the runtime gives it
            calibration = [model_input(m[:, :f], max_frames=max_frames, time_stride=ctc.TIME_STRIDE,
                                       top_db=float(fe["top_db"]), dynamic=dynamic)
                           for m, f in zip(z["log_mel"], z["frames"])]
    tflite = convert(fixed, quantization, calibration=calibration, logits=True)
    inp, outp = tflite_io(tflite)
    results = {}
    if (run_dir / "results.json").is_file():
        results = json.loads((run_dir / "results.json").read_text())
    spec = _base_spec(base, classifier_threshold)
    spec["strings"] = {
        "model": keras_model.name, "recurrent": "bidirectional_lstm" if bidirectional else "lstm",
        "output_kind": "ctc_logits", "labels": list(ctc.CTC_LABELS),
        "blank_index": ctc.BLANK, "decoding": "greedy", "max_frames": max_frames, "max_s": max_s,
        "time_stride": ctc.TIME_STRIDE, "input_frames": input_frames, "min_speech_ms": float(min_speech_ms), "threshold": threshold,
        "hangover_ms": hangover_ms, "min_digits_per_s": float(min_digits_per_s),
        "confirm_threshold": confirm_threshold, "confirm_string_threshold": float(confirm_string_threshold),
        "veto_threshold": veto_threshold, "veto_min_peak_over_floor_db": float(veto_min_peak_over_floor_db),
        "quantization": quantization, "input": inp, "output": outp,
        "representative_dataset": None if quantization != "int8" else {
            "source": "training utterances of the string recipe", "samples": int(len(calibration))},
        "provenance": {"run": portable_path(run_dir, out), "command": command_line(),
                       "settings": results.get("settings"), "params": results.get("params"),
                       "val": results.get("val")},
    }
    json_path = write_bundle(out, tflite=base.tflite_path.read_bytes(), mel_basis=base.mel_basis, spec=spec,
                             force=force, extra_files={"strings_tflite": (".strings.tflite", tflite)})
    load_bundle(json_path)  # every check realtime makes
    log.info("wrote %s (%d bytes of string model)", out, len(tflite))
    if (run_dir / PARITY_FILE).is_file():
        with np.load(run_dir / PARITY_FILE, allow_pickle=False) as z:
            parity = string_parity(keras_model, json_path, z["log_mel"], z["frames"],
                                   z["kind"] if "kind" in z.files else None)
        doc = json.loads(json_path.read_text())
        doc["strings"]["parity"] = {"set": f"{PARITY_FILE}: test utterances of the string recipe", **parity}
        with atomic_path(json_path) as tmp:
            Path(tmp).write_text(json.dumps(doc, indent=1))
        load_bundle(json_path)
        for name, sc in parity["by_interpreter"].items():
            log.info("edge vs Keras: the same string for %.1f %% of %d test utterances (%s)",
                     100 * sc["same_strings"], parity["utterances"], name)
    return json_path


#: Rule settings of a bundle's ``strings`` entry that :func:`graft_strings` may replace (the model stays as it is).
GRAFT_SETTINGS = ("min_speech_ms", "threshold", "hangover_ms", "min_digits_per_s", "confirm_threshold",
                  "confirm_string_threshold", "veto_threshold", "veto_min_peak_over_floor_db")


def graft_strings(source: str | os.PathLike, bundle: str | os.PathLike, out: str | os.PathLike, *,
                  settings: dict | None = None, classifier_threshold: float | None = None,
                  force: bool = False) -> Path:
    """Write bundle ``out``: the isolated-digit ``bundle`` plus the string model of another bundle ``source``.

    For a new window classifier beside a string model already converted (its training run need not be
    at hand): the string model's file and its ``strings`` entry (parity record included) are copied as
    they are, except the rule settings in ``settings``.

    Parameters
    ----------
    source : path
        A bundle with a string model (directory or ``NAME.json``).
    bundle : path
        The isolated-digit bundle to extend (its files are copied; it is not changed). Its front end must be
        the source's: the string model reads the same log-mels.
    out : path
        New bundle directory ``.../NAME``.
    settings : dict, optional
        New values of some of :data:`GRAFT_SETTINGS` (units as :func:`export_strings`); the others keep the
        source's.
    classifier_threshold : float in [0, 1] or None
        As :func:`export_strings`.
    force : bool
        Replace an existing ``out``.

    Returns
    -------
    json_path : Path

    Raises
    ------
    BundleError
        If ``source`` or ``bundle`` is not a valid bundle.
    ValueError
        If ``source`` has no string model, the front ends differ, a setting is unknown or a threshold is
        outside [0, 1].
    FileExistsError
        If ``out`` exists and ``force`` is false.
    """
    from .exporter import command_line, write_bundle

    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(GRAFT_SETTINGS))
    if unknown:
        raise ValueError(f"unknown string settings {', '.join(unknown)}; choose from {', '.join(GRAFT_SETTINGS)}")
    if classifier_threshold is not None and not 0 <= classifier_threshold <= 1:
        raise ValueError(f"classifier_threshold must be in [0, 1], got {classifier_threshold}")
    src, base = load_bundle(source), load_bundle(bundle)
    if src.strings is None:
        raise ValueError(f"{src.json_path}: no string model to take (a bundle of 'spoken-digits export-strings')")
    if src.front_end != base.front_end:
        raise ValueError(f"{base.json_path} and {src.json_path} have different front ends: the string model would "
                         "read log-mels it was not trained on")
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    spec = _base_spec(base, classifier_threshold)
    strings = dict(src.spec["strings"])
    strings.update(settings)
    provenance = dict(strings.get("provenance") or {})
    provenance["grafted"] = {"from": src.name, "strings_sha256": src.spec["files"]["strings_tflite"]["sha256"],
                             "command": command_line()}
    strings["provenance"] = provenance
    spec["strings"] = strings
    json_path = write_bundle(out, tflite=base.tflite_path.read_bytes(), mel_basis=base.mel_basis, spec=spec,
                             force=force, extra_files={"strings_tflite": (".strings.tflite",
                                                                          src.strings.tflite_path.read_bytes())})
    load_bundle(json_path)  # every check realtime makes (thresholds in range, shapes)
    log.info("wrote %s: %s with the string model of %s", out, base.name, src.name)
    return json_path


#: The interpreter packages whose strings :func:`string_parity` compares with the Keras model's, each in a
#: process of its own (:mod:`export.strings_worker`); those not installed are left out.
PARITY_INTERPRETERS = ("tflite_runtime", "ai_edge_litert")


def _parity_of(want: list[str], got: list[str], kinds) -> dict:
    same = [a == b for a, b in zip(want, got)]
    out = {"same_strings": round(sum(same) / max(1, len(same)), 4),
           "differ": [[a, b] for a, b in zip(want, got) if a != b][:10]}
    if kinds is not None:
        by_kind: dict[str, list[int]] = {}
        for k, ok in zip(kinds, same):
            tally = by_kind.setdefault(str(k), [0, 0])
            tally[0] += ok
            tally[1] += 1
        digits = [v for k, v in by_kind.items() if k != "negative"]
        n = sum(v[1] for v in digits)
        out["by_kind"] = by_kind
        out["digit_strings"] = round(sum(v[0] for v in digits) / n, 4) if n else None
    return out


def string_parity(keras_model, bundle: str | os.PathLike, log_mels: np.ndarray, frames: np.ndarray,
                  kinds: np.ndarray | None = None, interpreters: Sequence[str] = PARITY_INTERPRETERS) -> dict:
    """Share of utterances whose greedy string is the same from the Keras model and from the bundle's
    edge model (:class:`realtime.strings.StringReader`), on every installed interpreter package.

    Parameters
    ----------
    keras_model : keras.Model
        The string model (any frames).
    bundle : path
        A bundle with its string model.
    log_mels : np.ndarray [shape=(n, n_mels, T), float32, dB]
    frames : np.ndarray [shape=(n,), int]
        Real frames of each utterance; Keras reads them padded with silence to a multiple of the
        model's stride (what the edge input of an open frames axis gets), the edge model as it is given them.
    kinds : np.ndarray [shape=(n,), str] or None
        What each utterance is (the recipe's ``tts``, ``assembled``, ``real``, ``negative``): the share is
        also given per kind.
    interpreters : sequence of str
        Interpreter packages to read the edge model with, each in its own process
        (:mod:`export.strings_worker`: ``tflite_runtime`` must not share a process with TensorFlow);
        those not installed are skipped. Empty, or none installed: this process's default package.

    Returns
    -------
    dict
        ``utterances``; ``by_interpreter`` (package -> ``same_strings``, with ``by_kind`` /
        ``digit_strings`` when given kinds); and, for the package with the lowest share, ``interpreter``,
        ``same_strings`` (share), ``differ`` (up to 10 pairs ``[keras, edge]`` of strings that differ),
        ``by_kind`` (kind -> ``[same, utterances]``) and ``digit_strings`` (the share over every kind but
        ``negative``: utterances that hold digits).

    Raises
    ------
    RuntimeError
        If an installed interpreter's worker fails.
    """
    import tempfile

    from realtime.ctc import greedy_decode
    from realtime.strings import StringReader
    from trainer.models import ctc

    from .bench import run_worker

    loaded = load_bundle(bundle)
    spec, top_db = loaded.strings, float(loaded.front_end["top_db"])
    want = []
    for m, f in zip(log_mels, frames):
        f = min(int(f), spec.max_frames)
        x = model_input(m[:, :f], max_frames=spec.max_frames, time_stride=spec.time_stride, top_db=top_db,
                        dynamic=True)
        z = np.asarray(keras_model(x[np.newaxis], training=False))[0][: ctc.output_frames(f)]
        want.append("".join(t.label for t in greedy_decode(z, ctc.CTC_LABELS, blank=ctc.BLANK)))
    edge: dict[str, list[str]] = {}
    if interpreters:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "parity.npz"
            np.savez(data, log_mel=np.asarray(log_mels, np.float32), frames=np.asarray(frames))
            for name in interpreters:
                proc = run_worker("export.strings_worker", Path(bundle), data, name)
                if proc.returncode == 3:  # not installed here
                    continue
                if proc.returncode != 0:
                    last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
                    raise RuntimeError(f"string parity worker ({name}) failed: {last}")
                doc = json.loads(proc.stdout)
                edge[doc["interpreter"]] = doc["strings"]
    if not edge:
        reader = StringReader(loaded)
        edge[reader.interpreter_name] = [reader.read_log_mel(m[:, :min(int(f), spec.max_frames)]).digits
                                         for m, f in zip(log_mels, frames)]
    scores = {name: _parity_of(want, got, kinds) for name, got in edge.items()}
    worst = min(scores, key=lambda name: scores[name]["same_strings"])
    by_interpreter = {name: {k: v for k, v in sc.items() if k != "differ"} for name, sc in scores.items()}
    return {"utterances": int(len(frames)), "interpreter": worst, **scores[worst], "by_interpreter": by_interpreter}


__all__ = ["DEFAULT_MAX_S", "DEFAULT_MIN_SPEECH_MS", "INPUT_FRAMES", "PARITY_FILE", "PARITY_INTERPRETERS", "REPRESENTATIVE_FILE",
           "export_strings", "max_frames_of", "string_parity"]
