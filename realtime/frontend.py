"""The edge front end: log-mel spectrogram of one window, numpy only.

Reproduces the trainer's reference features (``trainer.data.features.log_mel``)::

    librosa.power_to_db(
        librosa.feature.melspectrogram(y, sr, n_fft, hop_length, win_length, window,
                                       center, pad_mode, power, mel_basis...),
        ref=np.max, amin=amin, top_db=top_db)

step by step, following librosa 0.11 (``librosa.stft``, ``librosa.feature.melspectrogram``,
``librosa.power_to_db``):

1. ``center=True``: pad ``n_fft // 2`` samples on both sides (``np.pad(mode=pad_mode)``).
2. Frames of ``n_fft`` samples every ``hop_length`` samples, each tapered by the STFT
   window, a periodic Hann ``w[n] = 0.5 - 0.5 cos(2 pi n / win_length)``
   (``scipy.signal.get_window("hann", fftbins=True)``), zero-padded to ``n_fft`` in the centre.
3. ``|rfft(frame)| ** power``, then ``mel_basis @ S`` with the bundle's mel matrix.
4. ``10 log10(max(amin, S)) - 10 log10(max(amin, max(S)))``, floored at ``max - top_db``.

The golden test (``tests/test_frontend.py``) checks it against librosa on real
FSDD clips to 1e-3 dB.

Words: a *window* is the 0.8 s of audio the model classifies (``window_samples``);
the taper applied to each STFT frame is the *STFT window* (``stft_window``; the
bundle's ``front_end`` keeps librosa's key name, ``window``).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def n_stft_frames(window_samples: int, n_fft: int, hop_length: int, center: bool) -> int:
    """STFT frames of a signal, as ``librosa.stft`` (and so ``librosa.feature.melspectrogram``) counts them.

    The one definition of ``n_frames``: the trainer's config, the bundle reader and
    :class:`FrontEnd` all use it.

    Parameters
    ----------
    window_samples : int > 0
        Samples of the signal (the 0.8 s model input: 17,640).
    n_fft : int > 0
        Samples per STFT frame.
    hop_length : int > 0
        Samples between the starts of two frames.
    center : bool
        Whether ``n_fft // 2`` samples are padded on both sides first (librosa's ``center``).

    Returns
    -------
    n_frames : int
        ``1 + (n - n_fft) // hop_length`` with ``n = window_samples + 2 * (n_fft // 2)`` when
        ``center`` else ``window_samples``: for an even ``n_fft``, ``1 + window_samples // hop_length``
        when ``center`` (35 for the default front end), ``1 + (window_samples - n_fft) // hop_length``
        otherwise.

    Raises
    ------
    ValueError
        If a size is not positive, or the (padded) signal is shorter than one frame
        (librosa refuses such a signal).
    """
    if window_samples <= 0 or n_fft <= 0 or hop_length <= 0:
        raise ValueError(f"window_samples, n_fft and hop_length must be > 0, got {window_samples}, {n_fft}, {hop_length}")
    padded = window_samples + (2 * (n_fft // 2) if center else 0)
    if padded < n_fft:
        raise ValueError(f"a signal of {window_samples} samples is shorter than one STFT frame (n_fft={n_fft}, "
                         f"center={center})")
    return 1 + (padded - n_fft) // hop_length


def n_stft_bins(n_fft: int) -> int:
    """Frequency bins of a real FFT of ``n_fft`` samples: ``1 + n_fft // 2`` (the mel matrix's columns)."""
    return 1 + n_fft // 2


def hann_stft_window(win_length: int, n_fft: int) -> np.ndarray:
    """The STFT window: a periodic Hann of ``win_length`` samples, zero-padded to ``n_fft`` in the centre.

    ``w[n] = 0.5 - 0.5 cos(2 pi n / win_length)``, ``n = 0 .. win_length - 1``
    (``scipy.signal.get_window("hann", win_length, fftbins=True)``), centred as by
    ``librosa.util.pad_center``.

    Returns
    -------
    stft_window : np.ndarray [shape=(n_fft,), dtype=float64]
    """
    n = np.arange(win_length, dtype=np.float64)
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft, dtype=np.float64)
    out[left:left + win_length] = w
    return out


