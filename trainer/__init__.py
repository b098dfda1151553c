"""spoken-digits trainer: data, models, training recipes and evaluation (TensorFlow, librosa).

Sub-packages by concern (map: docs/design.md, "Package map"):

* :mod:`trainer.data`: corpora, speaker-disjoint splits, synthetic voices, negatives, augmentation, log-mel;
* :mod:`trainer.models`: the Keras LSTM / CRNN and CNN builders and their custom layers;
* :mod:`trainer.recipes`: the seed protocol, the deployed model, the seeds' 12-class task, leave-one-speaker-out;
* :mod:`trainer.evaluation`: training metrics, reports, ``compare``, ``robustness`` and ``far``;
* :mod:`trainer.benchmarks`: developer benchmarks that print tables.

Beside them: :mod:`trainer.cli` (the ``spoken-digits`` training commands), :mod:`trainer.config` (front end and
protocol constants), :mod:`trainer.errors`, :mod:`trainer.atomic` (write-then-rename) and :mod:`trainer.runs`
(run folders and saved models). Importing this package is cheap; TensorFlow and librosa load only when used.
"""
__version__ = "0.1.0"
