"""Run -> bundle: convert a trained spectrogram model and write ``NAME.tflite/.json/.mel.npz``.

The bundle layout and JSON keys are documented in :mod:`realtime.bundle` (the
reader); this module is the only writer.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from realtime.bundle import MEL_KEY, QUANTIZATIONS, SPEC_VERSION, front_end_spec, load_bundle, sha256_file
from realtime.classifier import tensor_shape
from trainer.config import LABELS, PITCH_SHIFTS_SEMITONES, STRETCH_RATES, FrontEndConfig
from trainer.errors import RunError

from .convert import convert

log = logging.getLogger(__name__)

DEFAULT_MODEL = "spectrogram_aug"
DEFAULT_QUANTIZATION = "int8"
#: Training clips the int8 converter calibrates activation ranges on.
DEFAULT_CALIBRATION_SIZE = 500
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_bundle_name(name: str) -> str:
    """Return ``name`` if it is a usable file stem (letters, digits, ``._-``), else raise ``ValueError``."""
    if not _NAME_RE.match(name) or name.endswith(".json"):
        raise ValueError(f"bundle name {name!r} must be letters, digits, '.', '_' or '-' (it names the bundle's files)")
    return name


def tensor_entry(detail: dict) -> dict[str, Any]:
    """A TFLite input/output detail as stored in the bundle JSON (scale 0 = not quantized).

    ``shape`` is the tensor's shape signature: -1 marks an axis the model leaves open (the
    digit-string model's frames), resized by the runtime per input."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    shape = tensor_shape(detail)
    return {
        "name": detail["name"], "shape": [int(s) for s in shape], "dtype": np.dtype(detail["dtype"]).name,
        "quantization": {"scale": float(scale), "zero_point": int(zero_point)},
    }


