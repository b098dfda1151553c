"""``spoken-digits calibrate``: a per-user threshold from the user's own background audio.

The background (a file, or the microphone for ``duration`` seconds) is streamed
through the same :class:`~realtime.pipeline.Recognizer` as ``listen``, with the
threshold at 0 so that every utterance whose top class is a digit is counted with
its probability. Such an utterance is a false accept at any threshold up to that
probability (the user is asked not to speak digits). The chosen threshold is the
smallest one, not below the model's own, that keeps false accepts per hour of
this background at or under the target.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .bundle import REJECT_LABELS

#: Thresholds are searched on this grid (probability steps of 0.005).
THRESHOLD_STEP = 0.005


@dataclass(frozen=True)
class CalibrationResult:
    """What ``calibrate`` measured and chose.

    Attributes
    ----------
    audio_s : float (s)
        Background audio listened to.
    utterances : int
        Utterances the segmenter cut out of it.
    rejected : dict of str -> int
        Utterances whose top class was ``_silence_`` / ``_unknown_``.
    digit_confidences : list of float
        Top probability of every utterance whose top class is a digit (each a false accept
        at any threshold up to it), descending.
    string_false_digits : int
        Digits of the strings the bundle's digit-string model accepted in the background (its own
        rule decides them, whatever the threshold): they count at every threshold.
    floor : float
        The lowest threshold allowed (the model's own).
    confirmed_false_digits : int
        Digits under ``floor`` that the string model confirmed (:attr:`realtime.pipeline.Decision.confirmed`):
        false digits at ``floor`` only (a stricter threshold turns confirmation off,
        :func:`realtime.strings.confirms_at`).
    threshold : float
        The chosen threshold.
    false_accepts_per_hour_at_floor, false_accepts_per_hour : float (1/h)
        Measured on this background at ``floor`` and at ``threshold``.
    target_per_hour : float (1/h)
    met : bool
        False if even the highest threshold of the grid leaves more than the target.
    """

    audio_s: float
    utterances: int
    rejected: dict
    digit_confidences: list
    string_false_digits: int
    floor: float
    threshold: float
    false_accepts_per_hour_at_floor: float
    false_accepts_per_hour: float
    target_per_hour: float
    met: bool
    confirmed_false_digits: int = 0

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def choose_threshold(confidences: Iterable[float], audio_s: float, *, target_per_hour: float, floor: float
                     ) -> tuple[float, float, bool]:
    """Smallest threshold >= ``floor`` (grid of :data:`THRESHOLD_STEP`) with FA/h <= target.

    A confidence ``c`` is a false accept at threshold ``t`` when ``c >= t``. FA/h =
    false accepts / (``audio_s`` / 3600).

    Returns
    -------
    threshold : float
    false_accepts_per_hour : float (1/h) at that threshold
    met : bool
        False if no threshold below 1 meets the target (the last grid point is returned).

    Raises
    ------
    ValueError
        If ``audio_s`` <= 0 or ``target_per_hour`` < 0.
    """
    if audio_s <= 0:
        raise ValueError(f"audio_s must be > 0, got {audio_s}")
    if target_per_hour < 0:
        raise ValueError(f"target_per_hour must be >= 0, got {target_per_hour}")
    c = np.asarray(list(confidences), dtype=np.float64)
    hours = audio_s / 3600.0
    start = np.ceil(floor / THRESHOLD_STEP - 1e-9) * THRESHOLD_STEP
    grid = np.round(np.arange(start, 1.0, THRESHOLD_STEP), 6)
    for t in grid:
        fa = float(np.sum(c >= t)) / hours
        if fa <= target_per_hour:
            return float(t), fa, True
    t = float(grid[-1]) if grid.size else float(floor)
    return t, float(np.sum(c >= t)) / hours, False


def calibrate_decisions(decisions, audio_s: float, *, target_per_hour: float, floor: float) -> CalibrationResult:
    """A :class:`CalibrationResult` from the decisions of a threshold-0 run over the background.

    Decisions of the digit-string model (``is_string``) are not moved by the threshold: their
    accepted digits are false digits at every threshold, so the window classifier's digits may use
    only what is left of ``target_per_hour`` (none left: not met). Digits under ``floor`` that the
    string model confirmed (``confirmed``) are false digits at ``floor`` only: if they break the
    target there, the threshold goes above the floor, where confirmation is off. Digits the string
    model vetoed (``vetoed``) are rejected at every threshold, as the length gate's are.
    """
    decisions = list(decisions)
    strings = [d for d in decisions if d.is_string]
    windows = [d for d in decisions if not d.is_string]
    string_digits = sum(len(d.digits) for d in strings)
    # digits the length gate rejects, or the string model vetoes, are never accepted, whatever the threshold
    conf = sorted((float(d.confidence) for d in windows
                   if d.top_label not in REJECT_LABELS and not d.too_short and not d.vetoed),
                  reverse=True)
    rejected = {lab: sum(1 for d in windows if d.top_label == lab) for lab in REJECT_LABELS}
    rejected["_unknown_"] = rejected.get("_unknown_", 0) + sum(1 for d in strings if not d.digits)  # not taken
    hours = audio_s / 3600.0
    left = target_per_hour - string_digits / hours
    t, fa, met = choose_threshold(conf, audio_s, target_per_hour=max(0.0, left), floor=floor)
    confirmed = sum(1 for d in windows if d.confirmed and d.top_label not in REJECT_LABELS and not d.too_short
                    and float(d.confidence) < floor)
    if confirmed and t <= floor:
        if fa + confirmed / hours > max(0.0, left):
            t, fa, met = choose_threshold(conf, audio_s, target_per_hour=max(0.0, left), floor=floor + THRESHOLD_STEP)
        else:
            fa += confirmed / hours
    return CalibrationResult(
        audio_s=float(audio_s), utterances=len(decisions), rejected=rejected, digit_confidences=conf,
        string_false_digits=string_digits, floor=float(floor), threshold=t,
        false_accepts_per_hour_at_floor=(float(np.sum(np.asarray(conf) >= floor)) + string_digits + confirmed) / hours,
        false_accepts_per_hour=fa + string_digits / hours, target_per_hour=float(target_per_hour),
        met=met and left >= 0, confirmed_false_digits=confirmed,
    )


__all__ = ["CalibrationResult", "THRESHOLD_STEP", "calibrate_decisions", "choose_threshold"]
