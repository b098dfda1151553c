"""A peer to compare with: PocketSphinx 5 with a ten-word digit grammar (``compare --baseline pocketsphinx``),
or a digit-loop grammar for digit strings (``strings --baseline pocketsphinx``).

PocketSphinx (CMU Sphinx, a 2016-era HMM/GMM decoder; ``pip install "spoken-digits[baselines]"``
installs its Python bindings with the default US English acoustic model and dictionary) decodes
each test item with the JSGF grammar :data:`DIGIT_GRAMMAR` (exactly one of the words zero ... nine),
the usual way to use it as an isolated-digit recognizer. The grammar always returns a digit when
it returns anything: it has no rejection, so it is scored on digit items only (right = the decoded
word is the item's digit); its false accepts on non-digit audio would be nearly every utterance.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data.corpus import DIGIT_WORDS
from ..errors import DataError

#: JSGF grammar of one digit word (the words of the Speech Commands folders and FSDD).
DIGIT_GRAMMAR = ("#JSGF V1.0;\ngrammar digits;\npublic <digit> = " + " | ".join(DIGIT_WORDS) + ";\n")
#: JSGF grammar of a digit loop: one or more digit words, "oh" for zero (TIDIGITS' vocabulary), for digit strings.
DIGIT_LOOP_GRAMMAR = ("#JSGF V1.0;\ngrammar digitloop;\n<digit> = " + " | ".join((*DIGIT_WORDS, "oh"))
                      + ";\npublic <digits> = <digit>+;\n")
#: PocketSphinx's default acoustic model is trained on 16 kHz audio.
POCKETSPHINX_RATE_HZ = 16000
BASELINES = ("pocketsphinx",)


def pocketsphinx_version() -> str | None:
    """The installed ``pocketsphinx`` version, or None if it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pocketsphinx")
    except PackageNotFoundError:
        return None


class PocketSphinxDigits:
    """A PocketSphinx decoder restricted to :data:`DIGIT_GRAMMAR`, or with ``loop=True`` to
    :data:`DIGIT_LOOP_GRAMMAR` (digit strings: :meth:`decode_string`).

    Raises
    ------
    DataError
        If the ``pocketsphinx`` package is not installed (the error says how to install it).
    """

    def __init__(self, *, loop: bool = False) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as e:
            raise DataError('the pocketsphinx baseline needs the pocketsphinx package: '
                            'pip install "spoken-digits[baselines]" (or pip install pocketsphinx)') from e
        self._decoder = Decoder(samprate=POCKETSPHINX_RATE_HZ, loglevel="FATAL")
        self._decoder.add_jsgf_string("digits", DIGIT_LOOP_GRAMMAR if loop else DIGIT_GRAMMAR)
        self._decoder.activate_search("digits")
        self.loop = loop

    def decode(self, samples: np.ndarray, rate_hz: int) -> str | None:
        """The digit label (``"0"``-``"9"``) PocketSphinx hears in ``samples``, or None for no hypothesis.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,), float, -1..1]
            Mono audio at ``rate_hz``; resampled to 16 kHz (``soxr``, "HQ") and written as 16-bit PCM.
        """
        words = self._words(samples, rate_hz)
        return str(DIGIT_WORDS.index(words[0])) if len(words) == 1 and words[0] in DIGIT_WORDS else None

    def decode_string(self, samples: np.ndarray, rate_hz: int) -> str:
        """The digits PocketSphinx hears in ``samples`` as a string (``"4172"``; "oh" is 0; ``""`` for none).
        With the one-digit grammar it is at most one digit."""
        return "".join("0" if w == "oh" else str(DIGIT_WORDS.index(w))
                       for w in self._words(samples, rate_hz) if w == "oh" or w in DIGIT_WORDS)

    def _words(self, samples: np.ndarray, rate_hz: int) -> list[str]:
        import soxr

        x = np.asarray(samples, np.float64)
        if rate_hz != POCKETSPHINX_RATE_HZ:
            x = soxr.resample(x, rate_hz, POCKETSPHINX_RATE_HZ, quality="HQ")
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        # alternative pronunciations come back as "word(2)"
        return [w.split("(")[0] for w in hyp.hypstr.split()] if hyp is not None and hyp.hypstr else []

    def decode_all(self, items: Sequence[tuple[np.ndarray, int]]) -> list[str | None]:
        """:meth:`decode` of every ``(samples, rate_hz)``."""
        return [self.decode(y, r) for y, r in items]


__all__ = ["BASELINES", "DIGIT_GRAMMAR", "POCKETSPHINX_RATE_HZ", "PocketSphinxDigits", "pocketsphinx_version"]
