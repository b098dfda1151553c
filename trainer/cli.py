"""Click commands of the trainer: ``data download``, ``data synth``, ``train``, ``evaluate``.

Heavy modules (TensorFlow, librosa) are imported inside the commands.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click

from .config import DEFAULT_SEED
from .data.fsdd import DATA_ENV_VAR, DEFAULT_DATA_DIR, PROTOCOLS

MODEL_CHOICES = ("raw", "spectrogram", "raw_aug", "spectrogram_aug", "all")
#: The deploy protocol's architectures beside the LSTM (trainer.models.cnn; issue 10).
CNN_CHOICES = ("cnn_spectrogram", "cnn_mfcc", "cnn_vgg", "ds_cnn")


def _data_dir_option(f):
    return click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help=f"Directory of FSDD '{{digit}}_{{speaker}}_{{index}}.wav' files. "
             f"Default: ${DATA_ENV_VAR}, else ./{DEFAULT_DATA_DIR}.",
    )(f)


def _cache_option(f):
    return click.option(
        "--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Cache of loaded/augmented clips. Default: $SPOKEN_DIGITS_CACHE, else ~/.cache/spoken-digits.",
    )(f)


def _print_deploy_metrics(run_dir: Path, metrics: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    m = next(iter(metrics["models"].values()))
    table = Table(title=f"{run_dir} (deploy; clean test windows; threshold {m['threshold']}, "
                        f"temperature {m['temperature']})")
    for col in ("source", "digits", "digit accuracy", "argmax accuracy", "non-digits", "false-accept rate"):
        table.add_column(col, justify="left" if col == "source" else "right")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for src, d in m["per_source"].items():
        table.add_row(src, str(d["digits"]), fmt(d["digit_accuracy"]), fmt(d["digit_argmax_accuracy"]),
                      str(d["negatives"]), fmt(d["false_accept_rate"]))
    Console().print(table)
    if m.get("per_fsdd_speaker"):
        held = m.get("held_out_speaker")
        t2 = Table(title="FSDD test digits per speaker" + (f" ({held} held out of training)" if held else
                                                             " (all of them also in training: FSDD README split)"))
        for col in ("speaker", "digits", "digit accuracy", "argmax accuracy"):
            t2.add_column(col, justify="left" if col == "speaker" else "right")
        for who, d in m["per_fsdd_speaker"].items():
            t2.add_row(who + (" (held out)" if who == held else ""), str(d["digits"]), fmt(d["digit_accuracy"]),
                       fmt(d["digit_argmax_accuracy"]))
        Console().print(t2)
    click.echo(f"ECE on the test windows: {m['ece_before']} before, {m['ece_after']} after temperature scaling")
    click.echo(f"wrote {Path(run_dir) / 'metrics.json'} and {Path(run_dir) / 'report.md'}")


@click.group()
def data() -> None:
    """Get the Free Spoken Digit Dataset (FSDD v1.0.10, CC BY-SA 4.0); render synthetic voices."""


@data.command("download")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA_DIR,
              show_default=True, help="Directory that receives the 3,000 recordings.")
@click.option("--url", default=None, help="Archive URL (https:// or file://). Default: the pinned v1.0.10 release.")
@click.option("--force", is_flag=True, help="Replace an existing --dest.")
def download_cmd(dest: Path, url: str | None, force: bool) -> None:
    """Download FSDD v1.0.10, verify every file's SHA-256, unpack atomically to --dest."""
    from .data.download import FSDD_URL, download

    out = download(dest, url=url or FSDD_URL, force=force)
    click.echo(f"FSDD recordings verified in {out}. Use --data-dir {out} (or export {DATA_ENV_VAR}={out}).")


def _engines_option(ctx, param, value: str) -> tuple[str, ...]:
    from .data.synth import ENGINES

    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    bad = [n for n in names if n not in ENGINES]
    if bad or not names:
        raise click.BadParameter(f"comma-separated subset of {','.join(ENGINES)}, got {value!r}")
    return names


