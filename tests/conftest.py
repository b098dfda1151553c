"""Shared fixtures: the FSDD copy in ../shared and tiny data subsets made of symlinks to it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Where CI and developers keep FSDD (never committed); override with SPOKEN_DIGITS_TEST_DATA.
#: Made absolute: tests symlink its files from temporary folders, where a relative path would dangle.
FSDD_DIR = Path(os.environ.get("SPOKEN_DIGITS_TEST_DATA", REPO.parent / "shared" / "data" / "fsdd" / "recordings")).absolute()

# --- markers (registered in pyproject.toml) ------------------------------------------------------
#: Fixtures that fit a Keras model, directly or through what they are built on (tiny_bundles, ...).
TRAIN_FIXTURES = frozenset({"tiny_run"})
#: Fixtures that start a virtual microphone (a private PulseAudio server).
AUDIO_FIXTURES = frozenset({"vmic_factory"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config, items):
    """``train`` for every test that needs a trained model, ``audio`` for every one that needs the
    virtual microphone, and ``slow`` for both: ``-m "not slow"`` is the quick run while working."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))  # the whole fixture closure
        if used & TRAIN_FIXTURES:
            item.add_marker(pytest.mark.train)
        if used & AUDIO_FIXTURES:
            item.add_marker(pytest.mark.audio)
        if item.get_closest_marker("train") or item.get_closest_marker("audio"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    if not FSDD_DIR.is_dir():
        pytest.fail(f"FSDD recordings not found at {FSDD_DIR} (set SPOKEN_DIGITS_TEST_DATA)")
    return FSDD_DIR


def make_subset(dst: Path, src: Path, *, speakers, digits=range(10), indices=range(50)) -> Path:
    """Symlink the FSDD files of the given speakers/digits/indices into ``dst``; returns ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for s in speakers:
        for d in digits:
            for i in indices:
                f = src / f"{d}_{s}_{i}.wav"
                if f.exists():
                    (dst / f.name).symlink_to(f)
    return dst


#: The tiny run: official protocol on all 6 speakers x 10 digits x indices 0-19 (1,200 files: 300 test).
#: A model this size is confident enough that the parity test measures quantization, not near-ties.
TINY_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
TINY_INDICES = range(0, 20)
#: The tiny run's training settings (a rerun with the same settings must skip the finished model).
TINY_TRAIN = {"epochs": 60, "batch_size": 32, "seed": 0}


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, fsdd_dir, tiny_cache) -> Path:
    """A run directory with a small trained ``spectrogram`` model (official protocol, 600 files), evaluated."""
    from trainer.evaluation.evaluate import evaluate
    from trainer.recipes.train import TrainSettings, train

    root = tmp_path_factory.mktemp("tiny")
    data = make_subset(root / "data", fsdd_dir, speakers=TINY_SPEAKERS, indices=TINY_INDICES)
    out = root / "run"
    train(out, ["spectrogram"], protocol="official", data_dir=data, cache_dir=tiny_cache,
          settings=TrainSettings(**TINY_TRAIN), progress=False, verbose=0)
    evaluate(out, cache_dir=tiny_cache, progress=False)
    return out


# --- export / edge classifier (issue 3) ---------------------------------------------------------
# tflite-runtime 2.14 must be imported before TensorFlow in one process (docs/design.md section 7).
try:
    import tflite_runtime.interpreter  # noqa: F401,E402
except ImportError:
    pass

#: Every quantization variant ``export`` writes.
EXPORT_VARIANTS = ("int8", "float16", "dynamic", "float32")


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory, tiny_run, tiny_cache) -> dict:
    """``{variant: bundle directory}``: the tiny run's ``spectrogram`` model in every quantization."""
    from export.exporter import export_run
    from trainer.runs import load_model, load_run

    root = tmp_path_factory.mktemp("bundles")
    run = load_run(tiny_run)
    model = load_model(run.model_dir("spectrogram", run.split().name) / "model.keras")
    out = {}
    for variant in EXPORT_VARIANTS:
        export_run(tiny_run, root / f"tiny-{variant}", model="spectrogram", quantization=variant,
                   cache_dir=tiny_cache, keras_model=model)
        out[variant] = root / f"tiny-{variant}"
    return out


# --- live recognizer (realtime/): the bundle under test and virtual microphones ---------------

@pytest.fixture(scope="session")
def bundle_path() -> Path:
    """The shipped default bundle (override with SPOKEN_DIGITS_TEST_BUNDLE while developing)."""
    from realtime.bundle import DEFAULT_BUNDLE

    p = Path(os.environ.get("SPOKEN_DIGITS_TEST_BUNDLE", DEFAULT_BUNDLE))
    if not p.exists():
        pytest.fail(f"model bundle not found at {p} (the default bundle ships in realtime/models/default)")
    return p


@pytest.fixture(scope="session")
def vmic_factory(tmp_path_factory):
    """``vmic_factory(rate_hz)`` -> a started :class:`vmic.VirtualMic` of this session (one per rate).

    Fails (never skips) when PulseAudio or the vmic script is missing: CI installs them.
    """
    from vmic import VirtualMic, VirtualMicError

    mics: dict = {}

    def get(rate_hz: int = 22050, *, fresh: bool = False):
        key = (rate_hz, len(mics)) if fresh else rate_hz
        if key not in mics:
            try:
                mics[key] = VirtualMic(tmp_path_factory.mktemp(f"vmic{rate_hz}"), rate_hz).start()
            except VirtualMicError as e:
                pytest.fail(str(e))
        return mics[key]

    yield get
    for m in mics.values():
        m.stop()
