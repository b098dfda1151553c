"""export-strings from a bundle: a new window classifier beside a string model already converted."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from realtime.bundle import DEFAULT_BUNDLE, load_bundle


@pytest.fixture
def classifier_only(tmp_path) -> Path:
    """The default bundle without its string model (what 'spoken-digits export' writes)."""
    from export.exporter import write_bundle

    b = load_bundle(DEFAULT_BUNDLE)
    spec = {k: v for k, v in b.spec.items() if k not in ("spec_version", "name", "files", "strings")}
    spec["threshold"] = 0.93
    json_path = write_bundle(tmp_path / "window", tflite=b.tflite_path.read_bytes(), mel_basis=b.mel_basis, spec=spec)
    assert load_bundle(json_path).strings is None
    return json_path.parent


def test_graft_copies_the_string_model_and_replaces_only_the_settings_given(classifier_only, tmp_path):
    from export.strings import graft_strings

    src = load_bundle(DEFAULT_BUNDLE)
    path = graft_strings(DEFAULT_BUNDLE, classifier_only, tmp_path / "both", settings={"confirm_threshold": 0.85},
                         classifier_threshold=0.95)
    got = load_bundle(path)
    assert got.strings.tflite_path.read_bytes() == src.strings.tflite_path.read_bytes()
    assert got.tflite_path.read_bytes() == load_bundle(classifier_only).tflite_path.read_bytes()
    assert got.strings.confirm_threshold == 0.85 != src.strings.confirm_threshold
    for k in ("min_speech_ms", "threshold", "min_digits_per_s", "confirm_string_threshold", "veto_threshold"):
        assert getattr(got.strings, k) == getattr(src.strings, k), k
    assert got.spec["strings"]["parity"] == src.spec["strings"]["parity"]
    assert got.spec["strings"]["provenance"]["grafted"]["from"] == src.name
    assert got.spec["threshold"] == 0.95
    assert got.spec["threshold_rule"]["strings_sweep"]["before"] == 0.93


def test_graft_refuses_a_source_without_a_string_model_and_unknown_settings(classifier_only, tmp_path):
    from export.strings import graft_strings

    with pytest.raises(ValueError, match="no string model"):
        graft_strings(classifier_only, classifier_only, tmp_path / "x")
    with pytest.raises(ValueError, match="unknown string settings max_s"):
        graft_strings(DEFAULT_BUNDLE, classifier_only, tmp_path / "x", settings={"max_s": 4.0})
    assert not (tmp_path / "x").exists()


def test_cli_takes_a_bundle_as_run_and_keeps_its_settings_unless_given(classifier_only, tmp_path):
    from export.cli import export_strings_cmd

    src = json.loads((DEFAULT_BUNDLE / "spoken-digits.json").read_text())["strings"]
    out = tmp_path / "both"
    r = CliRunner().invoke(export_strings_cmd, [str(DEFAULT_BUNDLE), "--bundle", str(classifier_only),
                                                "--out", str(out), "--veto-threshold", "0.1"])
    assert r.exit_code == 0, r.output
    got = json.loads((out / "both.json").read_text())
    # --min-speech-ms was not given: the source's 500 ms, not the option's default of 800 ms
    assert got["strings"]["min_speech_ms"] == src["min_speech_ms"] != 800.0
    assert got["strings"]["veto_threshold"] == 0.1 and got["threshold"] == 0.93
    r = CliRunner().invoke(export_strings_cmd, [str(DEFAULT_BUNDLE), "--bundle", str(classifier_only),
                                                "--out", str(out)])
    assert r.exit_code != 0 and "already exists" in r.output
    # the bundle's NAME.json names it too; a string run without its model is not taken for a bundle
    r = CliRunner().invoke(export_strings_cmd, [str(DEFAULT_BUNDLE / "spoken-digits.json"), "--bundle",
                                                str(classifier_only), "--out", str(tmp_path / "again")])
    assert r.exit_code == 0, r.output
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text("{}")
    r = CliRunner().invoke(export_strings_cmd, [str(tmp_path / "run"), "--bundle", str(classifier_only),
                                                "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "no model.keras" in str(r.exception or r.output)
