"""Robustness augmentation of the deploy model, built on audiomentations.

One chain per clip (:func:`build_chain`), every random choice seeded per clip and
variant so that a fixed ``--seed`` reproduces a run:

1. speed (``TimeStretch`` 0.85-1.15) and pitch (``PitchShift`` -3..+3 semitones);
   audiomentations has no vocal-tract-length perturbation: that one is applied on the
   log-mel (``AugmentSettings.p_vtlp``, :func:`vtlp_formant_scale` and
   :func:`trainer.data.features.log_mel`'s ``formant_scale``);
2. microphone colouring (``SevenBandParametricEQ``, ``HighPassFilter``, ``LowPassFilter``:
   phone and laptop microphones);
3. room reverberation (``RoomSimulator``, pyroomacoustics' image-source model, RT60 0.15-0.8 s);
4. one additive noise at a random SNR of 0-20 dB: a recorded background
   (``AddBackgroundNoise`` over the training noise recordings), **babble** (the same
   transform over babble tracks made by :func:`make_babble_bank` from 3-7 other speakers,
   never the target's), or coloured noise (``AddColorNoise``, spectral slope -6..+6 dB/octave);
5. peak level -30..0 dBFS (``Normalize`` then ``Gain``);
6. faint floors the clean recordings lack: coloured noise 30-50 dB under the clip
   (``AddColorNoise``) and storage at 8-12 bits (``BitCrush``: an 8-bit PCM file's
   quantization noise), each on a share of the copies.

Time shift: the clip gets a random lead and tail of up to 0.5 s each, filled by the same
noise, and the copy is then cut by the live segmenter (:func:`segmenter_window`, the
``realtime`` code ``recognize`` and ``listen`` run), so that the model sees the windows it
will be given: in noise the segmenter starts early on a burst of babble and runs on after
the word; in quiet it cuts the word with its pre-roll and post-roll. SpecAugment masks are applied on the log-mel inside the model
while it trains (:class:`trainer.models.layers.SpecAugment`).

Noise and babble material is resampled once to the front end's rate and cached, so
audiomentations never resamples per call.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path
from ..config import FRONT_END, FrontEndConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AugmentSettings:
    """Probabilities (0-1) and ranges of the augmentation chain; units in the names."""

    #: SNR range of the additive noise (dB). audiomentations measures the clip's RMS over the
    #: whole augmented clip (lead and tail included, on average as long as the clip), about 3 dB
    #: below its RMS over the speech that ``spoken-digits robustness`` uses: -3..21 dB here is
    #: about 0..24 dB there. (-6..18 with noise on 90 % of copies: clean digits came out at
    #: 0.63-0.86, below any threshold that holds false accepts down; a digit 3 dB under the
    #: babble of 3-7 talkers is hardly told from the babble negatives it is trained against.)
    snr_db_min: float = -3.0
    snr_db_max: float = 21.0
    p_noise: float = 0.8
    #: Shares of the three noise kinds when noise is added (recorded, babble, coloured): babble
    #: is the hardest (the robustness table's worst column), so it gets the largest share.
    noise_weights: tuple[float, float, float] = (0.3, 0.5, 0.2)
    babble_talkers_min: int = 3
    babble_talkers_max: int = 7
    p_speed: float = 0.5
    speed_min: float = 0.85
    speed_max: float = 1.15
    p_pitch: float = 0.5
    pitch_semitones: float = 3.0
    p_microphone: float = 0.5
    p_room: float = 0.25
    gain_dbfs_min: float = -30.0
    gain_dbfs_max: float = 0.0
    #: Random lead and tail (s) around the clip, filled by the same noise: the context in which
    #: the segmenter has to find the utterance (``spoken-digits robustness`` gives each item 0.5 s).
    max_lead_s: float = 0.5
    max_tail_s: float = 0.5
    #: Cut the augmented copy as the live recognizer does (:func:`segmenter_window`): in babble
    #: its window starts up to 0.4 s early and runs to the end of the noise (measured on the FSDD
    #: test items of ``robustness``), which a model trained on trimmed clips had never seen.
    segmenter_cut: bool = True
    #: A faint floor after the level: coloured noise at 30-50 dB SNR, and quantization to 8-12
    #: bits (``BitCrush``). Without them a digit stored as 8-bit PCM (a steady floor about 50 dB
    #: under full scale, between the digital silence of clean clips and the 0-24 dB noise copies)
    #: fell under the threshold in every model retrained before them (``tests/test_recognize.py``).
    p_faint_noise: float = 0.2
    faint_snr_db_min: float = 30.0
    faint_snr_db_max: float = 50.0
    p_bit_crush: float = 0.15
    bit_depth_min: int = 8
    bit_depth_max: int = 12
    #: Vocal tract length perturbation (VTLP, Jaitly & Hinton 2013, "Vocal Tract Length
    #: Perturbation (VTLP) improves speech recognition"): on this share of the augmented copies
    #: every frequency of the log-mel is scaled by a factor drawn uniformly from
    #: ``[vtlp_formant_scale_min, vtlp_formant_scale_max]`` (> 1: formants higher, a shorter
    #: vocal tract). FSDD's six voices are men's; women's formants are about 15-20 % higher
    #: (Peterson & Barney 1952), so the range leans upwards. 0 (the default): off.
    p_vtlp: float = 0.0
    vtlp_formant_scale_min: float = 0.9
    vtlp_formant_scale_max: float = 1.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_vtlp <= 1.0:
            raise ValueError(f"p_vtlp must be in [0, 1], got {self.p_vtlp}")
        if not 0.5 <= self.vtlp_formant_scale_min <= self.vtlp_formant_scale_max <= 2.0:
            raise ValueError("need 0.5 <= vtlp_formant_scale_min <= vtlp_formant_scale_max <= 2, got "
                             f"{self.vtlp_formant_scale_min}, {self.vtlp_formant_scale_max}")

    def key(self) -> str:
        """A short hash of every setting (part of the cache key)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


