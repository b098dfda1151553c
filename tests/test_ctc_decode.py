"""Greedy CTC decoding in numpy (realtime.ctc)."""
import numpy as np
import pytest

from realtime.ctc import greedy_decode, string_confidence

LABELS = [*"0123456789", "<blank>"]
BLANK = 10


def frames(path, p=0.9):
    """Posteriors whose best class per frame follows ``path`` (indices); the rest share 1 - p."""
    out = np.full((len(path), len(LABELS)), (1 - p) / (len(LABELS) - 1))
    out[np.arange(len(path)), path] = p
    return out


def test_repeats_merge_blanks_split_and_vanish():
    path = [BLANK, 4, 4, BLANK, 1, BLANK, BLANK, 7, 7, 2, BLANK, 2]
    toks = greedy_decode(frames(path), LABELS, blank=BLANK)
    assert "".join(t.label for t in toks) == "41722"
    assert [(t.start_frame, t.end_frame) for t in toks] == [(1, 3), (4, 5), (7, 9), (9, 10), (11, 12)]
    assert toks[0].times_s(0.04, offset_s=1.0) == pytest.approx((1.04, 1.12))
    assert greedy_decode(frames([BLANK] * 5), LABELS, blank=BLANK) == []


def test_confidence_is_the_peak_of_the_run_and_the_string_takes_the_lowest():
    p = frames([3, 3, 3, BLANK, 8])
    p[1, 3] = 0.99
    p[4, 8] = 0.55
    toks = greedy_decode(p, LABELS, blank=BLANK)
    assert [t.confidence for t in toks] == pytest.approx([0.99, 0.55])
    assert string_confidence(toks) == pytest.approx(0.55) and string_confidence([]) == 1.0


def test_padding_frames_are_ignored_and_bad_shapes_refused():
    p = frames([5, BLANK, BLANK, 6, 6])
    assert "".join(t.label for t in greedy_decode(p, LABELS, blank=BLANK, n_frames=3)) == "5"
    with pytest.raises(ValueError, match="shape"):
        greedy_decode(p[0], LABELS, blank=BLANK)
    with pytest.raises(ValueError, match="labels"):
        greedy_decode(p, LABELS[:-1], blank=BLANK)
    with pytest.raises(ValueError, match="blank index"):
        greedy_decode(p, LABELS, blank=11)
    with pytest.raises(ValueError, match="n_frames"):
        greedy_decode(p, LABELS, blank=BLANK, n_frames=6)
