"""Reference log-mel features (librosa). ``realtime/`` reproduces them in numpy."""
from __future__ import annotations

import numpy as np

from ..config import FRONT_END, FrontEndConfig


def mel_filterbank(*, config: FrontEndConfig = FRONT_END) -> np.ndarray:
    """The mel filterbank of the front end.

    ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm)`` (Slaney mel scale
    and area normalization by default).

    Returns
    -------
    mel_basis : np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
    """
    import librosa

    return librosa.filters.mel(
        sr=config.sample_rate_hz, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin_hz,
        fmax=config.fmax_hz, htk=config.htk, norm=config.norm, dtype=np.float32,
    )


def log_mel(wave: np.ndarray, *, config: FrontEndConfig = FRONT_END, formant_scale: float = 1.0) -> np.ndarray:
    """Log-mel spectrogram of one window, as in the seed notebooks (docs/design.md section 3).

    ``librosa.power_to_db(librosa.feature.melspectrogram(y, sr=22050, n_fft=2048,
    hop_length=512, n_mels=64, fmax=4000), ref=np.max)``, with every parameter
    taken from ``config``.

    Parameters
    ----------
    wave : np.ndarray [shape=(window_samples,), dtype=float32]
        One padded window (see :func:`trainer.data.fsdd.pad_and_mask`).
    formant_scale : float > 0
        Vocal tract length perturbation for training (Jaitly & Hinton 2013): the spectrum's
        frequencies are scaled by this factor before the mel filterbank, i.e. the filterbank is
        built as if the STFT bins were ``formant_scale`` times their frequency
        (``librosa.filters.mel(sr=sample_rate_hz * formant_scale, ...)``); the filter at f Hz
        reads the energy at ``f / formant_scale`` Hz. 1.0: the front end itself.

    Returns
    -------
    S_db : np.ndarray [shape=(n_mels, n_frames) = (64, 35), dtype=float32]
        Power in dB relative to the window's maximum, in ``[-top_db, 0]`` (-80 .. 0 dB).
        An all-zero window gives all zeros (librosa's ``ref=np.max`` on silence).

    Raises
    ------
    ValueError
        If ``wave`` is not 1-D of ``config.window_samples`` samples, or ``formant_scale`` would put
        ``fmax`` above the (scaled) Nyquist frequency or is not > 0.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if wave.shape != (config.window_samples,):
        raise ValueError(f"expected a window of shape ({config.window_samples},), got {wave.shape}")
    if not formant_scale > 0 or config.fmax_hz > config.sample_rate_hz * formant_scale / 2:
        raise ValueError(f"formant_scale must be > 0 and keep fmax ({config.fmax_hz} Hz) under "
                         f"sample_rate_hz * formant_scale / 2, got {formant_scale}")
    return log_mel_frames(wave, config=config, formant_scale=formant_scale)


def log_mel_frames(y: np.ndarray, *, config: FrontEndConfig = FRONT_END, formant_scale: float = 1.0) -> np.ndarray:
    """The computation of :func:`log_mel` on mono audio of any length (no checks).

    Returns ``(n_mels, 1 + len(y) // hop_length)`` float32 dB, relative to ``y``'s loudest bin, in
    ``[-top_db, 0]`` (``librosa.feature.melspectrogram`` then ``librosa.power_to_db(ref=np.max)``).
    """
    import librosa

    S = librosa.feature.melspectrogram(
        y=y, sr=config.sample_rate_hz * formant_scale, n_fft=config.n_fft, hop_length=config.hop_length,
        win_length=config.win_length, window=config.window, center=config.center, pad_mode=config.pad_mode,
        power=config.power, n_mels=config.n_mels, fmin=config.fmin_hz, fmax=config.fmax_hz,
        htk=config.htk, norm=config.norm,
    )
    return librosa.power_to_db(S, ref=np.max, amin=config.amin, top_db=config.top_db).astype(np.float32)


def log_mel_batch(waves: np.ndarray, *, config: FrontEndConfig = FRONT_END) -> np.ndarray:
    """:func:`log_mel` of each row: ``(n, window_samples)`` -> ``(n, n_mels, n_frames)`` float32."""
    out = np.empty((len(waves), *config.log_mel_shape), dtype=np.float32)
    for i, w in enumerate(waves):
        out[i] = log_mel(w, config=config)
    return out
