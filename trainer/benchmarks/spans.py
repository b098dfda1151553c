"""Speech length of each digit through the live segmenter: ``python -m trainer.benchmarks.spans``.

For every **non-test** digit clip of the corpus (FSDD train, Speech Commands digits of non-test
speakers, and with ``--synth-dir`` the training and validation voices of ``data synth``), the speech length
(``end - speech start`` of the utterance the segmenter cuts, in ms, the longest if it cut
several) is measured twice, as users meet a digit:

- *in context*: the clip trimmed to its utterance (``trainer.evaluation.robustness.sets.trim_bounds``) in
  0.5 s of digital silence before and after, like a clean item of ``spoken-digits robustness``
  (a digit said into a quiet microphone);
- *as a file*: the file as it is, through ``recognize`` (FSDD files are cut tight around the
  speech: the noise floor is estimated on the speech itself and the segmenter hears less of it).

No model is needed: only where the segmenter cuts counts. The rule of
:data:`realtime.constants.MIN_DIGIT_SPEECH_MS`, per digit: the 1st percentile of both
measurements together over the people's voices (:data:`REAL_SOURCES`; synthetic voices are
shown, not used), rounded down to 10 ms; the last line prints it as a Python literal.
Test material (FSDD official test, held-out speakers and voices) is never read: the gate is
chosen without the sets that measure it.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import click
import numpy as np

#: Percentile of the rule (%).
RULE_PERCENTILE = 1.0


def _longest_speech_ms(decisions) -> float | None:
    return max((d.utterance.speech_ms for d in decisions), default=None)


def digit_speech_ms(path: str | Path) -> tuple[float | None, float | None]:
    """The speech length (ms) the segmenter finds in one clean digit clip, in context and as a file.

    Parameters
    ----------
    path : path
        A WAV file of one spoken digit (any rate; channels averaged).

    Returns
    -------
    in_context_ms, as_file_ms : float or None (ms)
        ``end - speech start`` of the longest utterance (:attr:`realtime.segmenter.Utterance.speech_ms`)
        with the trimmed clip in 0.5 s of digital silence, and of the file as it is; None where
        the segmenter found no utterance.
    """
    from realtime.pipeline import recognize_samples
    from trainer.config import FRONT_END
    from trainer.evaluation.robustness.sets import CONTEXT_S, ITEM_RATE_HZ, load_clip, trim_bounds

    y = load_clip(path)
    a, b = trim_bounds(y)
    ctx = np.zeros(int(round(CONTEXT_S * ITEM_RATE_HZ)), np.float32)
    kw = dict(model_rate_hz=ITEM_RATE_HZ, window_samples=FRONT_END.window_samples, labels=("x",), threshold=0.0,
              min_digit_speech_ms=0.0)
    fake = lambda w: np.ones(1, np.float32)  # noqa: E731  (no model: only the segmenter's cut counts)
    in_context = recognize_samples(np.concatenate([ctx, y[a:b], ctx]), ITEM_RATE_HZ, fake, **kw)
    as_file = recognize_samples(y, ITEM_RATE_HZ, fake, **kw)
    return _longest_speech_ms(in_context), _longest_speech_ms(as_file)


def gate_ms(speech_ms: list[float]) -> float:
    """The rule of ``MIN_DIGIT_SPEECH_MS``: the 1st percentile of ``speech_ms``, rounded down to 10 ms.

    Raises
    ------
    ValueError
        If ``speech_ms`` is empty.
    """
    if not speech_ms:
        raise ValueError("no speech lengths")
    return float(math.floor(np.percentile(speech_ms, RULE_PERCENTILE) / 10.0) * 10)


#: Sources of people's voices: the gate is their 1st percentile. Synthetic voices say digits more
#: slowly and with louder fricatives ("six": 1st percentile 320 ms against 100 ms for FSDD's
#: speakers): a gate from them would reject people's quick digits.
REAL_SOURCES = ("fsdd", "speech_commands_digits")


@click.command()
@click.option("--corpus-root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("../shared/data"), show_default=True, help="The shared data folder.")
@click.option("--synth-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Synthetic voices of 'spoken-digits data synth': shown beside the real voices, not in the rule.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="At most this many clips per source and digit (quick look).")
def main(corpus_root: Path, synth_dir: Path | None, limit: int | None) -> None:
    """Print per-digit speech lengths (ms) of non-test clean digits through the segmenter, and the gate rule."""
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from trainer.data.corpus import CorpusPaths, read_corpus

    rows = [r for r in read_corpus(CorpusPaths.shared(corpus_root, synth=synth_dir))
            if r.is_digit and r.split != "test"]
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for r in rows:
        groups[(r.source.split(":")[0], r.label)].append(r)
    if limit:
        groups = {k: v[:: max(1, len(v) // limit)][:limit] for k, v in groups.items()}
    speech: dict[tuple[str, str], list[float]] = defaultdict(list)
    missed: dict[str, int] = defaultdict(int)
    todo = [(key, r) for key, rs in sorted(groups.items()) for r in rs]
    for (source, digit), r in track(todo, description="segmenting digits"):
        for v in digit_speech_ms(r.path):
            if v is None:
                missed[digit] += 1
            else:
                speech[(source, digit)].append(v)
    sources = sorted({s for s, _ in groups}, key=lambda s: (s not in REAL_SOURCES, s))
    digits = sorted({d for _, d in groups})
    table = Table(title="Speech length (ms) of non-test clean digits through the segmenter, each clip in 0.5 s of "
                        "silence and as its file: 1st percentile (median) per source; gate = 1st percentile of "
                        f"the real voices ({', '.join(REAL_SOURCES)}), rounded down to 10 ms")
    for col in ("digit", *sources, "no utterance", "gate"):
        table.add_column(col, justify="right")
    gates = {}
    for digit in digits:
        real = [v for s in REAL_SOURCES for v in speech.get((s, digit), [])]
        gates[digit] = gate_ms(real)
        cells = [f"{np.percentile(v, 1):.0f} ({np.percentile(v, 50):.0f})" if (v := speech.get((s, digit))) else "-"
                 for s in sources]
        table.add_row(digit, *cells, str(missed[digit]), f"{gates[digit]:.0f}")
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)  # a file or a pipe: one line per row
    counts = {s: sum(len(groups.get((s, d), [])) for d in digits) for s in sources}
    console.print("clips: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    console.print(table)
    console.print("MIN_DIGIT_SPEECH_MS = {" + ", ".join(f'"{k}": {v:.1f}' for k, v in gates.items()) + "}")


if __name__ == "__main__":  # pragma: no cover
    main()