@data.command("synth")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: DEST/<word>/<speaker>_nohash_<n>.wav, manifest.csv, SOURCE.md. "
                   "Keep it outside the repository.")
@click.option("--engines", default="espeak,flite,festival", show_default=True, callback=_engines_option,
              help="Comma-separated TTS engines; missing ones are skipped with a warning.")
@click.option("--words", type=click.Choice(("digits", "all")), default="all", show_default=True,
              help="digits: zero..nine only; all: also the ~60 non-digit words (near-misses such as "
                   "'tree', 'heaven', 'wine' and everyday words; never digit homophones such as 'won').")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Seed of each (speaker, word)'s choice of 3 (rate, pitch) settings.")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Parallel renders. [default: all cores]")
@click.option("--passages", is_flag=True,
              help="Also read a ~640-word passage with no digit or number word by each held-out voice "
                   "(DEST/passages/, passages.csv): continuous speech for false-accept measurement; and "
                   "another ~320-word passage by every other voice (DEST/train_passages/, "
                   "train_passages.csv): continuous-speech negatives for 'train --protocol deploy'.")
@click.option("--all-settings", is_flag=True, help="Render every (rate, pitch) setting, not 3 per speaker and word.")
@click.option("--extra-variants", is_flag=True,
              help="Also 12 more espeak-ng variants (6 female, 6 male; trainer/data/synth.py ESPEAK_EXTRA_VARIANTS) with "
                   "every accent that is not held out: 84 more training/validation voices, the held-out ones unchanged.")
@click.option("--strings", type=click.IntRange(0), default=0, show_default=True,
              help="Also N digit strings per voice (2-7 random digits, some zeros said 'oh'), each said as one "
                   "utterance without pauses (DEST/strings/, strings.csv): material of the digit-string model.")
@click.option("--force", is_flag=True, help="Re-render files that already exist (default: keep them and resume).")
def synth_cmd(dest: Path, engines, words: str, seed: int, jobs: int | None, passages: bool, all_settings: bool,
              extra_variants: bool, strings: int, force: bool) -> None:
    """Render digit and non-digit words with the Debian TTS voices (synthetic training/test speakers).

    \b
    Speakers: every installed English espeak-ng accent x 12 variants, flite kal/kal16/awb/rms/slt,
    festival kal_diphone/ked_diphone/cmu_us_slt_arctic_hts (apt-get install espeak-ng flite festival
    festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts). Each speaker says each word with 3
    (rate, pitch) settings drawn from its grid:
      rate:  espeak-ng words per minute (-s 120/160/200);
             flite/festival duration stretch factor (0.8/1.0/1.25, > 1 is slower)
      pitch: espeak-ng 0-99 (-p 30/50/70);
             flite/festival target mean F0 in Hz (around each voice's own; none for flite rms
             and the festival HTS voice)
    Clips are 22,050 Hz mono 16-bit, trimmed, peak -3 dBFS. The manifest's split column marks
    the held-out voices (test: never train on them). A rerun skips files already present.
    """
    from rich.console import Console
    from rich.table import Table

    from .data.synth import synthesize

    report = synthesize(dest, engines=engines, words=words, seed=seed, n_jobs=jobs, passages=passages,
                        all_settings=all_settings, extra_variants=extra_variants, strings=strings, force=force)
    splits = list(report.speakers.values())
    table = Table(title=f"{dest} ({report.seconds:.0f} s)")
    for col in ("clips", "rendered now", "kept", "rejected", "failed", "speakers (train/test)", "passages (test/train)",
                "strings"):
        table.add_column(col, justify="right")
    table.add_row(str(len(report.rows)), str(report.rendered), str(report.skipped), str(len(report.rejected)),
                  str(len(report.failed)), f"{splits.count('train')}/{splits.count('test')}",
                  f"{len(report.passages)}/{len(report.train_passages)}", str(len(report.strings)))
    Console().print(table)
    if report.failed:
        click.echo(f"{len(report.failed)} renders failed (first: {report.failed[0]}); rerun to retry them.", err=True)
    if report.clipped:
        click.echo(f"{len(report.clipped)} renders reached full scale in the engine (kept, normalized; first: "
                   f"{report.clipped[0]})", err=True)
    click.echo(f"wrote {Path(dest) / 'manifest.csv'} and {Path(dest) / 'SOURCE.md'}")


