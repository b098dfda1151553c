"""``spoken-digits export`` and ``spoken-digits bench`` (loaded lazily by ``spoken_digits_cli``).

TensorFlow is imported inside the commands only; ``spoken_digits_cli`` quiets its start-up
(``TF_CPP_MIN_LOG_LEVEL``) before loading this module.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from realtime.bundle import QUANTIZATIONS

from .exporter import DEFAULT_CALIBRATION_SIZE, DEFAULT_MODEL, DEFAULT_QUANTIZATION

EXPORTABLE_MODELS = ("spectrogram", "spectrogram_aug", "cnn_spectrogram", "cnn_mfcc", "cnn_vgg", "ds_cnn")


@click.command("export")
@click.argument("run_dir", metavar="RUN", type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", type=click.Choice(EXPORTABLE_MODELS), default=None,
              help="Which trained model of the run to export. Default: the model a deploy run trained "
                   f"(its --model), else {DEFAULT_MODEL}. The CNNs come from deploy runs only.")
@click.option("--quantize", "quantization", type=click.Choice(QUANTIZATIONS), default=DEFAULT_QUANTIZATION,
              show_default=True,
              help="int8: full-integer, int8 input/output, calibrated on training log-mels; float16: float16 "
                   "weights; dynamic: int8 weights, float activations; float32: none.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Bundle directory bundles/NAME; writes NAME.tflite, NAME.json and NAME.mel.npz in it.")
@click.option("--fold", default=None, help="Fold to export, for runs of the speaker protocol.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="FSDD recordings, if not where the run found them (int8 calibration reads them).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Feature cache (default: $SPOKEN_DIGITS_CACHE or ~/.cache/spoken-digits).")
@click.option("--calibration-size", type=click.IntRange(1), default=DEFAULT_CALIBRATION_SIZE, show_default=True,
              help="Training clips in the int8 representative dataset.")
@click.option("--target-fa-per-hour", type=click.FloatRange(0), default=None,
              help="Deploy runs: choose the bundle's threshold as the smallest one (>= 0.5) that keeps false "
                   "accepts per hour of validation speech at or under this many (1/h): the validation speakers' "
                   "real read sentences (speechocean762; on these alone too), the validation voices' read "
                   "passages and the validation Speech Commands words in a row, "
                   "measured through the int8 model and the live segmenter. Default: the trainer's threshold "
                   "(3 %% false accepts on validation clips).")
@click.option("--synth-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --target-fa-per-hour: the 'data synth --passages' folder the run was trained with.")
@click.option("--force", is_flag=True, help="Replace an existing bundle directory.")
def export(run_dir, model, quantization, out, fold, data_dir, cache_dir, calibration_size, target_fa_per_hour,
           synth_dir, force):
    """Export a trained spectrogram model of RUN as a TFLite bundle for the edge.

    The bundle (directory --out, files named after it) holds the model with builtin
    TFLite ops only (a fused LSTM, or the CNN's convolutions), the front-end spec, labels, input/output
    quantization, provenance and checksums, and the mel filterbank. One
    quantization per bundle; 'spoken-digits bench BUNDLE' exports and compares
    the other variants itself. Example:

    \b
        spoken-digits export runs/official --model spectrogram_aug --out bundles/official
        spoken-digits bench bundles/official
    """
    from .exporter import export_run

    try:
        json_path = export_run(run_dir, out, model=model, quantization=quantization, fold=fold, data_dir=data_dir,
                               cache_dir=cache_dir, calibration_size=calibration_size, force=force, progress=True,
                               target_fa_per_hour=target_fa_per_hour, synth_dir=synth_dir)
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    spec = json.loads(json_path.read_text())
    size = spec["files"]["tflite"]["bytes"]
    click.echo(f"wrote {json_path.parent}/ ({quantization}, {size / 1024:.1f} KB model, "
               f"input {spec['input']['dtype']}, output {spec['output']['dtype']})")
    rule = spec.get("threshold_rule")
    if rule:
        click.echo(f"threshold {rule['threshold']:.3f}: {rule['fa_per_hour']:g} false accepts per hour of "
                   f"{rule['audio_s'] / 60:.1f} min of validation speech (real sentences, passages, words in a row; target "
                   f"{rule['target_per_hour']:g}"
                   f"{'' if rule['met'] else ', NOT met'}; the trainer's clip rule gave {rule['clip_rule_threshold']})")
        if rule.get("real_speech"):
            rs = rule["real_speech"]
            click.echo(f"  real read sentences of validation speakers: {rs['fa_per_hour']:g} false digits per hour "
                       f"({rs['audio_s'] / 60:.1f} min, {rs['files']} files)")
        if rule.get("real_digits"):
            rd = rule["real_digits"]
            click.echo(f"  real validation digits: miss rate {rd['miss_rate']:.3f} of {rd['n']}")


@click.command("bench")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The run the bundle came from (default: the one in its provenance).")
@click.option("--variants", default=",".join(QUANTIZATIONS), show_default=True,
              help="Comma-separated quantization variants to compare (each exported to a temporary directory).")
@click.option("--interpreter", "interpreters", multiple=True, type=click.Choice(["tflite_runtime", "ai_edge_litert"]),
              help="Interpreter(s) to run (repeatable; default: every one installed).")
@click.option("--max-windows", type=click.IntRange(1), default=None,
              help="Use only the first N test windows (default: the whole test part).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="FSDD recordings, if not where the run found them.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Feature cache (default: $SPOKEN_DIGITS_CACHE or ~/.cache/spoken-digits).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the full results (including per-variant timings) to this JSON file.")
def bench(bundle, run_dir, variants, interpreters, max_windows, data_dir, cache_dir, json_out):
    """Benchmark every quantization variant of BUNDLE's model beside Keras float.

    Per variant and interpreter, in a separate edge-only process with 1 thread:
    file size, front-end and invoke time per 0.8 s window (median, p95), top-1
    agreement and max probability difference with Keras on the same windows,
    accuracy on the run's test part, and peak RSS. Keras float is timed with
    model(x, training=False) and model.predict(x), one window at a time.

    A deploy bundle (train --protocol deploy) is measured on its run's clean test
    clips of every source (held-out speakers and voices, generated negatives; all
    its labels, e.g. 12 with --classes open), and compared with Keras'
    softmax(logits / temperature), the probabilities the bundle gives.
    """
    from rich.console import Console

    from .bench import bench as run_bench
    from .bench import format_table

    names = [v.strip() for v in variants.split(",") if v.strip()]
    bad = [v for v in names if v not in QUANTIZATIONS]
    if bad or not names:
        raise click.BadParameter(f"{','.join(bad) or '(empty)'}; choose from {', '.join(QUANTIZATIONS)}", param_hint="--variants")
    result = run_bench(bundle, run_dir=run_dir, data_dir=data_dir, cache_dir=cache_dir, variants=names,
                       interpreters=list(interpreters) or None, max_windows=max_windows, progress=True)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(format_table(result))
    if json_out:
        from trainer.runs import write_json_atomic

        write_json_atomic(json_out, result)
        click.echo(f"wrote {json_out}")


@click.command("export-strings")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--bundle", "base", type=click.Path(path_type=Path), required=True,
              help="The isolated-digit bundle to extend (directory or NAME.json); it is copied, not changed.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="New bundle directory bundles/NAME: the bundle's files plus NAME.strings.tflite.")
@click.option("--quantize", "quantization", type=click.Choice(QUANTIZATIONS), default=DEFAULT_QUANTIZATION,
              show_default=True, help="As 'export'; int8 calibrates on RUN/representative.npz.")
@click.option("--max-s", type=click.FloatRange(0.5, 30.0), default=8.0, show_default=True,
              help="Longest utterance (seconds) the string model reads whole: fixes its input frames "
                   "(and its cost per utterance).")
@click.option("--min-speech-ms", type=click.FloatRange(0), default=800.0, show_default=True,
              help="Route, in milliseconds of speech: longer utterances are read by the string model, "
                   "shorter ones by the 0.8 s window classifier.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Minimum confidence (0-1) of a string's least sure digit; default: accept every string.")
@click.option("--hangover-ms", type=click.FloatRange(50, 1000), default=None,
              help="Silence (ms) that ends an utterance with the string model: longer joins digits said with "
                   "short pauses into one string, and delays every decision by as much. Default: the segmenter's "
                   "150 ms.")
@click.option("--min-digits-per-s", type=click.FloatRange(0), default=0.0, show_default=True,
              help="A string needs at least this many digits per second of speech (a false digit in a sentence "
                   "sits among seconds of other words); 0: no such rule.")
@click.option("--input-frames", type=click.Choice(("dynamic", "fixed")), default="dynamic", show_default=True,
              help="dynamic: the interpreter's input is resized to each utterance (no padding; needed by a "
                   "bidirectional model); fixed: every utterance padded with silence to --max-s.")
@click.option("--confirm-threshold", type=click.FloatRange(0, 1), default=None,
              help="A digit the window classifier puts on top with at least this probability (0-1) but under the "
                   "bundle's threshold is accepted if the string model reads the same one digit (two models agreeing "
                   "on an unsure digit); default: no confirmation. 'strings --split val --sweep' chooses it.")
@click.option("--confirm-string-threshold", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="With --confirm-threshold: the string model's confidence (0-1) in that digit must be at least this.")
@click.option("--veto-threshold", type=click.FloatRange(0, 1), default=None,
              help="A digit the window classifier accepts is rejected if the string model's highest posterior "
                   "(0-1) of that digit anywhere in the utterance is under this (it did not hear that digit); "
                   "default: no veto. 'strings --split val --sweep' chooses it.")
@click.option("--veto-min-peak-over-floor-db", type=click.FloatRange(0, 120), default=0.0, show_default=True,
              help="With --veto-threshold: veto only in utterances whose speech peaks at least this many dB over the "
                   "noise floor (the string model misses real digits in babble and noise too); 0: everywhere.")
@click.option("--classifier-threshold", type=click.FloatRange(0, 1), default=None,
              help="Replace the bundle's window-classifier threshold (0-1) with this one, chosen with the veto "
                   "by 'strings --split val --sweep'; default: the bundle's own.")
@click.option("--force", is_flag=True, help="Replace an existing bundle directory.")
def export_strings_cmd(run_dir, base, out, quantization, max_s, min_speech_ms, threshold, hangover_ms,
                       min_digits_per_s, input_frames, confirm_threshold, confirm_string_threshold, veto_threshold,
                       veto_min_peak_over_floor_db, classifier_threshold, force):
    """Add the digit-string (CTC) model of RUN to a bundle, for digits said in a row without pauses.

    RUN is a run of 'python -m trainer.recipes.strings'. The string model is converted for utterances
    of up to --max-s seconds (builtin TFLite ops, fused LSTM); recognize and listen then read
    utterances longer than --min-speech-ms with it and report the string ("digits": "4172").
    RUN may also be a bundle that has a string model: its converted model is copied as it is, with
    its settings except the options given here (--quantize, --max-s and --input-frames do not apply);
    for a new window classifier beside the string model of the shipped bundle. Examples:

    \b
        spoken-digits export-strings runs/strings8 --bundle realtime/models/default --out bundles/strings8
        spoken-digits export-strings realtime/models/default --bundle bundles/new --out bundles/new_strings
    """
    from .strings import export_strings, graft_strings

    if run_dir.suffix == ".json" or (not (run_dir / "model.keras").is_file() and any(run_dir.glob("*.tflite"))):
        given = {name: value for name, value in (
            ("min_speech_ms", min_speech_ms), ("threshold", threshold), ("hangover_ms", hangover_ms),
            ("min_digits_per_s", min_digits_per_s), ("confirm_threshold", confirm_threshold),
            ("confirm_string_threshold", confirm_string_threshold), ("veto_threshold", veto_threshold),
            ("veto_min_peak_over_floor_db", veto_min_peak_over_floor_db))
            if click.get_current_context().get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
        try:
            path = graft_strings(run_dir, base, out, settings=given, classifier_threshold=classifier_threshold,
                                 force=force)
        except (ValueError, FileExistsError) as e:
            raise click.ClickException(str(e)) from e
        click.echo(f"wrote {path}")
        return
    path = export_strings(run_dir, base, out, quantization=quantization, max_s=max_s, min_speech_ms=min_speech_ms,
                          threshold=threshold, hangover_ms=hangover_ms, min_digits_per_s=min_digits_per_s,
                          input_frames=input_frames, confirm_threshold=confirm_threshold,
                          confirm_string_threshold=confirm_string_threshold, veto_threshold=veto_threshold,
                          veto_min_peak_over_floor_db=veto_min_peak_over_floor_db,
                          classifier_threshold=classifier_threshold, force=force)
    click.echo(f"wrote {path}")
