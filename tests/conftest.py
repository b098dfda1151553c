"""Shared fixtures: the FSDD copy in ../shared and tiny data subsets made of symlinks to it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Where CI and developers keep FSDD (never committed); override with SPOKEN_DIGITS_TEST_DATA.
FSDD_DIR = Path(os.environ.get("SPOKEN_DIGITS_TEST_DATA", REPO.parent / "shared" / "data" / "fsdd" / "recordings"))


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    if not FSDD_DIR.is_dir():
        pytest.fail(f"FSDD recordings not found at {FSDD_DIR} (set SPOKEN_DIGITS_TEST_DATA)")
    return FSDD_DIR


def make_subset(dst: Path, src: Path, *, speakers, digits=range(10), indices=range(50)) -> Path:
    """Symlink the FSDD files of the given speakers/digits/indices into ``dst``; returns ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for s in speakers:
        for d in digits:
            for i in indices:
                f = src / f"{d}_{s}_{i}.wav"
                if f.exists():
                    (dst / f.name).symlink_to(f)
    return dst