@click.command()
@click.option("--model", "model", type=click.Choice((*MODEL_CHOICES, "lstm", *CNN_CHOICES)), default="all",
              show_default=True,
              help="Which model to train; 'all' trains the four LSTMs. Deploy protocol: the LSTM (default; 'lstm', "
                   "'spectrogram_aug' or 'all', model folder spectrogram_aug) or a keyword CNN of the seeds, in "
                   "folder OUT/NAME: cnn_spectrogram (3x3 Conv2D+BatchNorm+max-pool blocks, Kaggle Speech "
                   "Commands style), cnn_mfcc (in-model MFCCs, Conv2D 7x7 56/112, two Dense 256), cnn_vgg (5x5 "
                   "Conv2D 32-32/64-64/128-128, VGG-like), ds_cnn (depthwise-separable, 'Hello Edge').")
@click.option("--protocol", type=click.Choice((*PROTOCOLS, "deploy", "commands")), default="seed", show_default=True,
              help="seed: 4 speakers, stratified 80/20 (the notebooks); official: indices 0-4 are test "
                   "(FSDD README); speaker: leave-one-speaker-out; deploy: the shipped model, on every corpus "
                   "with noise/babble/room augmentation (speaker-disjoint splits; see --corpus-root); commands: "
                   "the seeds' 12-class Speech Commands task (--words + _silence_ + _unknown_) on the shared "
                   "Speech Commands test copy (speaker-disjoint; far smaller than the seeds' training data), "
                   "--model a CNN (default cnn_spectrogram) or lstm.")
@click.option("--classes", type=click.Choice(("open", "digits")), default="open", show_default=True,
              help="Deploy protocol: 'open' = 10 digits + _silence_ + _unknown_ (rejects non-digits); "
                   "'digits' = the 10 digits only. The seed/official/speaker models always have 10.")
@click.option("--corpus-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Deploy protocol: a folder laid out like ../shared/data (fsdd/recordings, "
                   "speech_commands_v0.02_test, speech_commands_digits, noise). Default: $SPOKEN_DIGITS_CORPUS.")
@click.option("--synth-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Deploy protocol: synthetic voices rendered by 'spoken-digits data synth' (its manifest names "
                   "the held-out voices).")
