"""spoken-digits: one distribution, three packages (trainer, export, realtime) and the CLI."""
import re
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "trainer" / "__init__.py").read_text()).group(1)

#: The three packages and the data folders inside them (realtime/models/<bundle>/, trainer/manifests/), the
#: latter as namespace packages: listed, setuptools ships their files without "Package would be ignored".
PACKAGES = find_namespace_packages(include=["trainer", "trainer.*", "export", "export.*", "realtime", "realtime.*"],
                                   exclude=["*.__pycache__"])
PACKAGE_DATA = {
    "trainer.manifests": ["*.sha256"],
    # every shipped bundle: NAME.json, NAME.tflite, NAME.mel.npz
    **{p: ["*.json", "*.tflite", "*.npz"] for p in PACKAGES if p.startswith("realtime.models.")},
}

# Lower bounds are the versions tested (CI, Python 3.11, x86_64).
EDGE_INTERPRETER = [
    # tflite-runtime 2.14 is built against NumPy 1.x and has wheels up to Python 3.11 (Linux).
    'tflite-runtime>=2.14; python_version < "3.12" and platform_system == "Linux"',
    'numpy>=1.23,<2; python_version < "3.12" and platform_system == "Linux"',
    # ai-edge-litert (LiteRT) covers newer Pythons and macOS.
    'ai-edge-litert>=2.3; python_version >= "3.12" or platform_system != "Linux"',
]

setup(
    name="spoken-digits",
    version=VERSION,
    description="Spoken-digit recognition: LSTM training on FSDD, quantized TFLite export, live microphone recognizer",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="MIT (code); the shipped model is trained on FSDD, CC BY-SA 4.0",
    python_requires=">=3.10",
    packages=PACKAGES,
    py_modules=["spoken_digits_cli"],
    package_data=PACKAGE_DATA,
    include_package_data=True,
    install_requires=[
        "numpy>=1.23",
        "click>=8.1",
        "rich>=13.7",
        "soundfile>=0.12",
        "soxr>=0.3",
        "sounddevice>=0.4.6",
        *EDGE_INTERPRETER,
    ],
    extras_require={
        "train": [
            "tensorflow>=2.21",
            "keras>=3.15",
            "tf-keras>=2.21",
            "librosa>=0.11",
            # the deploy protocol's augmentation (noise, babble, room via pyroomacoustics, EQ, speed/pitch)
            "audiomentations>=0.43",
            "pyroomacoustics>=0.7.4",
            "scikit-learn>=1.9",
            "matplotlib>=3.11",
            "tensorboard>=2.21",
            # digit error rate of digit strings (Levenshtein alignment)
            "jiwer>=3.0",
        ],
        "dev": ["pytest>=9.0"],
        # a peer decoder for 'compare --baseline pocketsphinx' (PocketSphinx 5, its default en-US model)
        "baselines": ["pocketsphinx>=5.0"],
    },
    entry_points={"console_scripts": ["spoken-digits=spoken_digits_cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