DEFAULT_AUGMENT = AugmentSettings()


def seed_for(*parts: object) -> int:
    """A 32-bit seed from any values (SHA-256 of their ``repr``): the same on every machine."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "big")


def vtlp_formant_scale(settings: AugmentSettings, seed: int) -> float:
    """The VTLP factor of one augmented copy: 1.0 (none) with probability ``1 - p_vtlp``, else
    uniform in ``[vtlp_formant_scale_min, vtlp_formant_scale_max]``; a function of ``seed`` alone.

    Returns
    -------
    formant_scale : float > 0
        For :func:`trainer.data.features.log_mel` (``formant_scale``).
    """
    rng = np.random.default_rng(seed)
    if settings.p_vtlp <= 0.0 or rng.random() >= settings.p_vtlp:
        return 1.0
    return float(rng.uniform(settings.vtlp_formant_scale_min, settings.vtlp_formant_scale_max))


def seed_everything(seed: int) -> None:
    """Seed the generators audiomentations draws from (``random`` and ``numpy.random``)."""
    random.seed(seed)
    np.random.seed(seed)


def resample_bank(paths: Sequence[Path], dest: str | os.PathLike, *, config: FrontEndConfig = FRONT_END) -> list[Path]:
    """Copies of audio files at the front end's rate (mono float32 WAV), cached in ``dest``.

    ``librosa.load(sr=config.sample_rate_hz)`` (soxr), written atomically; files already
    there are reused. Returns the copies, in the order of ``paths``.
    """
    import librosa
    import soundfile as sf

    dest = Path(dest)
    out = []
    for p in paths:
        digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16]
        target = dest / f"{Path(p).stem}-{digest}-{config.sample_rate_hz}.wav"
        if not target.exists():
            y, _ = librosa.load(str(p), sr=config.sample_rate_hz, mono=True)
            with atomic_path(target) as tmp:
                sf.write(tmp, y, config.sample_rate_hz, subtype="FLOAT")
        out.append(target)
    return out


def make_babble_bank(
    speech: Sequence[tuple[Path, str]],
    dest: str | os.PathLike,
    *,
    n_tracks: int,
    seed: int,
    duration_s: float = 2.0,
    talkers: tuple[int, int] = (3, 7),
    config: FrontEndConfig = FRONT_END,
) -> list[tuple[Path, frozenset[str]]]:
    """Babble tracks: 3-7 talkers speaking at once, each a stream of their own utterances.

    For each track, ``k`` speakers are drawn (``talkers`` inclusive); each speaker's
    utterances are concatenated, starting at a random offset, to fill ``duration_s``,
    scaled to the same RMS, and the ``k`` streams are summed and peak-normalized.
    Tracks and a ``tracks.json`` (speakers of every track) are cached in ``dest``; the
    key hashes the inputs, so other speech gives another bank.

    Parameters
    ----------
    speech : sequence of (path, speaker)
        Utterances to draw from (e.g. the training split's non-digit words).
    n_tracks : int >= 1
    seed : int

    Returns
    -------
    tracks : list of (Path, frozenset of str)
        Each track's file (float32 WAV at ``config.sample_rate_hz``) and its speakers,
        so that a caller can avoid babble containing the target speaker.

    Raises
    ------
    ValueError
        If fewer speakers than ``talkers[1]`` are given.
    """
    import librosa
    import soundfile as sf

    by_speaker: dict[str, list[Path]] = {}
    for p, s in speech:
        by_speaker.setdefault(s, []).append(Path(p))
    speakers = sorted(by_speaker)
    if len(speakers) < talkers[1]:
        raise ValueError(f"babble needs at least {talkers[1]} speakers, got {len(speakers)}")
    key = hashlib.sha256(json.dumps([sorted(map(str, by_speaker[s])) for s in speakers] + [
        n_tracks, seed, duration_s, list(talkers), config.sample_rate_hz]).encode()).hexdigest()[:16]
    folder = Path(dest) / key
    index = folder / "tracks.json"
    if index.exists():
        doc = json.loads(index.read_text())
        return [(folder / t["file"], frozenset(t["speakers"])) for t in doc]
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * config.sample_rate_hz))
    loaded: dict[Path, np.ndarray] = {}

    def load(p: Path) -> np.ndarray:
        if p not in loaded:
            y, _ = librosa.load(str(p), sr=config.sample_rate_hz, mono=True)
            y, _ = librosa.effects.trim(y, top_db=40)
            loaded[p] = y.astype(np.float32)
        return loaded[p]

    doc = []
    for t in range(n_tracks):
        k = int(rng.integers(talkers[0], talkers[1] + 1))
        chosen = [speakers[i] for i in rng.choice(len(speakers), size=k, replace=False)]
        mix = np.zeros(n, np.float32)
        for s in chosen:
            stream = np.zeros(0, np.float32)
            while stream.size < n + config.sample_rate_hz:
                y = load(by_speaker[s][int(rng.integers(len(by_speaker[s])))])
                gap = np.zeros(int(rng.integers(0, config.sample_rate_hz // 10)), np.float32)
                stream = np.concatenate([stream, y, gap])
            start = int(rng.integers(0, stream.size - n))
            part = stream[start:start + n]
            mix += part / max(float(np.sqrt(np.mean(part**2))), 1e-6)
        mix /= max(float(np.abs(mix).max()), 1e-6) / 0.5
        f = folder / f"babble-{t:04d}.wav"
        with atomic_path(f) as tmp:
            sf.write(tmp, mix, config.sample_rate_hz, subtype="FLOAT")
        doc.append({"file": f.name, "speakers": chosen})
    with atomic_path(index) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    return [(folder / t["file"], frozenset(t["speakers"])) for t in doc]


def build_chain(
    *,
    noise_files: Sequence[Path],
    babble_files: Sequence[Path],
    settings: AugmentSettings = DEFAULT_AUGMENT,
):
    """The audiomentations chain of one clip (see the module docstring).

    Parameters
    ----------
    noise_files, babble_files : sequence of Path
        Recorded background noise and babble tracks at the front end's rate
        (:func:`resample_bank`, :func:`make_babble_bank`). Babble must not contain the
        target speaker: the caller passes the allowed tracks.

    Returns
    -------
    chain : audiomentations.Compose
        Call as ``chain(samples, sample_rate=22050)``; float32 in, float32 out (length may change).
    """
    import audiomentations as A

    s = settings
    noises = []
    weights = []
    for files, weight in ((noise_files, s.noise_weights[0]), (babble_files, s.noise_weights[1])):
        if files:
            noises.append(A.AddBackgroundNoise(sounds_path=list(files), min_snr_db=s.snr_db_min,
                                               max_snr_db=s.snr_db_max, p=1.0))
            weights.append(weight)
    noises.append(A.AddColorNoise(min_snr_db=s.snr_db_min, max_snr_db=s.snr_db_max, p=1.0))
    weights.append(s.noise_weights[2])
    return A.Compose([
        A.TimeStretch(min_rate=s.speed_min, max_rate=s.speed_max, leave_length_unchanged=False, p=s.p_speed),
        A.PitchShift(min_semitones=-s.pitch_semitones, max_semitones=s.pitch_semitones, p=s.p_pitch),
        A.OneOf([
            A.SevenBandParametricEQ(min_gain_db=-9.0, max_gain_db=9.0, p=1.0),
            A.HighPassFilter(min_cutoff_freq=100.0, max_cutoff_freq=400.0, p=1.0),
            A.LowPassFilter(min_cutoff_freq=3000.0, max_cutoff_freq=7500.0, p=1.0),
        ], p=s.p_microphone),
        A.RoomSimulator(min_target_rt60=0.15, max_target_rt60=0.8, calculation_mode="rt60", use_ray_tracing=False,
                        max_order=3, leave_length_unchanged=False, padding=0.1, p=s.p_room),
        _WeightedOneOf(noises, weights, p=s.p_noise),
        A.Normalize(p=1.0),
        A.Gain(min_gain_db=s.gain_dbfs_min, max_gain_db=s.gain_dbfs_max, p=1.0),
        A.AddColorNoise(min_snr_db=s.faint_snr_db_min, max_snr_db=s.faint_snr_db_max, p=s.p_faint_noise),
        A.BitCrush(min_bit_depth=s.bit_depth_min, max_bit_depth=s.bit_depth_max, p=s.p_bit_crush),
    ])


class _WeightedOneOf:
    """Apply one of ``transforms`` chosen with probabilities ``weights``, with probability ``p``.

    (audiomentations' ``OneOf`` draws uniformly.) Draws from ``random``, like the library.
    """

    def __init__(self, transforms, weights, p: float) -> None:
        w = np.asarray(weights, dtype=float)
        self.transforms, self.cum, self.p = transforms, np.cumsum(w / w.sum()), p

    def __call__(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        if random.random() >= self.p:
            return samples
        i = int(np.searchsorted(self.cum, random.random(), side="right"))
        return self.transforms[min(i, len(self.transforms) - 1)](samples, sample_rate=sample_rate)


def segmenter_utterances(z: np.ndarray, config: FrontEndConfig = FRONT_END) -> list:
    """The utterances the live recognizer finds in a recording ``z``, as ``recognize`` segments a file.

    :class:`realtime.segmenter.Segmenter` with its live settings and the initial floor
    ``recognize`` measures for a file (:func:`realtime.pipeline.file_noise_floor_dbfs`).

    Parameters
    ----------
    z : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``config.sample_rate_hz``.

    Returns
    -------
    utterances : list of realtime.segmenter.Utterance
        In order; empty if none was found (too short, or longer than ``MAX_SPEECH_MS``).
    """
    from realtime.pipeline import file_noise_floor_dbfs
    from realtime.segmenter import Segmenter, SegmenterConfig

    sr = config.sample_rate_hz
    seg = Segmenter(SegmenterConfig(sample_rate_hz=sr, window_samples=config.window_samples),
                    initial_floor_dbfs=file_noise_floor_dbfs(z, sr))
    return seg.push(z) + seg.flush()


def segmenter_window(z: np.ndarray, config: FrontEndConfig = FRONT_END) -> np.ndarray | None:
    """The real samples of the window the live recognizer would classify for the utterance in ``z``.

    Of the utterances :func:`segmenter_utterances` finds, the one with the most energy between
    its first and last active frame (the word, not a burst of the noise around it).

    Parameters
    ----------
    z : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``config.sample_rate_hz``.

    Returns
    -------
    window : np.ndarray [shape=(m,), dtype=float32], 0 < m <= config.window_samples, or None
        None if the segmenter found no utterance.
    """
    z = np.asarray(z, np.float32)
    found = segmenter_utterances(z, config)
    if not found:
        return None
    u = max(found, key=lambda u: float(np.sum(np.square(z[u.speech_start_sample:u.end_sample], dtype=np.float64))))
    return u.window[:u.n_samples].copy()


def augment(
    y: np.ndarray, chain, *, seed: int, settings: AugmentSettings = DEFAULT_AUGMENT, config: FrontEndConfig = FRONT_END,
) -> np.ndarray:
    """One augmented copy of a clip: a random lead (time shift) and tail, then ``chain``, then
    (``settings.segmenter_cut``) the segmenter's window of it, if it finds one.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``config.sample_rate_hz``.
    seed : int
        Seeds every random choice (:func:`seed_everything`).

    Returns
    -------
    z : np.ndarray [shape=(m,), dtype=float32]
        Finite samples in [-1, 1].
    """
    seed_everything(seed)
    lead = np.zeros(int(random.uniform(0, settings.max_lead_s) * config.sample_rate_hz), np.float32)
    tail = np.zeros(int(random.uniform(0, settings.max_tail_s) * config.sample_rate_hz), np.float32)
    x = np.concatenate([lead, np.asarray(y, np.float32), tail])
    if x.size < 32:
        x = np.pad(x, (0, 32 - x.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampling notices etc.; inputs are at the right rate
        z = chain(x, sample_rate=config.sample_rate_hz)
    z = np.clip(np.nan_to_num(np.asarray(z, np.float32), nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0)
    if settings.segmenter_cut:
        cut = segmenter_window(z, config)
        if cut is not None:
            return cut
    return z


__all__ = ["AugmentSettings", "DEFAULT_AUGMENT", "augment", "build_chain", "make_babble_bank", "resample_bank",
           "seed_everything", "seed_for", "segmenter_utterances", "segmenter_window"]