@click.option("--folder", "folders", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Deploy protocol: an extra folder-per-label corpus (DIR/<word>/*.wav, Speech Commands layout; "
                   "repeatable).")
@click.option("--words", default=",".join(("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")),
              show_default=True, help="Commands protocol: the command words (Speech Commands folder names); every "
                                      "other word is _unknown_.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory, e.g. runs/seed. Rerunning resumes; finished models are kept.")
@_data_dir_option
@_cache_option
@click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs (early stopping may end sooner). [default: 100]")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Clips per batch. [default: 32]")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed of the split, weights and shuffling.")
@click.option("--ema-momentum", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=None,
              help="Average the weights over training (an exponential moving average with this momentum per "
                   "step, e.g. 0.999: about the last 1,000 batches; Polyak averaging): validation, early "
                   "stopping and the saved model use the average. [default: off]")
@click.option("--frame-length", type=click.IntRange(1), default=None,
              help="Raw models: samples per LSTM step (must divide 17,640; 441 = 20 ms at 22,050 Hz; "
                   "1 = the seed notebooks' literal model, very slow). [default: 441]")
@click.option("--lstm-units", type=click.IntRange(8, 512), default=None,
              help="Deploy protocol, LSTM: units of its LSTM layer. Measured int8 bundles ('spoken-digits "
                   "compare', tflite-runtime, 1 thread, 2-core x86_64 VM under load, invoke per 0.8 s window): "
                   "96 units 75.9 KB, 1.87 ms; 128 units 114.5 KB, 2.14 ms. [default: 96]")
@click.option("--log-mel-norm", type=click.Choice(("none", "band_mean")), default=None,
              help="Deploy protocol, LSTM: normalization of the log-mel inside the model. band_mean subtracts "
                   "each mel band's mean over the 0.8 s window (cepstral mean normalization: cancels a "
                   "microphone's frequency response and a steady noise floor); the bundle's front end is "
                   "unchanged. [default: none]")
@click.option("--conv-filters", type=click.IntRange(1, 64), default=None,
              help="Deploy protocol, LSTM: put a convolution with this many filters in front of the LSTM (a "
                   "CRNN after Arik et al. 2017: kernel 5 frames x 16 mel bands, stride 1 x 8; the LSTM then "
                   "reads 8 x N features per frame). Parameters grow with N (16: 94.7 k with the 96-unit "
                   "LSTM, 103 KB int8; the shipped model). [default: none]")
@click.option("--vtlp", "p_vtlp", type=click.FloatRange(0.0, 1.0), default=None,
              help="Deploy protocol: vocal tract length perturbation (Jaitly & Hinton 2013) on this share of the "
                   "augmented copies: the log-mel's frequencies scaled by a factor drawn from 0.9-1.2 (formants "
                   "of a shorter or longer vocal tract; FSDD's six voices are men's). [default: 0, off]")
@click.option("--real-speech-words", type=click.IntRange(0), default=None,
              help="Deploy protocol: this many _unknown_ clips cut from the stretches between the pauses of the "
                   "training readers' real sentences (speechocean762; a word or two each, as the segmenter cuts "
                   "them when a reader pauses), 12 % as many in validation. 2,500 was measured in "
                   "docs/results.md: fewer real digits kept. [default: 0, none]")
@click.option("--cnn-dense-units", type=click.IntRange(8, 1024), default=None,
              help="Deploy protocol, cnn_spectrogram / cnn_mfcc / cnn_vgg: units of the dense layer(s) after "
                   "Flatten, which hold most of their parameters (cnn_spectrogram: 128 units 287 k parameters, "
                   "292 KB int8; 32 units 89.6 k parameters, 96.7 KB). [default: 128 / 256 / 256]")
@click.option("--ds-cnn-filters", type=click.IntRange(4, 256), default=None,
              help="Deploy protocol, ds_cnn: channels of its convolutions; the invoke time grows about with "
                   "their square. Measured: 64 channels 45.3 KB int8, 2.6-4.4 ms per 0.8 s window ('compare', "
                   "tflite-runtime, 1 thread, 2-core x86_64 VM). [default: 64]")
@click.option("--hold-out-speaker", default=None, metavar="SPEAKER",
              help="Deploy protocol: leave this FSDD speaker (george, jackson, lucas, nicolas, theo, yweweler) out "
                   "of training and validation; all of their clips become test clips ('evaluate' scores them per "
                   "speaker; 'spoken-digits loso' does every speaker in turn).")
@click.option("--force", is_flag=True, help="Retrain models that are already finished in --out.")
def train(model, protocol, classes, corpus_root, synth_dir, folders, words, out, data_dir, cache_dir, epochs,
          batch_size, seed, ema_momentum, frame_length, lstm_units, log_mel_norm, conv_filters, p_vtlp, real_speech_words,
          cnn_dense_units, ds_cnn_filters, hold_out_speaker, force) -> None:
    """Train LSTM models on FSDD into the run directory --out.

    Writes per model: model.keras, history.csv, train.json and TensorBoard logs
    (loss, micro-F1, gradient histograms; view with 'tensorboard --logdir OUT').
    """
    from .data.fsdd import default_data_dir
    from .models.lstm import MODEL_NAMES
    from .recipes.train import TrainSettings
    from .recipes.train import train as run_train

    defaults = TrainSettings()
    settings = TrainSettings(
        epochs=epochs or defaults.epochs, batch_size=batch_size or defaults.batch_size, seed=seed,
        frame_length=frame_length or defaults.frame_length, ema_momentum=ema_momentum,
    )
    if protocol == "deploy":
        if model not in ("all", "spectrogram_aug", "lstm", *CNN_CHOICES):
            raise click.BadParameter(f"the deploy protocol trains the LSTM (lstm/spectrogram_aug) or one of "
                                     f"{', '.join(CNN_CHOICES)}, not {model!r}", param_hint="--model")
        architecture = model if model in CNN_CHOICES else "lstm"
        if lstm_units is not None and architecture != "lstm":
            raise click.BadParameter("--lstm-units sets the LSTM's size, not a CNN's", param_hint="--lstm-units")
        if log_mel_norm is not None and architecture != "lstm":
            raise click.BadParameter("--log-mel-norm is built into the LSTM only", param_hint="--log-mel-norm")
        if conv_filters is not None and architecture != "lstm":
            raise click.BadParameter(f"--conv-filters puts a convolution in front of the LSTM; {architecture} is a "
                                     "CNN already", param_hint="--conv-filters")
        if cnn_dense_units is not None and architecture not in ("cnn_spectrogram", "cnn_mfcc", "cnn_vgg"):
            raise click.BadParameter(f"--cnn-dense-units sets the dense head of cnn_spectrogram, cnn_mfcc or cnn_vgg; "
                                     f"{architecture} has none", param_hint="--cnn-dense-units")
        if ds_cnn_filters is not None and architecture != "ds_cnn":
            raise click.BadParameter(f"--ds-cnn-filters sets ds_cnn's channels, not {architecture}'s",
                                     param_hint="--ds-cnn-filters")
        _train_deploy(out, classes, corpus_root, synth_dir, folders, data_dir, cache_dir, settings, force, architecture,
                      lstm_units, cnn_dense_units, ds_cnn_filters, hold_out_speaker, log_mel_norm, conv_filters, p_vtlp,
                      real_speech_words)
        return
    for name, value in (("--lstm-units", lstm_units), ("--conv-filters", conv_filters),
                        ("--cnn-dense-units", cnn_dense_units), ("--ds-cnn-filters", ds_cnn_filters),
                        ("--hold-out-speaker", hold_out_speaker), ("--log-mel-norm", log_mel_norm),
                        ("--vtlp", p_vtlp), ("--real-speech-words", real_speech_words)):
        if value is not None:
            raise click.BadParameter(f"{name} applies to the deploy protocol", param_hint=name)
    if protocol == "commands":
        if model not in ("all", "lstm", *CNN_CHOICES):
            raise click.BadParameter(f"the commands protocol trains lstm or one of {', '.join(CNN_CHOICES)}, "
                                     f"not {model!r}", param_hint="--model")
        _train_commands(out, "cnn_spectrogram" if model == "all" else model, words, corpus_root, cache_dir, settings,
                        force)
        return
    if model in (*CNN_CHOICES, "lstm"):
        raise click.BadParameter(f"{model!r} trains on the deploy protocol only (--protocol deploy)", param_hint="--model")
    models = list(MODEL_NAMES) if model == "all" else [model]
    t0 = time.perf_counter()
    run_train(out, models, protocol=protocol, data_dir=data_dir or default_data_dir(), settings=settings,
              cache_dir=cache_dir, force=force)
    click.echo(f"trained {', '.join(models)} on protocol {protocol} in {time.perf_counter() - t0:.0f} s -> {out}")
    click.echo(f"next: spoken-digits evaluate {out}")


def _deploy_paths(corpus_root, synth_dir, folders, data_dir):
    """The deploy protocol's corpus paths from the CLI options (``--corpus-root`` or $SPOKEN_DIGITS_CORPUS)."""
    import os

    from .data.corpus import CorpusPaths
    from .errors import DataError

    root = corpus_root or (Path(os.environ["SPOKEN_DIGITS_CORPUS"]) if os.environ.get("SPOKEN_DIGITS_CORPUS") else None)
    if root is None:
        raise DataError("the deploy protocol needs --corpus-root (or $SPOKEN_DIGITS_CORPUS): a folder with "
                        "fsdd/recordings, speech_commands_v0.02_test, speech_commands_digits and noise")
    paths = CorpusPaths.shared(root, synth=synth_dir)
    if data_dir is not None:
        paths = dataclasses.replace(paths, fsdd=data_dir)
    return dataclasses.replace(paths, folders=tuple(folders))


def _deploy_settings(classes, architecture="lstm", lstm_units=None, cnn_dense_units=None, ds_cnn_filters=None,
                     hold_out_speaker=None, log_mel_norm=None, conv_filters=None, p_vtlp=None, real_speech_words=None):
    from .recipes.deploy import DeploySettings

    deploy = DeploySettings(classes=classes, architecture=architecture, held_out_speaker=hold_out_speaker,
                            log_mel_norm=log_mel_norm or "none", conv_filters=conv_filters)
    if p_vtlp is not None:
        deploy = dataclasses.replace(deploy, augment=dataclasses.replace(deploy.augment, p_vtlp=p_vtlp))
    if lstm_units is not None:
        deploy = dataclasses.replace(deploy, lstm_units=lstm_units)
    if real_speech_words is not None:
        deploy = dataclasses.replace(deploy, real_speech_words=real_speech_words)
    if cnn_dense_units is not None:
        deploy = dataclasses.replace(deploy, cnn_dense_units=cnn_dense_units)
    if ds_cnn_filters is not None:
        deploy = dataclasses.replace(deploy, ds_cnn_filters=ds_cnn_filters)
    return deploy


def _train_deploy(out, classes, corpus_root, synth_dir, folders, data_dir, cache_dir, settings, force,
                  architecture: str = "lstm", lstm_units: int | None = None,
                  cnn_dense_units: int | None = None, ds_cnn_filters: int | None = None,
                  hold_out_speaker: str | None = None, log_mel_norm: str | None = None,
                  conv_filters: int | None = None, p_vtlp: float | None = None,
                  real_speech_words: int | None = None) -> None:
    from .recipes.deploy import train_deploy

    paths = _deploy_paths(corpus_root, synth_dir, folders, data_dir)
    t0 = time.perf_counter()
    deploy = _deploy_settings(classes, architecture, lstm_units, cnn_dense_units, ds_cnn_filters, hold_out_speaker,
                              log_mel_norm, conv_filters, p_vtlp, real_speech_words)
    train_deploy(out, paths=paths, deploy=deploy, train_settings=settings, cache_dir=cache_dir, force=force)
    click.echo(f"trained the deploy model ({architecture}, {classes} classes) in {time.perf_counter() - t0:.0f} s -> {out}")
    click.echo(f"next: spoken-digits export {out} --out bundles/NAME")


def _train_commands(out, architecture, words, corpus_root, cache_dir, settings, force) -> None:
    import os

    from .recipes.commands import train_commands
    from .errors import DataError

    root = corpus_root or (Path(os.environ["SPOKEN_DIGITS_CORPUS"]) if os.environ.get("SPOKEN_DIGITS_CORPUS") else None)
    if root is None:
        raise DataError("the commands protocol needs --corpus-root (or $SPOKEN_DIGITS_CORPUS): a folder with "
                        "speech_commands_v0.02_test and noise")
    word_list = [w.strip() for w in words.split(",") if w.strip()]
    t0 = time.perf_counter()
    metrics = train_commands(out, root=root, words=word_list, architecture=architecture, train_settings=settings,
                             cache_dir=cache_dir, force=force)
    m = metrics["models"][architecture]
    click.echo(f"trained {architecture} on {len(m['labels'])} classes in {time.perf_counter() - t0:.0f} s -> {out}; "
               f"test accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} ({m['n_test']} clips, "
               f"{m['test_speakers']} held-out speakers); {Path(out) / 'report.md'}")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", "models", multiple=True, help="Evaluate only this model (repeatable). Default: every trained one.")
@_data_dir_option
@_cache_option
def evaluate(run_dir, models, data_dir, cache_dir) -> None:
    """Score RUN_DIR's models on the test part: metrics.json, report.md, confusion PNGs."""
    from rich.console import Console
    from rich.table import Table

    from .evaluation.evaluate import SEED_NOTEBOOK_MICRO_F1
    from .evaluation.evaluate import evaluate as run_evaluate

    metrics = run_evaluate(run_dir, data_dir=data_dir, cache_dir=cache_dir, models=models or None)
    if metrics["protocol"] == "commands":
        for name, m in metrics["models"].items():
            click.echo(f"{name}: test accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} ({m['n_test']} clips, "
                       f"{m['test_speakers']} held-out speakers); wrote {Path(run_dir) / 'metrics.json'} and report.md")
        return
    if metrics["protocol"] == "deploy":
        _print_deploy_metrics(run_dir, metrics)
        return
    table = Table(title=f"{run_dir} (protocol {metrics['protocol']})")
    for col in ("model", "train loss", "val loss", "test micro-F1", "macro-F1", "seed notebook"):
        table.add_column(col, justify="right" if col != "model" else "left")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for name, m in metrics["models"].items():
        table.add_row(name, fmt(m["train_loss"]), fmt(m["val_loss"]), f"{m['micro_f1']:.3f}", f"{m['macro_f1']:.3f}",
                      fmt(SEED_NOTEBOOK_MICRO_F1.get(name)))
    Console().print(table)
    click.echo(f"wrote {Path(run_dir) / 'metrics.json'}, {Path(run_dir) / 'report.md'} and MODEL/confusion.png")


@click.command()
@click.option("--corpus-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A folder laid out like ../shared/data (as 'train --protocol deploy'). "
                   "Default: $SPOKEN_DIGITS_CORPUS.")
@click.option("--synth-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Synthetic voices of 'spoken-digits data synth' (as 'train --protocol deploy').")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder of the runs: OUT/<speaker>/ per held-out speaker, and OUT/loso.json. Rerunning "
                   "resumes at the first speaker not finished.")
@click.option("--speakers", default=None, metavar="A,B,...",
              help="FSDD speakers to hold out in turn. [default: every FSDD speaker]")
@click.option("--model", "model", type=click.Choice(("lstm", *CNN_CHOICES)), default="lstm", show_default=True,
              help="The deploy recipe's model family.")
@click.option("--classes", type=click.Choice(("open", "digits")), default="open", show_default=True,
              help="As 'train --protocol deploy'.")
@click.option("--epochs", type=click.IntRange(1), default=60, show_default=True,
              help="Maximum epochs per run (the shipped recipe: 60).")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Clips per batch.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed of weights and augmentation.")
@click.option("--log-mel-norm", type=click.Choice(("none", "band_mean")), default=None,
              help="LSTM: normalization of the log-mel inside the model, as 'train --protocol deploy' "
                   "(the shipped model: band_mean). [default: none]")
@click.option("--conv-filters", type=click.IntRange(1, 64), default=None,
              help="LSTM: a convolution with this many filters in front of it (a CRNN), as 'train --protocol "
                   "deploy' (the shipped model: 16). [default: none]")
@click.option("--vtlp", "p_vtlp", type=click.FloatRange(0.0, 1.0), default=None,
              help="Share of the augmented copies with vocal tract length perturbation, as 'train --protocol "
                   "deploy'. [default: 0, off]")
@click.option("--ema-momentum", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=None,
              help="Average the weights over training, as 'train --ema-momentum'. [default: off]")
@click.option("--score-threshold", "score_thresholds", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              multiple=True, metavar="P",
              help="Also score every held-out voice at this top-digit probability (repeatable), with each "
                   "run's own temperature. [default: the shipped bundle's threshold]")
@_data_dir_option
@_cache_option
@click.option("--force", is_flag=True, help="Retrain runs that are already finished.")
def loso(corpus_root, synth_dir, out, speakers, model, classes, epochs, batch_size, seed, log_mel_norm, conv_filters,
         p_vtlp, ema_momentum, score_thresholds, data_dir, cache_dir, force) -> None:
    """Leave-one-speaker-out on FSDD for the deploy recipe: one run per held-out speaker.

    Each FSDD speaker in turn is left out of training and validation (every other source as
    in 'train --protocol deploy'), and all of their clips are scored: clean 0.8 s windows,
    Keras float, at the run's own calibrated threshold (its clip rule), a rejection counting as
    an error, and at the shipped bundle's threshold (or each --score-threshold).
    Prints the per-speaker table with the mean and the worst speaker; writes OUT/loso.json.
    Time: one deploy training per speaker (about 15-25 min each for the LSTM on 2 cores).
    """
    from rich.console import Console
    from rich.table import Table

    from .recipes.loso import LOSO_FILE, run_loso
    from .recipes.train import TrainSettings

    if log_mel_norm is not None and model != "lstm":
        raise click.BadParameter("--log-mel-norm is built into the LSTM only", param_hint="--log-mel-norm")
    if conv_filters is not None and model != "lstm":
        raise click.BadParameter("--conv-filters puts a convolution in front of the LSTM only",
                                 param_hint="--conv-filters")
    paths = _deploy_paths(corpus_root, synth_dir, (), data_dir)
    who = [s.strip() for s in speakers.split(",") if s.strip()] if speakers else None
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, seed=seed, ema_momentum=ema_momentum)
    t0 = time.perf_counter()
    deploy = _deploy_settings(classes, model, log_mel_norm=log_mel_norm, conv_filters=conv_filters, p_vtlp=p_vtlp)
    if not score_thresholds:
        from realtime.bundle import DEFAULT_BUNDLE, load_bundle

        score_thresholds = (load_bundle(DEFAULT_BUNDLE).threshold,)
    summary = run_loso(out, paths=paths, deploy=deploy, train_settings=settings, speakers=who, cache_dir=cache_dir,
                       force=force, score_thresholds=score_thresholds)
    fmt = lambda v: f"{v:.3f}"  # noqa: E731
    keys = [f"{float(x):.3f}" for x in score_thresholds]
    table = Table(title=f"Leave-one-speaker-out on FSDD, deploy recipe ({model}, {classes}); every clip of the "
                        f"held-out speaker, clean windows, at each run's threshold and at {', '.join(keys)}")
    for col in ("held-out speaker", "digits", "digit accuracy", "argmax accuracy", "threshold", *(f"at {k}" for k in keys)):
        table.add_column(col, justify="left" if col == "held-out speaker" else "right")
    for s, d in summary["speakers"].items():
        at = d.get("digit_accuracy_at", {})
        table.add_row(s, str(d["digits"]), fmt(d["digit_accuracy"]), fmt(d["digit_argmax_accuracy"]),
                      f"{d['threshold']:.3f}", *(fmt(at[k]) if k in at else "-" for k in keys))
    table.add_row("mean", "", fmt(summary["mean_digit_accuracy"]), fmt(summary["mean_argmax_accuracy"]), "",
                  *(fmt(summary.get("at_threshold", {})[k]["mean_digit_accuracy"])
                    if k in summary.get("at_threshold", {}) else "-" for k in keys))
    Console().print(table)
    click.echo(f"worst speaker: {summary['worst_speaker']} ({summary['worst_digit_accuracy']:.3f}); "
               f"{time.perf_counter() - t0:.0f} s; wrote {Path(out) / LOSO_FILE}")
