"""Developer benchmarks that print a table (not tests): the raw model's framing (``python -m
trainer.benchmarks.framing``), the digit length gate's speech spans (``python -m trainer.benchmarks.spans``) and the
steady-noise release of that gate (``python -m trainer.benchmarks.gate``).
"""