def tflite_io(tflite: bytes) -> tuple[dict, dict]:
    """The single input and output of a flatbuffer, as :func:`tensor_entry` dicts."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=tflite)
    return tensor_entry(interpreter.get_input_details()[0]), tensor_entry(interpreter.get_output_details()[0])


def write_bundle(
    out: str | os.PathLike, *, tflite: bytes, mel_basis: np.ndarray, spec: dict[str, Any], force: bool = False,
    extra_files: dict[str, tuple[str, bytes]] | None = None,
) -> Path:
    """Write a bundle directory atomically: a temporary directory beside it, renamed into place.

    Parameters
    ----------
    out : path
        The bundle directory ``.../NAME``; its files are ``NAME.tflite``, ``NAME.json``, ``NAME.mel.npz``.
    tflite : bytes
        The model flatbuffer.
    mel_basis : np.ndarray [shape=(n_mels, 1 + n_fft // 2), float32]
    spec : dict
        Everything of ``NAME.json`` but ``name``, ``spec_version`` and ``files`` (added here).
    force : bool
        Replace an existing ``out``; otherwise an existing ``out`` is an error.
    extra_files : dict of str to (str, bytes), optional
        More files of the bundle, ``{key: (suffix, content)}``: written as ``NAME{suffix}`` and
        listed under ``files.key`` (the digit-string model: ``{"strings_tflite": (".strings.tflite", ...)}``).

    Returns
    -------
    json_path : Path

    Raises
    ------
    FileExistsError
        If ``out`` exists and ``force`` is false.
    ValueError
        If the directory name is not a usable bundle name.
    """
    out = Path(out)
    name = check_bundle_name(out.name)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".tmp-{name}-"))
    try:
        (tmp / f"{name}.tflite").write_bytes(tflite)
        np.savez_compressed(tmp / f"{name}.mel.npz", **{MEL_KEY: np.asarray(mel_basis, dtype=np.float32)})
        written = [("tflite", tmp / f"{name}.tflite"), ("mel_filterbank", tmp / f"{name}.mel.npz")]
        for key, (suffix, content) in (extra_files or {}).items():
            (tmp / f"{name}{suffix}").write_bytes(content)
            written.append((key, tmp / f"{name}{suffix}"))
        files = {key: {"name": f.name, "bytes": f.stat().st_size, "sha256": sha256_file(f)} for key, f in written}
        doc = {"spec_version": SPEC_VERSION, "name": name, **spec, "files": files}
        (tmp / f"{name}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.parent / f".old-{name}-{os.getpid()}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / f"{name}.json"


def _versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the model and its features."""
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for dist in ("spoken-digits", "tensorflow", "keras", "tf-keras", "librosa", "numpy"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return out


def portable_path(path: str | os.PathLike, base: str | os.PathLike) -> str:
    """``path`` relative to ``base`` (``../`` where needed), or only its name if they share no directory but the root.

    Provenance must not record the absolute paths of the machine that made a bundle.
    """
    p, b = Path(path).resolve(), Path(base).resolve()
    if Path(os.path.commonpath([p, b])) == Path(p.anchor):
        return p.name
    return Path(os.path.relpath(p, b)).as_posix()


def command_line(argv: list[str] | None = None, *, cwd: str | os.PathLike | None = None) -> str:
    """The command that is running (``sys.argv``), shell-quoted, without the machine's absolute paths.

    The program becomes its file name (``spoken-digits``); an absolute path argument (also
    as ``--opt=PATH``) becomes relative to ``cwd`` (default: the working directory) when it
    shares a directory with it, else its file name (see :func:`portable_path`).
    """
    argv = list(sys.argv if argv is None else argv)
    base = Path.cwd() if cwd is None else Path(cwd)

    def portable(arg: str) -> str:
        if arg.startswith("--") and "=" in arg:
            opt, value = arg.split("=", 1)
            return f"{opt}={portable(value)}"
        return portable_path(arg, base) if os.path.isabs(arg) else arg

    return shlex.join([Path(argv[0]).name, *map(portable, argv[1:])] if argv else [])


def _metrics(run_path: Path, model: str) -> dict | None:
    f = run_path / "metrics.json"
    if not f.exists():
        return None
    try:
        doc = json.loads(f.read_text())
    except (OSError, json.JSONDecodeError) as e:
        log.warning("%s unreadable (%s); provenance will lack metrics", f, e)
        return None
    models = doc.get("models", {}) if isinstance(doc, dict) else {}
    if model not in models:
        return None
    # scalars and per-speaker accuracy; the confusion matrix stays in the run
    keep = {k: v for k, v in models[model].items() if not isinstance(v, list)}
    return {"protocol": doc.get("protocol"), "evaluated": doc.get("evaluated"), **keep}


def _decision_spec(model_dir: Path) -> dict:
    """The bundle's decision keys of a deploy model: logits output, temperature, threshold.

    From ``calibration.json`` (written by the deploy trainer: temperature scaling and the
    threshold chosen on the validation split), plus the data it was trained on.

    Raises
    ------
    RunError
        If the model has no ``calibration.json`` (training did not finish).
    """
    f = model_dir / "calibration.json"
    if not f.exists():
        raise RunError(f"{model_dir}: no calibration.json; the deploy training did not finish (rerun 'train')")
    cal = json.loads(f.read_text())
    run_info = json.loads((model_dir.parent / "run.json").read_text())
    return {
        "output_kind": "logits",
        "temperature": cal["temperature"],
        "threshold": cal["threshold"],
        "calibration": {k: cal[k] for k in ("ece_before", "ece_after", "val_samples", "val_accuracy_at_threshold",
                                            "val_false_accept_target", "method") if k in cal},
        "training_data": {"sources": run_info.get("sources"), "corpus": run_info.get("corpus"),
                          "deploy": run_info.get("deploy")},
    }


def calibration_log_mels(run, split, model: str, *, size: int = DEFAULT_CALIBRATION_SIZE, seed: int = 0,
                         cache_dir=None, progress: bool = False) -> np.ndarray:
    """The representative dataset: up to ``size`` log-mels of the split's training part.

    Clips come from the data the model was trained on (every clip of the augmentation grid,
    ``STRETCH_RATES x PITCH_SHIFTS_SEMITONES``, for
    ``*_aug`` models), from recordings chosen at random with ``seed``; features come
    from the run's cache (``trainer.data.dataset.build_arrays``).

    Returns
    -------
    log_mels : np.ndarray [shape=(n <= size, n_mels, n_frames), float32] (dB)
    """
    from trainer.data.dataset import build_arrays
    from trainer.models.lstm import uses_augmentation

    augment = uses_augmentation(model)
    # An augmented recording gives one clip per point of the grid (time-stretch rate x pitch shift).
    per_recording = len(STRETCH_RATES) * len(PITCH_SHIFTS_SEMITONES) if augment else 1
    rng = np.random.default_rng(seed)
    n_rec = min(len(split.train), -(-size // per_recording))
    chosen = sorted(rng.choice(len(split.train), size=n_rec, replace=False))
    arrays = build_arrays([split.train[i] for i in chosen], augment=augment, config=run.front_end,
                          cache_dir=cache_dir, progress=progress, description="calibration")
    keep = rng.permutation(len(arrays))[:size]
    return arrays.log_mel[np.sort(keep)]


def _threshold_by_fa_per_hour(tflite: bytes, mel_basis: np.ndarray, spec: dict, out: Path,
                              passages: list[Path], target: float, run_dir: Path) -> tuple[float, dict]:
    """Measure the bundle-to-be on the run's real validation sentences, ``passages`` and its validation
    words in a row (a probe copy beside ``out``); its threshold and rule (with the real validation
    digits' miss rate, :func:`export.threshold.fa_per_hour_threshold`)."""
    from .threshold import fa_per_hour_threshold, validation_real_digits, validation_real_speech, validation_word_stream

    out.parent.mkdir(parents=True, exist_ok=True)
    probe_root = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".probe-{out.name}-"))
    try:
        probe = write_bundle(probe_root / out.name, tflite=tflite, mel_basis=mel_basis, spec=spec)
        words = validation_word_stream(run_dir, probe_root / "validation_words.wav")
        streams = [*passages, *([words] if words is not None else [])]
        real_speech, real_digits = validation_real_speech(run_dir), validation_real_digits(run_dir)
        log.info("threshold: streaming %d real validation sentences, %d validation passages%s through %s; "
                 "%d real validation digits", len(real_speech), len(passages),
                 " and the validation words in a row" if words is not None else "", probe.parent, len(real_digits))
        rule = fa_per_hour_threshold(probe.parent, streams, target_per_hour=target, real_speech=real_speech,
                                     real_digits=real_digits)
    finally:
        shutil.rmtree(probe_root, ignore_errors=True)
    rule["clip_rule_threshold"] = spec.get("threshold")
    if not rule["met"]:
        log.warning("no threshold meets %.3g false accepts per hour of the validation speech; %.3f gives %.3g",
                    target, rule["threshold"], rule["fa_per_hour"])
    return rule["threshold"], rule


def export_run(
    run_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: str | None = DEFAULT_MODEL,
    quantization: str = DEFAULT_QUANTIZATION,
    fold: str | None = None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    calibration_size: int = DEFAULT_CALIBRATION_SIZE,
    force: bool = False,
    progress: bool = False,
    keras_model=None,
    calibration: np.ndarray | None = None,
    target_fa_per_hour: float | None = None,
    synth_dir: str | os.PathLike | None = None,
) -> Path:
    """Export one trained model of a run as a bundle.

    Parameters
    ----------
    run_dir : path
        A run directory written by ``spoken-digits train``.
    out : path
        Bundle directory ``.../NAME`` (see :func:`write_bundle`).
    model : str or None
        A trained spectrogram model of the run (``spectrogram`` or ``spectrogram_aug``, or for a
        deploy run the CNN it trained: ``cnn_spectrogram``, ``cnn_mfcc``, ``cnn_vgg``, ``ds_cnn``);
        None: the run's own model (a deploy run records it, else ``spectrogram_aug``).
    quantization : {"int8", "float16", "dynamic", "float32"}
    fold : str, optional
        The fold, for runs of the ``speaker`` protocol.
    data_dir, cache_dir : path, optional
        Where the recordings and the feature cache are (default: the run's, and the
        trainer's default cache); used for int8 calibration only.
    calibration_size : int >= 1
        Training clips in the representative dataset (int8).
    keras_model, calibration : optional
        Already loaded model / calibration log-mels (bench reuses them across variants).
    target_fa_per_hour : float >= 0 (1/h), optional
        Deploy runs: replace the trainer's threshold (a false-accept rate on validation clips)
        by the smallest one that keeps false accepts per hour of the validation voices' read
        passages and the validation Speech Commands words in a row
        (:func:`export.threshold.validation_word_stream`) at or under this target, measured through
        the exported model and the live
        segmenter (:mod:`export.threshold`); recorded in the bundle's ``threshold_rule``.
    synth_dir : path, optional
        The ``data synth --passages`` folder the run was trained with (required with
        ``target_fa_per_hour``).

    Returns
    -------
    json_path : Path

    Raises
    ------
    RunError
        Missing run, fold or trained model; a model that does not export; a
        ``target_fa_per_hour`` for a run that is not a deploy run, or without ``synth_dir``.
    FileExistsError, ValueError
        As :func:`write_bundle`; unknown quantization; no validation passages
        (:func:`export.threshold.validation_passages`).
    """
    from trainer.data.features import mel_filterbank
    from trainer.models.cnn import CNN_ARCHITECTURES
    from trainer.recipes.deploy import model_folder_of
    from trainer.models.lstm import MODEL_NAMES, base_kind, uses_augmentation
    from trainer.runs import load_model, load_run
    from trainer.recipes.train import git_commit

    from .convert import ConversionError

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if model is not None and model not in CNN_ARCHITECTURES and (model not in MODEL_NAMES or base_kind(model) != "spectrogram"):
        raise RunError(f"model {model!r} cannot be exported: only spectrogram, spectrogram_aug and the CNNs "
                       f"({', '.join(CNN_ARCHITECTURES)}) convert to TFLite")
    out = Path(out)
    check_bundle_name(out.name)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    run = load_run(run_dir, data_dir=data_dir)
    if model is None:
        model = model_folder_of(run.info) if run.protocol == "deploy" else DEFAULT_MODEL
    split = run.split(fold)
    model_path = run.model_dir(model, split.name) / "model.keras"
    if not model_path.exists():
        trained = ", ".join(run.trained_models()) or "none"
        raise RunError(f"{run.path}: model {model!r} is not trained{f' for fold {split.name!r}' if len(run.splits) > 1 else ''} "
                       f"(trained: {trained}); train it with 'spoken-digits train'")
    config: FrontEndConfig = run.front_end
    deploy = run.protocol == "deploy"
    if calibration is None and quantization == "int8":
        if deploy:  # the deploy trainer saved its representative log-mels (augmented training clips)
            calibration = np.load(model_path.parent / "representative.npy")[:calibration_size]
        else:
            calibration = calibration_log_mels(run, split, model, size=calibration_size, cache_dir=cache_dir,
                                               progress=progress)
    if keras_model is None:
        keras_model = load_model(model_path)
    decision = _decision_spec(model_path.parent) if deploy else None
    passages = None
    if target_fa_per_hour is not None:
        if not deploy:
            raise RunError(f"{run.path}: --target-fa-per-hour needs a deploy run (a model with a threshold)")
        if synth_dir is None:
            raise RunError("--target-fa-per-hour needs --synth-dir (the 'data synth --passages' folder)")
        from .threshold import validation_passages

        passages = validation_passages(run.path, synth_dir)  # before the conversion: fail fast
    try:
        tflite = convert(keras_model, quantization, calibration=calibration, logits=decision is not None)
    except ConversionError as e:
        raise RunError(f"{model_path}: {e}") from e
    inp, outp = tflite_io(tflite)
    train_info = {}
    if (model_path.parent / "train.json").exists():
        train_info = json.loads((model_path.parent / "train.json").read_text())
    spec = {
        "model": model,
        "quantization": quantization,
        "front_end": front_end_spec(config.to_dict()),
        "labels": list(run.info.get("labels", LABELS)),
        "input": inp,
        "output": outp,
        **(decision or {}),
        "representative_dataset": None if quantization != "int8" else {
            "source": f"training part of fold {split.name!r}", "augmented": deploy or uses_augmentation(model),
            "samples": int(len(calibration)),
        },
        "provenance": {
            "dataset": run.info.get("dataset"),
            "protocol": run.protocol,
            "fold": split.name,
            # Never an absolute path: the run relative to the bundle directory, the model to the run.
            "run": portable_path(run.path, out),
            "model_path": portable_path(model_path, run.path),
            "command": command_line(),
            "metrics": _metrics(run.path, model),
            "training": train_info or None,
            "settings": run.info.get("settings"),
            "commit": git_commit(),
            "run_commit": run.info.get("commit"),
            "run_created": run.info.get("created"),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(),
        },
    }
    mel_basis = mel_filterbank(config=config)
    if passages is not None:
        spec["threshold"], spec["threshold_rule"] = _threshold_by_fa_per_hour(
            tflite, mel_basis, spec, out, passages, target_fa_per_hour, run.path)
    json_path = write_bundle(out, tflite=tflite, mel_basis=mel_basis, spec=spec, force=force)
    load_bundle(json_path)  # read back: every check realtime will make
    log.info("wrote %s (%d bytes of TFLite)", out, len(tflite))
    return json_path


__all__ = ["DEFAULT_CALIBRATION_SIZE", "DEFAULT_MODEL", "DEFAULT_QUANTIZATION", "calibration_log_mels",
           "check_bundle_name", "command_line", "export_run", "portable_path", "tensor_entry", "tflite_io",
           "write_bundle"]
