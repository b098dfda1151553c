"""Audio files: read any file libsndfile reads as mono float32, and resample.

Files are read with ``soundfile`` and mixed to mono by averaging the channels
(as ``librosa.load`` does); resampling uses soxr at the quality librosa uses
(``soxr_hq``), so an 8 kHz FSDD file becomes exactly the samples the trainer saw.
:class:`StreamResampler` gives the same samples block by block, whatever the
block sizes (the microphone path uses it).
"""
from __future__ import annotations

import os

import numpy as np

from .errors import AudioInputError, one_line

#: soxr quality used everywhere (``librosa.load``'s default ``res_type="soxr_hq"``).
RESAMPLE_QUALITY = "HQ"


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Parameters
    ----------
    path : path
        Any file libsndfile reads (WAV of 8 to 32 bits, integer or float, any rate,
        any channel count; also FLAC/OGG).

    Returns
    -------
    samples : np.ndarray [shape=(n,), dtype=float32]
        The channels averaged, in [-1, 1]; ``n >= 1``.
    sample_rate_hz : int (Hz)
        The file's sample rate.

    Raises
    ------
    AudioInputError
        If the file is missing, unreadable, empty (no samples) or holds non-finite samples.
        The message names the file.
    """
    import soundfile as sf

    p = os.fspath(path)
    if not os.path.exists(p):
        raise AudioInputError(f"{p}: no such file")
    if os.path.isdir(p):
        raise AudioInputError(f"{p}: is a directory, not an audio file")
    try:
        data, rate = sf.read(p, dtype="float32", always_2d=True)
    except Exception as e:  # LibsndfileError, RuntimeError, OSError, ...
        raise AudioInputError(f"{p}: unreadable audio file ({one_line(e)})") from e
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise AudioInputError(f"{p}: empty audio file (0 samples)")
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise AudioInputError(f"{p}: the audio holds non-finite samples (NaN or infinity)")
    return mono, int(rate)


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Resample a whole signal (soxr, ``soxr_hq``, as ``librosa.load``).

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float32]
    from_hz, to_hz : int > 0 (Hz)

    Returns
    -------
    resampled : np.ndarray [shape=(round(n * to_hz / from_hz),), dtype=float32]
        ``samples`` itself when the rates are equal.
    """
    if from_hz == to_hz:
        return np.asarray(samples, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(samples, dtype=np.float32), from_hz, to_hz, quality=RESAMPLE_QUALITY)


class StreamResampler:
    """Block-by-block resampler whose output does not depend on the block sizes.

    The concatenated output equals :func:`resample` of the concatenated input
    (soxr streams are exact), so a file and a microphone get the same samples.

    Parameters
    ----------
    from_hz, to_hz : int > 0 (Hz)
    """

    def __init__(self, from_hz: int, to_hz: int) -> None:
        if from_hz <= 0 or to_hz <= 0:
            raise ValueError(f"sample rates must be > 0, got {from_hz}, {to_hz}")
        self.from_hz, self.to_hz = int(from_hz), int(to_hz)
        self._stream = None
        if self.from_hz != self.to_hz:
            import soxr

            self._stream = soxr.ResampleStream(self.from_hz, self.to_hz, 1, dtype="float32",
                                               quality=RESAMPLE_QUALITY)

    def process(self, block: np.ndarray, *, last: bool = False) -> np.ndarray:
        """Resample the next block.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), float32] at ``from_hz``
        last : bool
            True for the final call: drains the resampler.

        Returns
        -------
        out : np.ndarray [shape=(m,), dtype=float32] at ``to_hz``
        """
        x = np.asarray(block, dtype=np.float32)
        if self._stream is None:
            return x
        return self._stream.resample_chunk(x, last=last)


__all__ = ["RESAMPLE_QUALITY", "StreamResampler", "read_wav", "resample"]
