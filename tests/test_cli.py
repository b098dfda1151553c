"""The command line: help, lazy loading, one-line errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from click.testing import CliRunner

from spoken_digits_cli import main


def test_help_lists_commands_without_importing_tensorflow():
    code = (
        "import sys; from click.testing import CliRunner; from spoken_digits_cli import main;"
        "r = CliRunner().invoke(main, ['--help']); print(r.output);"
        "assert 'tensorflow' not in sys.modules and 'librosa' not in sys.modules, 'heavy import'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for cmd in ("data", "train", "evaluate", "export", "bench", "recognize", "listen"):
        assert cmd in out.stdout


def test_train_help_explains_units():
    r = CliRunner().invoke(main, ["train", "--help"])
    assert r.exit_code == 0
    assert "--frame-length" in r.output and "22,050 Hz" in r.output and "leave-one-speaker-out" in r.output


def test_missing_data_dir_is_one_clear_line(tmp_path):
    r = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "run"), "--data-dir", str(tmp_path / "none")])
    assert r.exit_code == 1
    assert "does not exist" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "run").exists()


def test_evaluate_non_run_is_one_clear_line(tmp_path):
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path)])
    assert r.exit_code == 1 and "not a spoken-digits run" in r.output


@pytest.fixture
def deploy_cli(tmp_path, monkeypatch):
    """``train --protocol deploy`` arguments, and the list of DeploySettings the CLI hands to a stubbed train_deploy."""
    import trainer.recipes.deploy

    seen = []
    monkeypatch.setattr(trainer.recipes.deploy, "train_deploy", lambda out, *, deploy, **kw: seen.append(deploy))
    return seen, ["train", "--protocol", "deploy", "--corpus-root", str(tmp_path), "--out", str(tmp_path / "run")]


@pytest.mark.parametrize("option, value, attr, expected", [
    ("--lstm-units", "128", "lstm_units", 128),
    ("--conv-filters", "8", "conv_filters", 8),
    ("--log-mel-norm", "band_mean", "log_mel_norm", "band_mean"),
])
def test_lstm_options_reach_the_deploy_settings_and_are_refused_elsewhere(deploy_cli, option, value, attr, expected):
    import trainer.recipes.deploy

    seen, base = deploy_cli
    r = CliRunner().invoke(main, [*base, option, value])
    assert r.exit_code == 0, r.output
    assert getattr(seen[-1], attr) == expected and seen[-1].architecture == "lstm"
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 0 and getattr(seen[-1], attr) == getattr(trainer.recipes.deploy.DeploySettings(), attr)
    for refused in (["--model", "ds_cnn"], ["--protocol", "official", "--model", "spectrogram_aug"]):
        r = CliRunner().invoke(main, [*base, *refused, option, value])
        assert r.exit_code == 2 and option in r.output, refused
    assert len(seen) == 2


def test_conv_filters_put_a_convolution_in_front_of_the_lstm():
    from trainer.models.lstm import build_spectrogram_model

    model = build_spectrogram_model(n_classes=12, lstm_units=16, conv_filters=8)
    names = [layer.name for layer in model.layers]
    assert names.index("frames_first") < names.index("conv") < names.index("lstm")
    # 64 mel bands at stride 8 -> 8 positions x 8 filters per frame, the 35 frames kept
    assert tuple(model.get_layer("conv_features").output.shape) == (None, 35, 64)
    assert "conv" not in [layer.name for layer in build_spectrogram_model(n_classes=12, lstm_units=16).layers]
    with pytest.raises(ValueError, match="conv_filters"):
        build_spectrogram_model(n_classes=12, conv_filters=-1)


def test_cnn_dense_units_reach_the_deploy_settings_and_the_model(deploy_cli):
    from trainer.models.cnn import build_cnn

    seen, base = deploy_cli
    r = CliRunner().invoke(main, [*base, "--model", "cnn_spectrogram", "--cnn-dense-units", "32"])
    assert r.exit_code == 0, r.output
    assert seen[-1].cnn_dense_units == 32 and seen[-1].architecture == "cnn_spectrogram"
    r = CliRunner().invoke(main, [*base, "--model", "cnn_spectrogram"])
    assert r.exit_code == 0 and seen[-1].cnn_dense_units is None  # the builder's own default
    for refused in (["--model", "ds_cnn"], ["--model", "lstm"], ["--protocol", "commands", "--model", "cnn_mfcc"]):
        r = CliRunner().invoke(main, [*base, *refused, "--cnn-dense-units", "32"])
        assert r.exit_code != 0 and "--cnn-dense-units" in r.output, refused
    assert len(seen) == 2
    # what train_deploy builds with it: the dense layer's width, and the size it promises
    small = build_cnn("cnn_spectrogram", n_classes=12, dense_units=32)
    assert small.get_layer("dense1").units == 32 and small.count_params() < 128 * 1024 * 0.9
    assert build_cnn("cnn_spectrogram", n_classes=12).count_params() > 128 * 1024  # the default does not fit


def test_ds_cnn_filters_reach_the_deploy_settings_and_the_model(deploy_cli):
    from trainer.models.cnn import build_cnn

    seen, base = deploy_cli
    r = CliRunner().invoke(main, [*base, "--model", "ds_cnn", "--ds-cnn-filters", "32"])
    assert r.exit_code == 0, r.output
    assert seen[-1].ds_cnn_filters == 32 and seen[-1].architecture == "ds_cnn"
    for refused in (["--model", "cnn_spectrogram"], ["--model", "lstm"], ["--protocol", "commands", "--model", "ds_cnn"]):
        r = CliRunner().invoke(main, [*base, *refused, "--ds-cnn-filters", "32"])
        assert r.exit_code != 0 and "--ds-cnn-filters" in r.output, refused
    assert len(seen) == 1
    narrow, full = build_cnn("ds_cnn", n_classes=12, filters=32), build_cnn("ds_cnn", n_classes=12)
    assert narrow.get_layer("pw1").filters == 32 and full.get_layer("pw1").filters == 64
    assert narrow.count_params() < full.count_params() / 2


def test_hold_out_speaker_reaches_the_deploy_settings_and_is_refused_elsewhere(deploy_cli, tmp_path):
    seen, base = deploy_cli
    r = CliRunner().invoke(main, [*base, "--hold-out-speaker", "george"])
    assert r.exit_code == 0, r.output
    assert seen[-1].held_out_speaker == "george"
    r = CliRunner().invoke(main, ["train", "--protocol", "official", "--hold-out-speaker", "george",
                                  "--out", str(tmp_path / "seedrun")])
    assert r.exit_code == 2 and "applies to the deploy protocol" in r.output


def test_vtlp_reaches_the_augment_settings_and_is_refused_elsewhere(deploy_cli, tmp_path):
    seen, base = deploy_cli
    r = CliRunner().invoke(main, [*base, "--vtlp", "0.5"])
    assert r.exit_code == 0, r.output
    assert seen[-1].augment.p_vtlp == 0.5
    r = CliRunner().invoke(main, [*base])
    assert r.exit_code == 0, r.output
    assert seen[-1].augment.p_vtlp == 0.0
    r = CliRunner().invoke(main, [*base, "--vtlp", "1.5"])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["train", "--protocol", "official", "--vtlp", "0.5", "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and "applies to the deploy protocol" in r.output


def test_loso_needs_a_corpus_root(tmp_path, monkeypatch):
    monkeypatch.delenv("SPOKEN_DIGITS_CORPUS", raising=False)
    r = CliRunner().invoke(main, ["loso", "--out", str(tmp_path / "loso")])
    assert r.exit_code == 1 and "--corpus-root" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "loso").exists()


def test_loso_passes_log_mel_norm_to_every_run(tmp_path, monkeypatch):
    """loso --log-mel-norm: refused for a CNN (usage error, nothing written); for the LSTM it is the recipe
    handed to every held-out-speaker run."""
    import trainer.recipes.loso

    r = CliRunner().invoke(main, ["loso", "--model", "cnn_vgg", "--log-mel-norm", "band_mean",
                                  "--corpus-root", str(tmp_path), "--out", str(tmp_path / "loso")])
    assert r.exit_code == 2 and "LSTM only" in r.output and not (tmp_path / "loso").exists()
    seen = {}

    def fake_run_loso(out, *, deploy, **kw):
        seen["deploy"] = deploy
        seen["score_thresholds"] = kw["score_thresholds"]
        raise SystemExit(0)

    monkeypatch.setattr(trainer.recipes.loso, "run_loso", fake_run_loso)
    monkeypatch.setattr("trainer.cli._deploy_paths", lambda *a: None)
    r = CliRunner().invoke(main, ["loso", "--log-mel-norm", "band_mean", "--corpus-root", str(tmp_path),
                                  "--out", str(tmp_path / "loso")])
    assert r.exit_code == 0, r.output
    assert seen["deploy"].log_mel_norm == "band_mean" and seen["deploy"].architecture == "lstm"
    assert seen["deploy"].conv_filters is None
    from realtime.bundle import DEFAULT_BUNDLE, load_bundle

    assert seen["score_thresholds"] == (load_bundle(DEFAULT_BUNDLE).threshold,)  # the shipped operating point
    r = CliRunner().invoke(main, ["loso", "--score-threshold", "0.6", "--score-threshold", "0.9", "--corpus-root",
                                  str(tmp_path), "--out", str(tmp_path / "loso")])
    assert r.exit_code == 0, r.output
    assert seen["score_thresholds"] == (0.6, 0.9)
    r = CliRunner().invoke(main, ["loso", "--log-mel-norm", "band_mean", "--conv-filters", "16", "--corpus-root",
                                  str(tmp_path), "--out", str(tmp_path / "loso")])
    assert r.exit_code == 0, r.output
    assert seen["deploy"].conv_filters == 16 and seen["deploy"].log_mel_norm == "band_mean"
    r = CliRunner().invoke(main, ["loso", "--model", "ds_cnn", "--conv-filters", "16", "--corpus-root", str(tmp_path),
                                  "--out", str(tmp_path / "loso")])
    assert r.exit_code == 2 and "--conv-filters" in r.output


def test_log_mel_norm_puts_the_band_mean_after_the_rescaling():
    from trainer.models.lstm import build_spectrogram_model

    names = [layer.name for layer in build_spectrogram_model(n_classes=12, band_mean_norm=True).layers]
    assert names.index("db_to_unit") < names.index("band_mean_norm") < names.index("lstm")
    assert "band_mean_norm" not in [layer.name for layer in build_spectrogram_model(n_classes=12).layers]
