"""Log-mel features against librosa called with the seed notebooks' settings (fmax = 4 kHz)."""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from trainer.data import load_audio, pad_and_mask
from trainer.features import log_mel, mel_filterbank

#: Tolerance (dB) for values that are 0 dB in exact arithmetic: float32 log10 differs by a few 1e-6 dB
#: between CPUs (-7.6e-6 dB for silence on an AMD EPYC); the model's int8 input step is 80/255 = 0.31 dB.
ZERO_DB_ATOL = 1e-4


@pytest.mark.parametrize("name", ["0_jackson_0.wav", "9_george_3.wav", "4_lucas_27.wav"])
def test_log_mel_matches_librosa(fsdd_dir, name):
    wave, _ = pad_and_mask(load_audio(fsdd_dir / name))
    got = log_mel(wave)
    S = librosa.feature.melspectrogram(y=wave, sr=22050, n_fft=2048, hop_length=512, n_mels=64, fmax=4000)
    want = librosa.power_to_db(S, ref=np.max)
    assert got.shape == (64, 35) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert abs(got.max()) <= ZERO_DB_ATOL and got.min() >= -80.0  # ref=np.max: the loudest bin is 0 dB


def test_log_mel_of_silence_is_zero():
    # all bins equal the reference (ref=np.max): 0 dB, not the -80 dB floor, not NaN from log(0)
    np.testing.assert_allclose(log_mel(np.zeros(17640, np.float32)), 0.0, rtol=0, atol=ZERO_DB_ATOL)


def test_log_mel_rejects_wrong_length():
    with pytest.raises(ValueError, match="17640"):
        log_mel(np.zeros(1000, np.float32))


def test_mel_filterbank_shape_and_band():
    fb = mel_filterbank()
    assert fb.shape == (64, 1025) and fb.dtype == np.float32
    freqs = np.fft.rfftfreq(2048, 1 / 22050)
    assert not fb[:, freqs > 4000].any()  # nothing above fmax
