"""Errors a user of ``listen`` meets: one clear line on stderr, exit code 1, never a traceback."""
from __future__ import annotations

import os
import subprocess

import pytest
from vmic import CLI, SAFETY_LIMIT_S, start_listen


def run_cli(args, env=None, timeout=SAFETY_LIMIT_S):
    return subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(r, *fragments):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip() and not line.startswith("listening on")]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def no_server_env(tmp_path) -> dict:
    """An environment whose PulseAudio server does not exist: the machine has no input device."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "VMIC_"))}
    (tmp_path / "xdg").mkdir(mode=0o700, parents=True)
    env.update(PULSE_SERVER=f"unix:{tmp_path}/none.sock", XDG_RUNTIME_DIR=str(tmp_path / "xdg"),
               PULSE_RUNTIME_PATH=str(tmp_path / "pulse"), PULSE_COOKIE=str(tmp_path / "cookie"))
    return env


def test_no_input_device(bundle_path, tmp_path):
    r = run_cli(["listen", "--model", str(bundle_path), "--duration", "1"], env=no_server_env(tmp_path))
    assert_one_line_error(r, "no audio input device", "--list-devices")


def test_list_devices_without_any_device(tmp_path):
    r = run_cli(["listen", "--list-devices"], env=no_server_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "no audio input device" in r.stdout


def test_device_name_that_matches_nothing(bundle_path, vmic_factory):
    r = run_cli(["listen", "--model", str(bundle_path), "--device", "no-such-microphone", "--duration", "1"],
                env=vmic_factory(22050).env)
    assert_one_line_error(r, "no-such-microphone", "--list-devices")


def test_device_index_that_does_not_exist(bundle_path, vmic_factory):
    r = run_cli(["listen", "--model", str(bundle_path), "--device", "99", "--duration", "1"],
                env=vmic_factory(22050).env)
    assert_one_line_error(r, "99")


def test_sample_rate_the_device_refuses(bundle_path, vmic_factory):
    r = run_cli(["listen", "--model", str(bundle_path), "--device", "pulse", "--device-rate", "10000000",
                 "--duration", "1"], env=vmic_factory(22050).env)
    assert_one_line_error(r, "refuses", "10000000 Hz")


@pytest.mark.parametrize("make", ["missing", "invalid"])
def test_bundle_missing_or_invalid(tmp_path, make):
    bundle = tmp_path / "bundle"
    if make == "invalid":
        bundle.mkdir()
        (bundle / "bundle.json").write_text("{ not json")
    for cmd in (["listen", "--duration", "1"], ["recognize", str(tmp_path / "x.wav")]):
        r = run_cli([*cmd, "--model", str(bundle)], env=no_server_env(tmp_path / cmd[0]))
        assert_one_line_error(r, str(bundle))


def test_audio_server_going_away(bundle_path, vmic_factory):
    mic = vmic_factory(22050, fresh=True)  # this one is killed
    with start_listen(["--device", "pulse", "--json", "--model", str(bundle_path)], mic.env) as p:
        mic.stop()
        out, err = p.communicate()  # its exit is the event; the limit only stops a hang
    r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    assert_one_line_error(r, "audio server gone")
