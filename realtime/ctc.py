"""CTC decoding in numpy, for digit-string models (issue 27): no TensorFlow on the edge.

A CTC model (Graves et al. 2006, "Connectionist Temporal Classification: Labelling Unsegmented
Sequence Data with Recurrent Neural Networks", ICML) gives, for every output frame, a distribution
over the labels plus a *blank*. Best-path (greedy) decoding takes the most probable class of every
frame, merges consecutive repeats and drops blanks: "4 4 _ 1 _ _ 7 7 2" reads "4172". A label said
twice in a row ("1 1") needs a blank between its two runs, which is what the CTC loss teaches.

Each decoded label keeps the frames of its run, so a caller gets per-digit times, and a confidence:
the highest posterior of that label within its run (the peak that CTC models emit for a token). The
string's confidence is the lowest of its labels' (a string is only as sure as its least sure digit).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class CtcToken:
    """One decoded label.

    Attributes
    ----------
    label : str
    start_frame, end_frame : int
        Its run of output frames, ``[start_frame, end_frame)``.
    confidence : float in [0, 1]
        The highest posterior of ``label`` within the run.
    """

    label: str
    start_frame: int
    end_frame: int
    confidence: float

    def times_s(self, frame_s: float, offset_s: float = 0.0) -> tuple[float, float]:
        """Start and end (s) of the run, for output frames of ``frame_s`` seconds starting at ``offset_s``."""
        return offset_s + self.start_frame * frame_s, offset_s + self.end_frame * frame_s


def greedy_decode(posteriors: np.ndarray, labels: Sequence[str], *, blank: int,
                  n_frames: int | None = None) -> list[CtcToken]:
    """Best-path CTC decoding of one utterance.

    Parameters
    ----------
    posteriors : np.ndarray [shape=(T, C), float]
        Per-frame class probabilities (or any scores whose argmax is the best class; the
        confidences are then those scores).
    labels : sequence of str, length C
        The name of each class (the blank's name is never emitted).
    blank : int
        Index of the blank class, ``0 <= blank < C``.
    n_frames : int or None
        Only the first ``n_frames`` frames are real (the rest is padding of a fixed-size input).

    Returns
    -------
    tokens : list of CtcToken
        In order; empty if every frame is blank.

    Raises
    ------
    ValueError
        If ``posteriors`` is not two-dimensional, ``labels`` does not match its classes, or
        ``blank`` / ``n_frames`` is out of range.
    """
    p = np.asarray(posteriors)
    if p.ndim != 2:
        raise ValueError(f"posteriors must have shape (frames, classes), got {p.shape}")
    t_all, c = p.shape
    if len(labels) != c:
        raise ValueError(f"{len(labels)} labels for {c} classes")
    if not 0 <= blank < c:
        raise ValueError(f"blank index {blank} outside 0..{c - 1}")
    t = t_all if n_frames is None else int(n_frames)
    if not 0 <= t <= t_all:
        raise ValueError(f"n_frames={n_frames} outside 0..{t_all}")
    best = p[:t].argmax(axis=1)
    tokens: list[CtcToken] = []
    start = 0
    for i in range(1, t + 1):
        if i == t or best[i] != best[start]:
            k = int(best[start])
            if k != blank:
                tokens.append(CtcToken(labels[k], start, i, float(p[start:i, k].max())))
            start = i
    return tokens


def string_confidence(tokens: Sequence[CtcToken]) -> float:
    """The lowest confidence of ``tokens`` (1.0 for an empty string: nothing was claimed)."""
    return min((tok.confidence for tok in tokens), default=1.0)


__all__ = ["CtcToken", "greedy_decode", "string_confidence"]
