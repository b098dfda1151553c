"""The TensorFlow commands keep stderr for what matters: no start-up noise, no retracing warnings, errors shown."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

from vmic import CLI

from realtime.terminal import filter_native_stderr
from spoken_digits_cli import CUDA_PROBE_NOISE, TENSORFLOW_NOISE

#: What TensorFlow 2.21 printed at the start of 'spoken-digits evaluate' on a machine without a GPU.
STARTUP = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1795395612.008092   25342 port.cc:153] oneDNN custom operations are on.\n"
    b"I0000 00:00:1795395612.009085   25342 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
    b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the flags.\n"
    b"E0000 00:00:1795395621.363125   25342 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n"
    b"fully_quantize: 0, inference_type: 6, input_inference_type: INT8, output_inference_type: INT8\n"
)
REAL_ERROR = b"E0000 00:00:1795395621.363125   25342 op_kernel.cc:1830] OP_REQUIRES failed: out of memory\n"
NOISE_RE = re.compile(r"absl::InitializeLog|^[IW]\d{4} |cuInit|cpu_feature_guard|retracing", re.MULTILINE)


def test_filter_hides_startup_noise_and_keeps_errors(capfd):
    with filter_native_stderr(patterns=(*TENSORFLOW_NOISE, CUDA_PROBE_NOISE)):
        os.write(2, STARTUP + REAL_ERROR + b"progress 1/2\rprogress 2/2\n")
    err = capfd.readouterr().err
    assert err == (REAL_ERROR + b"progress 1/2\rprogress 2/2\n").decode()


def test_evaluate_stderr_is_quiet(tiny_run, tiny_cache, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")  # evaluate rewrites the run's reports
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    r = subprocess.run(CLI + ["evaluate", str(run), "--cache-dir", str(tiny_cache)], capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert NOISE_RE.search(r.stderr) is None, r.stderr
    assert "micro-F1" in r.stdout

    r = subprocess.run(CLI + ["evaluate", str(tmp_path / "none")], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 1 and "not a spoken-digits run" in r.stderr
