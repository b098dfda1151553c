"""Log-mel features against librosa called with the seed notebooks' settings (fmax = 4 kHz)."""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from trainer.data.fsdd import load_audio, pad_and_mask
from trainer.data.features import log_mel, mel_filterbank

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


@pytest.mark.parametrize("formant_scale", (0.9, 1.2))
def test_vtlp_moves_a_tone_by_the_formant_scale(formant_scale):
    """VTLP (formant_scale): a 1 kHz tone lands in the mel band of formant_scale x 1 kHz."""
    sr = 22050
    t = np.arange(17640) / sr
    tone = (0.3 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    centres = librosa.mel_frequencies(n_mels=64 + 2, fmin=0.0, fmax=4000.0)[1:-1]
    band = int(np.argmax(log_mel(tone, formant_scale=formant_scale).mean(axis=1)))
    assert abs(centres[band] - 1000.0 * formant_scale) < 40.0  # neighbouring bands are ~50 Hz apart here
    assert band != int(np.argmax(log_mel(tone).mean(axis=1)))
    np.testing.assert_array_equal(log_mel(tone, formant_scale=1.0), log_mel(tone))


def test_vtlp_refuses_a_scale_beyond_nyquist():
    w = np.zeros(17640, np.float32)
    for bad in (0.0, -1.0, 0.3):  # 0.3: 22,050 x 0.3 / 2 = 3.3 kHz < fmax 4 kHz
        with pytest.raises(ValueError, match="formant_scale"):
            log_mel(w, formant_scale=bad)
