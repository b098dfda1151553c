"""Developer benchmarks that print a table (not tests): the raw model's framing (``python -m
trainer.benchmarks.framing``), the digit length gate's speech spans (``python -m trainer.benchmarks.spans``), the
steady-noise release of that gate (``python -m trainer.benchmarks.gate``), and the score of ``spoken-digits
recognize --json`` output on folders of real digit clips or of speech without digits (``python -m
trainer.benchmarks.recognized``).
"""
