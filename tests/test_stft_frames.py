"""``n_stft_frames``, the one count of STFT frames, against librosa's actual output."""
from __future__ import annotations

import numpy as np
import pytest

from realtime.frontend import FrontEnd, n_stft_bins, n_stft_frames
from trainer.config import FrontEndConfig


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("n, n_fft, hop", [
    (17640, 2048, 512),  # the default front end: 35 frames with center=True
    (17640, 2047, 512),  # odd n_fft
    (17640, 1024, 441),
    (4096, 2048, 2048),
    (2048, 2048, 512),  # exactly one frame without padding
    (2100, 512, 100),
])
def test_n_stft_frames_is_librosas(center, n, n_fft, hop):
    import librosa

    y = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    S = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=n_fft, hop_length=hop, center=center, n_mels=16)
    assert S.shape[1] == n_stft_frames(n, n_fft, hop, center)
    assert librosa.stft(y, n_fft=n_fft, hop_length=hop, center=center).shape == (n_stft_bins(n_fft), S.shape[1])


def test_n_stft_frames_of_the_default_front_end():
    assert n_stft_frames(17640, 2048, 512, True) == 1 + 17640 // 512 == 35
    assert n_stft_frames(17640, 2048, 512, False) == 1 + (17640 - 2048) // 512 == 31


def test_a_signal_shorter_than_a_frame_is_refused():
    with pytest.raises(ValueError, match="shorter than one STFT frame"):
        n_stft_frames(1000, 2048, 512, False)
    with pytest.raises(ValueError):
        n_stft_frames(17640, 2048, 0, True)


@pytest.mark.parametrize("center", [True, False])
def test_config_and_numpy_front_end_agree_with_librosa(center):
    """trainer.config's n_frames, the numpy front end and trainer.data.features.log_mel have one shape."""
    from trainer.data.features import log_mel, mel_filterbank

    cfg = FrontEndConfig(center=center)
    wave = np.random.default_rng(1).uniform(-0.5, 0.5, cfg.window_samples).astype(np.float32)
    reference = log_mel(wave, config=cfg)
    assert reference.shape == cfg.log_mel_shape == (cfg.n_mels, n_stft_frames(cfg.window_samples, cfg.n_fft,
                                                                              cfg.hop_length, center))
    fe = FrontEnd(cfg.to_dict(), mel_filterbank(config=cfg))
    assert fe.log_mel_shape == cfg.log_mel_shape
    np.testing.assert_allclose(fe.log_mel(wave), reference, atol=1e-3)
