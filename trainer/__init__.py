"""spoken-digits trainer: FSDD data, log-mel features, augmentation, the four LSTM models.

Importing this package is cheap; TensorFlow and librosa load only when used.
"""
__version__ = "0.1.0"
