"""Keras models: the seed protocol's LSTMs (raw waveform, spectrogram) and the deployed CRNN (:mod:`.lstm`), the
seeds' keyword CNNs (:mod:`.cnn`), and the custom layers they share (:mod:`.layers`).
"""
