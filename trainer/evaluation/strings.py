"""Scores of digit-string recognition: exact strings and the digit error rate.

The digit error rate is the word error rate of the digit sequences (each digit a word):
``(substitutions + deletions + insertions) / reference digits``, from a Levenshtein alignment
(``jiwer.process_words``), as connected-digit tasks report it (TIDIGITS, Leonard 1984).
"""
from __future__ import annotations

from typing import Sequence


def string_scores(references: Sequence[str], hypotheses: Sequence[str]) -> dict:
    """Score recognized digit strings against the strings said.

    Parameters
    ----------
    references, hypotheses : sequence of str
        Digit strings (``"4172"``), one pair per utterance; a reference must not be empty (score
        non-digit speech by its false digits instead), a hypothesis may be.

    Returns
    -------
    scores : dict
        ``strings`` (n), ``exact`` (share of hypotheses equal to their reference),
        ``digit_error_rate``, ``substitutions``, ``deletions``, ``insertions``, ``reference_digits``.

    Raises
    ------
    ValueError
        If the sequences differ in length, are empty, or a reference is empty or not all digits.
    """
    import jiwer

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references for {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no strings to score")
    for r in references:
        if not r or not r.isdigit():
            raise ValueError(f"reference {r!r} is not a non-empty digit string")
    words = lambda s: " ".join(s)  # noqa: E731
    out = jiwer.process_words([words(r) for r in references], [words(h) for h in hypotheses])
    n_ref = sum(len(r) for r in references)
    return {
        "strings": len(references),
        "exact": round(sum(r == h for r, h in zip(references, hypotheses)) / len(references), 4),
        "digit_error_rate": round((out.substitutions + out.deletions + out.insertions) / n_ref, 4),
        "substitutions": out.substitutions, "deletions": out.deletions, "insertions": out.insertions,
        "reference_digits": n_ref,
    }


__all__ = ["string_scores"]
