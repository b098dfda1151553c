"""Score what ``spoken-digits recognize --json`` printed for a folder of digit clips or of speech without digits.

    spoken-digits recognize --json DIGITS/*/*.flac > digits.jsonl
    python -m trainer.benchmarks.recognized digits.jsonl DIGITS/*/*.flac

    spoken-digits recognize --json SPEECH/*/*.flac > speech.jsonl
    python -m trainer.benchmarks.recognized speech.jsonl SPEECH/*/*.flac --no-digits

A digit clip's label is its parent folder (``zero`` ... ``nine`` or ``0`` ... ``9``, the Speech Commands layout). A
clip is **right** when the accepted digits ``recognize`` reported for it are exactly its digit, **wrong** when any
other digit was accepted, **rejected** otherwise (nothing accepted: below the threshold, ``_unknown_``, too short, or
no utterance found); the rule of ``spoken-digits robustness`` items. With ``--no-digits`` every accepted digit is a
false one, counted per hour of the files' audio (their length from ``soundfile.info``). The files listed on the
command line are the set: a file that ``recognize`` printed nothing for is rejected (digits) or has no false digit.
It scores the CLI's output (soundfile for the files' lengths); it does not run a model.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..config import LABELS
from ..data.corpus import word_label


def label_of(path: str | Path) -> int:
    """The digit (0-9) a clip says, from its parent folder (``eight/x.flac`` or ``8/x.wav``).

    Raises:
        ValueError: the folder is neither a digit word nor a digit.
    """
    name = Path(path).parent.name
    label = word_label(name)  # digit words -> "0"-"9"; "0"-"9" kept
    if label in LABELS:
        return int(label)
    raise ValueError(f"{path}: its folder {name!r} is not a digit word (zero ... nine) or a digit (0-9)")


def accepted_by_file(lines) -> dict[str, list[int]]:
    """The accepted digits per file, in order, from ``recognize --json`` lines (``{"file", "digit", ...}``).

    Raises:
        ValueError: a line is not JSON, or reports a file that could not be read (``{"file", "error"}``).
    """
    out: dict[str, list[int]] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {n}: not a JSON object of 'recognize --json' ({e})") from None
        if "error" in d:
            raise ValueError(f"line {n}: recognize could not read {d.get('file')}: {d['error']}")
        digits = out.setdefault(str(Path(d["file"])), [])
        if d.get("digit") is not None:
            digits.append(int(d["digit"]))
    return out


@dataclass
class DigitScore:
    """Per-digit counts of right / wrong / rejected clips."""
    items: Counter = field(default_factory=Counter)
    right: Counter = field(default_factory=Counter)
    wrong: Counter = field(default_factory=Counter)

    def rejected(self, digit: int) -> int:
        return self.items[digit] - self.right[digit] - self.wrong[digit]


def score_digits(files, accepted: dict[str, list[int]]) -> DigitScore:
    """Right / wrong / rejected per digit for ``files`` (labels from their folders)."""
    s = DigitScore()
    for f in files:
        digit, got = label_of(f), accepted.get(str(Path(f)), [])
        s.items[digit] += 1
        if got == [digit]:
            s.right[digit] += 1
        elif any(g != digit for g in got):
            s.wrong[digit] += 1
    return s


def false_digits_per_hour(files, accepted: dict[str, list[int]]) -> tuple[int, float]:
    """(false digits, hours of audio) of ``files`` of speech without digits; lengths from ``soundfile.info``."""
    import soundfile as sf

    n = sum(len(accepted.get(str(Path(f)), [])) for f in files)
    hours = sum(sf.info(str(f)).duration for f in files) / 3600.0
    return n, hours


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("jsonl", help="output of 'spoken-digits recognize --json FILES' ('-': stdin)")
    p.add_argument("files", nargs="+", help="the files given to recognize: the set scored")
    p.add_argument("--no-digits", action="store_true", help="the files hold no digit: count false digits per hour")
    a = p.parse_args(argv)
    with (sys.stdin if a.jsonl == "-" else open(a.jsonl, encoding="utf-8")) as fh:
        accepted = accepted_by_file(fh)
    if a.no_digits:
        n, hours = false_digits_per_hour(a.files, accepted)
        print(f"{len(a.files)} files, {hours * 60:.1f} min of audio: {n} false digits, "
              f"{n / hours if hours else float('nan'):.1f} per hour")
        return 0
    s = score_digits(a.files, accepted)
    print("| digit | clips | right | wrong | rejected | accuracy |")
    print("|---|---|---|---|---|---|")
    for d in sorted(s.items):
        print(f"| {d} | {s.items[d]} | {s.right[d]} | {s.wrong[d]} | {s.rejected(d)} | {s.right[d] / s.items[d]:.3f} |")
    n = sum(s.items.values())
    r, w = sum(s.right.values()), sum(s.wrong.values())
    print(f"| all | {n} | {r} | {w} | {n - r - w} | **{r / n:.3f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
