"""The ``spoken-digits`` command line: one click group whose subcommands load lazily.

Nothing heavy is imported here: ``spoken-digits listen`` never imports TensorFlow,
and ``--help`` works without any extra installed.
"""
from __future__ import annotations

import importlib
import logging
import os
import re
import sys

import click

# name -> (module:attribute, one-line help, extra that provides its dependencies)
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "data": ("trainer.cli:data", "Download and verify the Free Spoken Digit Dataset; render synthetic voices.", None),
    "train": ("trainer.cli:train", "Train the LSTM models on FSDD into a run directory.", "train"),
    "evaluate": ("trainer.cli:evaluate", "Score a run's models on its test part; write reports.", "train"),
    "loso": ("trainer.cli:loso", "Leave-one-speaker-out on FSDD for the deploy recipe (one run per speaker).",
             "train"),
    "export": ("export.cli:export", "Export a trained model as a quantized TFLite bundle.", "train"),
    "export-strings": ("export.cli:export_strings_cmd",
                       "Add a digit-string (CTC) model to a bundle (digits said in a row).", "train"),
    "bench": ("export.cli:bench", "Benchmark a bundle's variants against Keras (size, speed, agreement).", "train"),
    "robustness": ("trainer.evaluation.robustness.cli:robustness",
                   "Digit accuracy of a bundle through the segmenter: clean, babble, noise, reverb.", "train"),
    "far": ("trainer.evaluation.robustness.cli:far", "False accepts of a bundle: negative clips, per hour, threshold sweep.", "train"),
    "compare": ("trainer.evaluation.compare:compare_cmd",
                "Compare bundles in one table: accuracy clean / babble, false accepts, size, speed.", "train"),
    "strings": ("trainer.evaluation.string_robustness:strings_cmd",
                "Digit strings, isolated digits and running speech through a bundle: exact strings, DER, false digits.",
                "train"),
    "bench-strings": ("realtime.bench_strings:bench_strings_cmd",
                      "Size and time per second of audio of a bundle's digit-string model (edge path).", None),
    "recognize": ("realtime.cli:recognize", "Recognize the digits spoken in WAV files.", None),
    "listen": ("realtime.cli:listen", "Recognize digits live from a microphone.", None),
    "calibrate": ("realtime.cli:calibrate", "Measure false digits in your background; store a threshold for it.", None),
}

#: Top-level modules a missing extra leaves out, and the extra that brings them.
EXTRA_OF_MODULE = {
    "tensorflow": "train", "keras": "train", "tf_keras": "train", "librosa": "train", "sklearn": "train",
    "matplotlib": "train", "tensorboard": "train", "sounddevice": None, "soundfile": None, "soxr": None,
}


def missing_dependency_message(err: ModuleNotFoundError, command: str) -> str:
    """One line telling which ``pip install`` fixes a missing module."""
    top = (err.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top, COMMANDS.get(command, (None, None, None))[2])
    target = f"'spoken-digits[{extra}]'" if extra else "spoken-digits"
    return f"'spoken-digits {command}' needs the Python package '{top}', which is not installed: pip install {target}"


#: TensorFlow's C++ log threshold, set to 2 (info and warnings hidden, errors shown) for the commands
#: that load TensorFlow, unless the user set it.
TF_LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"

#: Start-up lines TensorFlow writes to file descriptor 2 although the log level hides info and
#: warnings: absl prints what comes before its initialization unfiltered (oneDNN, CUDA stubs),
#: cpu_feature_guard's second line, the TFLite converter's printf, oneDNN's fallback notice for the
#: raw models' boolean mask (an "error" that only says another kernel is used).
TENSORFLOW_NOISE = tuple(re.compile(p) for p in (
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    rb"[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] ",  # an absl INFO or WARNING line
    rb"To enable the following instructions: .*rebuild TensorFlow",
    rb"fully_quantize: \d+, inference_type: \d+",
    rb"E\d{4} .*\] oneDNN supports DT_BOOL only on platforms with AVX-512\. Falling back",  # logged as an error
))
#: CUDA probing on a machine without an NVIDIA driver: an expected failure there (hidden); with a
#: driver, a failing cuInit is a real error and stays visible.
CUDA_PROBE_NOISE = re.compile(rb"E\d{4} .*\] (failed call to cuInit|Unable to register cu\w+ factory)")


def quiet_tensorflow(ctx: click.Context | None = None) -> None:
    """Before TensorFlow is imported: ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user chose a level.

    At level 2 or more, the start-up lines that escape the level (:data:`TENSORFLOW_NOISE`) are
    also sent to the debug log (``-vv``) for as long as ``ctx`` lives; errors stay visible.
    """
    os.environ.setdefault(TF_LOG_LEVEL_VARIABLE, "2")
    try:
        level = int(os.environ[TF_LOG_LEVEL_VARIABLE])
    except ValueError:
        level = 0
    if ctx is None or level < 2 or ctx.meta.get("spoken_digits.quiet_tensorflow"):
        return
    from realtime.terminal import NATIVE_NOISE_PREFIXES, filter_native_stderr

    patterns = TENSORFLOW_NOISE if os.path.exists("/proc/driver/nvidia") else (*TENSORFLOW_NOISE, CUDA_PROBE_NOISE)
    ctx.with_resource(filter_native_stderr(NATIVE_NOISE_PREFIXES, patterns=patterns))
    ctx.meta["spoken_digits.quiet_tensorflow"] = True


def _user_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = []
    for mod, name in (("trainer.errors", "SpokenDigitsError"), ("realtime.errors", "RealtimeError")):
        m = sys.modules.get(mod)
        if m is not None:
            types.append(getattr(m, name))
    return tuple(types)


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, extra = *COMMANDS[name][0].split(":"), COMMANDS[name][2]
        if extra == "train":  # the commands that load TensorFlow
            quiet_tensorflow(ctx)
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as e:
            raise click.ClickException(missing_dependency_message(e, name)) from e

    def format_commands(self, ctx, formatter):
        # Listed from the table above, so that '--help' imports no subcommand.
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short, _) in COMMANDS.items()])

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as e:
            name = ctx.protected_args[0] if ctx.protected_args else "?"
            raise click.ClickException(missing_dependency_message(e, name)) from e
        except Exception as e:
            if isinstance(e, _user_error_types()):
                raise click.ClickException(str(e)) from e
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spoken-digits")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """spoken-digits: recognize spoken digits (0-9) live, on a desktop or a Raspberry Pi.

    Train LSTM models on the Free Spoken Digit Dataset, export them as small
    quantized TFLite bundles, and run them on a microphone or on WAV files.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":  # pragma: no cover
    main()
