"""Keras models: the seed protocol's LSTMs (raw waveform, spectrogram) and the deployed CRNN (:mod:`.lstm`), the
seeds' keyword CNNs (:mod:`.cnn`), the digit-string CRNN trained with CTC (:mod:`.ctc`), and the custom layers they
share (:mod:`.layers`).
"""