class FrontEnd:
    """Log-mel of one window with fixed parameters and mel matrix; reusable and cheap per call.

    Parameters
    ----------
    front_end : mapping
        The bundle's ``front_end`` parameters (``sample_rate_hz``, ``window_samples``,
        ``n_fft``, ``hop_length``, ``win_length``, ``center``, ``pad_mode``, ``power``,
        ``n_mels``, ``n_frames``, ``amin``, ``top_db``; see :mod:`realtime.bundle`).
        ``window`` (the STFT window) must be ``"hann"`` and ``ref`` ``"max"``.
    mel_basis : np.ndarray [shape=(n_mels, 1 + n_fft // 2)]
        Mel filterbank (``librosa.filters.mel``), applied to the power spectrum.

    Raises
    ------
    ValueError
        If a parameter is one this front end does not implement, or ``mel_basis`` has
        the wrong shape.
    """

    def __init__(self, front_end: Mapping[str, Any], mel_basis: np.ndarray):
        fe = dict(front_end)
        if fe.get("window", "hann") != "hann":
            raise ValueError(f"only the 'hann' STFT window is implemented, got {fe['window']!r}")
        if fe.get("ref", "max") != "max":
            raise ValueError(f"only ref='max' is implemented, got {fe['ref']!r}")
        self.n_fft = int(fe["n_fft"])
        self.hop_length = int(fe["hop_length"])
        self.win_length = int(fe.get("win_length") or self.n_fft)
        self.window_samples = int(fe["window_samples"])
        self.center = bool(fe["center"])
        self.pad_mode = str(fe["pad_mode"])
        self.power = float(fe["power"])
        if self.power not in (1.0, 2.0):
            raise ValueError(f"power must be 1 (magnitude) or 2 (power), got {self.power}")
        self.amin = float(fe["amin"])
        top_db = fe.get("top_db")
        self.top_db = None if top_db is None else float(top_db)
        mel_basis = np.asarray(mel_basis, dtype=np.float32)
        n_bins = n_stft_bins(self.n_fft)
        if mel_basis.ndim != 2 or mel_basis.shape[1] != n_bins:
            raise ValueError(f"mel_basis must have shape (n_mels, {n_bins}), got {mel_basis.shape}")
        self.n_mels = mel_basis.shape[0]
        self.n_frames = n_stft_frames(self.window_samples, self.n_fft, self.hop_length, self.center)
        if "n_frames" in fe and int(fe["n_frames"]) != self.n_frames:
            raise ValueError(f"n_frames {fe['n_frames']} disagrees with the STFT settings ({self.n_frames})")
        # Only the FFT bins some mel band uses matter (fmax_hz = 4 kHz keeps ~1/3 of them).
        used = np.flatnonzero(mel_basis.any(axis=0))
        self._lo, self._hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)
        self._mel = np.ascontiguousarray(mel_basis[:, self._lo:self._hi])
        self._stft_window = hann_stft_window(self.win_length, self.n_fft)
        self._pad = self.n_fft // 2 if self.center else 0
        self._padded = np.zeros(self.window_samples + 2 * self._pad, dtype=np.float32)

    @property
    def log_mel_shape(self) -> tuple[int, int]:
        """``(n_mels, n_frames)`` = (64, 35)."""
        return (self.n_mels, self.n_frames)

    @classmethod
    def from_bundle(cls, bundle) -> "FrontEnd":
        """The front end of a :class:`realtime.bundle.Bundle`."""
        return cls(bundle.front_end, bundle.mel_basis)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        return self.log_mel(wave)

    def log_mel(self, wave: np.ndarray) -> np.ndarray:
        """Log-mel spectrogram of one window.

        Parameters
        ----------
        wave : np.ndarray [shape=(window_samples,), float]
            One window of mono audio at the bundle's ``sample_rate_hz`` (Hz), in [-1, 1],
            left-aligned and zero-padded as in training.

        Returns
        -------
        log_mel : np.ndarray [shape=(n_mels, n_frames) = (64, 35), dtype=float32]
            Power in dB relative to the window's maximum, in ``[-top_db, 0]``; an
            all-zero window gives all zeros (as ``librosa.power_to_db(ref=np.max)``).

        Raises
        ------
        ValueError
            If ``wave`` is not 1-D of ``window_samples`` samples or holds non-finite values.
        """
        wave = np.asarray(wave)
        if wave.shape != (self.window_samples,):
            raise ValueError(f"expected a window of shape ({self.window_samples},), got {wave.shape}")
        if not np.all(np.isfinite(wave)):
            raise ValueError("the window holds non-finite samples (NaN or inf)")
        if self.center:
            if self.pad_mode == "constant":
                y = self._padded
                y[self._pad:self._pad + self.window_samples] = wave
            else:
                y = np.pad(wave.astype(np.float32, copy=False), self._pad, mode=self.pad_mode)
        else:
            y = wave.astype(np.float32, copy=False)
        return self._log_mel_of_padded(y, self.n_frames)

    def utterance_frames(self, n_samples: int) -> int:
        """STFT frames of ``n_samples`` samples (``1 + n // hop_length`` when centred)."""
        return n_stft_frames(int(n_samples), self.n_fft, self.hop_length, self.center)

    def log_mel_utterance(self, wave: np.ndarray) -> np.ndarray:
        """Log-mel spectrogram of a whole utterance of any length (the digit-string model's input).

        The same computation as :meth:`log_mel` (and ``trainer.data.features.log_mel_frames``),
        on ``n`` samples instead of one window: dB relative to the utterance's loudest bin.

        Parameters
        ----------
        wave : np.ndarray [shape=(n,), float]
            Mono audio at the bundle's ``sample_rate_hz`` (Hz), in [-1, 1]; ``n >= 1`` (and
            ``n >= n_fft`` without centring).

        Returns
        -------
        log_mel : np.ndarray [shape=(n_mels, utterance_frames(n)), dtype=float32]

        Raises
        ------
        ValueError
            If ``wave`` is empty, not 1-D, too short or holds non-finite values.
        """
        wave = np.asarray(wave)
        if wave.ndim != 1 or wave.size == 0:
            raise ValueError(f"expected non-empty mono audio of shape (n,), got {wave.shape}")
        if not np.all(np.isfinite(wave)):
            raise ValueError("the audio holds non-finite samples (NaN or inf)")
        n_frames = self.utterance_frames(wave.size)
        y = wave.astype(np.float32, copy=False)
        if self.center:
            y = np.pad(y, self._pad, mode=self.pad_mode)
        return self._log_mel_of_padded(y, n_frames)

    def _log_mel_of_padded(self, y: np.ndarray, n_frames: int) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(y, self.n_fft)[:: self.hop_length][: n_frames]
        spectrum = np.fft.rfft(frames * self._stft_window, axis=-1)[:, self._lo:self._hi]
        if self.power == 2.0:
            S = spectrum.real ** 2 + spectrum.imag ** 2
        else:
            S = np.abs(spectrum)
        mel = self._mel @ S.T.astype(np.float32)
        log_spec = 10.0 * np.log10(np.maximum(self.amin, mel))
        log_spec -= 10.0 * np.log10(max(self.amin, float(mel.max())))
        if self.top_db is not None:
            np.maximum(log_spec, log_spec.max() - self.top_db, out=log_spec)
        return log_spec.astype(np.float32, copy=False)


def log_mel(wave: np.ndarray, bundle) -> np.ndarray:
    """Log-mel of one window with a bundle's front end (see :meth:`FrontEnd.log_mel`).

    Builds a :class:`FrontEnd` each call; keep one (``FrontEnd.from_bundle``) for a stream.
    """
    return FrontEnd.from_bundle(bundle).log_mel(wave)


__all__ = ["FrontEnd", "hann_stft_window", "log_mel", "n_stft_bins", "n_stft_frames"]
