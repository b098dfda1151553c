"""Evaluation: metrics logged in training (:mod:`.metrics`), reports of trained runs (:mod:`.evaluate`),
bundle comparisons (:mod:`.compare`) and the held-out robustness / false-accept measurements (:mod:`.robustness`).
"""
