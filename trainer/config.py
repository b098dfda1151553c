"""Every front-end and dataset constant of spoken-digits, in one place.

Values derive from each other and carry their unit in their name. ``export/``
writes :class:`FrontEndConfig` into the bundle JSON, so ``realtime/`` never
needs this module.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from realtime.frontend import n_stft_frames

#: The ten classes, index = digit (FSDD README: file names start with the digit).
LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))
N_CLASSES = len(LABELS)

#: FSDD recordings are 8 kHz mono 16-bit PCM (FSDD README, ``SOURCE.md``).
FSDD_SAMPLE_RATE_HZ = 8000
FSDD_VERSION = "1.0.10"
FSDD_SPEAKERS: tuple[str, ...] = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
#: The 2,000-file, 4-speaker release on which the seed notebooks report.
SEED_SPEAKERS: tuple[str, ...] = ("jackson", "nicolas", "theo", "yweweler")
#: Official split (FSDD README): recording indices 0-4 of every speaker and digit are test.
OFFICIAL_TEST_INDICES = range(0, 5)


@dataclass(frozen=True)
class FrontEndConfig:
    """Audio front end shared by training, export and the edge runtime.

    Defaults are the seed notebooks' settings (``librosa.load(sr=22050)``,
    ``librosa.feature.melspectrogram(n_fft=2048, hop_length=512, n_mels=64)``,
    ``librosa.power_to_db(ref=np.max)``) with one deliberate change,
    ``fmax_hz=4000``: FSDD is recorded at 8 kHz, so nothing above its Nyquist
    frequency exists in training (docs/design.md section 3).

    The STFT/mel/dB fields are the keyword arguments of
    ``librosa.feature.melspectrogram`` and ``librosa.power_to_db`` (librosa 0.11),
    with ``ref="max"`` meaning ``ref=np.max``.
    """

    sample_rate_hz: int = 22050
    window_s: float = 0.8
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int = 2048
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    power: float = 2.0
    n_mels: int = 64
    fmin_hz: float = 0.0
    fmax_hz: float = 4000.0
    htk: bool = False
    norm: str = "slaney"
    ref: str = "max"
    amin: float = 1e-10
    top_db: float = 80.0

    def __post_init__(self) -> None:
        if self.sample_rate_hz <= 0 or self.window_s <= 0:
            raise ValueError(f"sample_rate_hz and window_s must be > 0, got {self.sample_rate_hz}, {self.window_s}")
        if not 0 <= self.fmin_hz < self.fmax_hz <= self.sample_rate_hz / 2:
            raise ValueError(
                f"need 0 <= fmin_hz < fmax_hz <= sample_rate_hz / 2, got fmin_hz={self.fmin_hz}, "
                f"fmax_hz={self.fmax_hz}, sample_rate_hz={self.sample_rate_hz}"
            )
        if self.ref != "max":
            raise ValueError(f"only ref='max' (librosa.power_to_db(ref=np.max)) is supported, got {self.ref!r}")

    @property
    def window_samples(self) -> int:
        """Samples in one analysis window: 0.8 s x 22,050 Hz = 17,640."""
        return int(round(self.sample_rate_hz * self.window_s))

    @property
    def n_frames(self) -> int:
        """STFT frames per window, as librosa counts them (35): see :func:`realtime.frontend.n_stft_frames`."""
        return n_stft_frames(self.window_samples, self.n_fft, self.hop_length, self.center)

    @property
    def log_mel_shape(self) -> tuple[int, int]:
        """Shape of one log-mel spectrogram, ``(n_mels, n_frames)`` = (64, 35)."""
        return (self.n_mels, self.n_frames)

    def to_dict(self) -> dict[str, Any]:
        """All fields plus the derived ``window_samples``, JSON-ready."""
        d = dataclasses.asdict(self)
        d["window_samples"] = self.window_samples
        d["n_frames"] = self.n_frames
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FrontEndConfig":
        """Inverse of :meth:`to_dict`; derived keys are ignored, unknown keys raise ``ValueError``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields - {"window_samples", "n_frames"}
        if unknown:
            raise ValueError(f"unknown front-end parameters: {sorted(unknown)}")
        return cls(**{k: v for k, v in d.items() if k in fields})


#: The front end every command uses unless a run says otherwise.
FRONT_END = FrontEndConfig()

#: Augmentation grid (the seed notebooks): time-stretch rates x pitch shifts in semitones,
#: applied with ``librosa.effects.time_stretch`` and ``librosa.effects.pitch_shift``.
STRETCH_RATES: tuple[float, ...] = (0.7, 1.0, 1.3)
PITCH_SHIFTS_SEMITONES: tuple[float, ...] = (-1.0, 0.0, 1.0)

#: Default seed of every random choice (splits, initial weights, shuffling).
DEFAULT_SEED = 42
#: Fraction of the training part held out for validation / early stopping.
VALIDATION_FRACTION = 0.1
#: Fraction of the ``seed`` protocol's files in its test part (the notebooks' 80/20 split).
SEED_TEST_FRACTION = 0.2
