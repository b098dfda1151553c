"""Arrays for training and evaluation, with on-disk caching of every clip.

Each source recording becomes one or nine clips (the 3 x 3 augmentation grid),
each padded to one window, with its log-mel. The result of one recording is
cached in ``{cache_dir}/clips/{key}/{sha256 of the file}.npz`` where ``key``
hashes every parameter that changes it (front end, grid, librosa version).
Files are written to a temporary name and renamed, so an interrupted run never
leaves a half-written entry and a rerun resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from realtime.bundle import sha256_file

from ..atomic import atomic_path
from ..config import FRONT_END, PITCH_SHIFTS_SEMITONES, STRETCH_RATES, FrontEndConfig
from .fsdd import Recording, load_audio, pad_and_mask
from ..errors import DataError
from .features import log_mel

log = logging.getLogger(__name__)

CACHE_ENV_VAR = "SPOKEN_DIGITS_CACHE"
_CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``$SPOKEN_DIGITS_CACHE``, else ``$XDG_CACHE_HOME/spoken-digits``, else ``~/.cache/spoken-digits``."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "spoken-digits"


def augment_clip(
    y: np.ndarray,
    *,
    sample_rate_hz: int,
    stretch_rates: Sequence[float] = STRETCH_RATES,
    pitch_shifts_semitones: Sequence[float] = PITCH_SHIFTS_SEMITONES,
) -> list[np.ndarray]:
    """The augmentation grid of one clip: every time-stretch rate x every pitch shift.

    ``librosa.effects.time_stretch(y, rate=rate)`` (rate > 1 is faster/shorter) then
    ``librosa.effects.pitch_shift(y, sr=sample_rate_hz, n_steps=semitones)``. The
    combination (1.0, 0) returns the clip itself, unchanged.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``sample_rate_hz`` (Hz).

    Returns
    -------
    clips : list of np.ndarray [shape=(m,), dtype=float32]
        ``len(stretch_rates) * len(pitch_shifts_semitones)`` clips (9 by default), rate-major.
    """
    import librosa

    out = []
    for rate in stretch_rates:
        stretched = y if rate == 1.0 else librosa.effects.time_stretch(y, rate=rate)
        for steps in pitch_shifts_semitones:
            z = stretched if steps == 0 else librosa.effects.pitch_shift(stretched, sr=sample_rate_hz, n_steps=steps)
            out.append(np.asarray(z, dtype=np.float32))
    return out


def _cache_key(config: FrontEndConfig, augment: bool) -> str:
    import librosa

    spec = {
        "format": _CACHE_FORMAT, "front_end": config.to_dict(), "librosa": librosa.__version__,
        "augment": augment, "stretch_rates": STRETCH_RATES if augment else None,
        "pitch_shifts_semitones": PITCH_SHIFTS_SEMITONES if augment else None,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    return sha256_file(path)


def _process(path: Path, entry: Path, config: FrontEndConfig, augment: bool) -> None:
    """Compute one recording's clips and write them atomically to ``entry``."""
    y = load_audio(path, config=config)
    clips = augment_clip(y, sample_rate_hz=config.sample_rate_hz) if augment else [y]
    waves = np.empty((len(clips), config.window_samples), dtype=np.float32)
    lengths = np.empty(len(clips), dtype=np.int32)
    mels = np.empty((len(clips), *config.log_mel_shape), dtype=np.float32)
    for i, c in enumerate(clips):
        waves[i], mask = pad_and_mask(c, config=config)
        lengths[i] = int(mask.sum())
        mels[i] = log_mel(waves[i], config=config)
    with atomic_path(entry) as tmp, open(tmp, "wb") as f:
        np.savez(f, wave=waves.astype(np.float16), length=lengths, log_mel=mels)


@dataclass
class Arrays:
    """Clips of a set of recordings, row-aligned.

    Attributes
    ----------
    wave : np.ndarray [shape=(n, window_samples), dtype=float32]
    mask : np.ndarray [shape=(n, window_samples), dtype=bool]  (True = real sample)
    log_mel : np.ndarray [shape=(n, n_mels, n_frames), dtype=float32]  (dB, -80..0)
    label : np.ndarray [shape=(n,), dtype=int32]  (the digit)
    speaker : np.ndarray [shape=(n,), dtype=str]
    source : np.ndarray [shape=(n,), dtype=int32]  (row of the recording it came from)
    """

    wave: np.ndarray
    mask: np.ndarray
    log_mel: np.ndarray
    label: np.ndarray
    speaker: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.label)


def build_arrays(
    recordings: Sequence[Recording],
    *,
    augment: bool = False,
    config: FrontEndConfig = FRONT_END,
    cache_dir: str | os.PathLike | None = None,
    n_jobs: int | None = None,
    progress: bool = True,
    description: str = "clips",
) -> Arrays:
    """Load, (augment,) pad and featurize recordings, using and filling the cache.

    Missing cache entries are computed in ``n_jobs`` processes (default: all cores)
    with a progress bar; existing ones are reused.

    Raises
    ------
    DataError
        If a recording cannot be loaded (the message names the file). Entries
        already computed stay in the cache; nothing half-written is left.
    """
    if not recordings:
        raise DataError("no recordings to load")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = cache / "clips" / _cache_key(config, augment)
    entries = []
    todo = []
    for r in recordings:
        try:
            sha = _file_sha256(r.path)
        except OSError as e:
            raise DataError(f"{r.path}: cannot read ({e})") from e
        entry = folder / f"{sha}.npz"
        entries.append(entry)
        if not entry.exists():
            todo.append((r.path, entry))
    if todo:
        _compute(todo, config, augment, n_jobs, progress, description)
    return _assemble(recordings, entries, config)


def _compute(todo, config, augment, n_jobs, progress, description) -> None:
    run_parallel(_process, [(path, entry, config, augment) for path, entry in todo], n_jobs=n_jobs,
                 progress=progress, description=f"{'augmenting' if augment else 'loading'} {description}")


def run_parallel(fn, tasks: Sequence[tuple], *, n_jobs: int | None = None, progress: bool = True,
                 description: str = "working") -> list:
    """``[fn(*t) for t in tasks]`` in ``n_jobs`` processes (default: all cores) with a progress bar.

    Processes are forked (fast, no ``__main__`` guard) unless TensorFlow is loaded, whose
    threads make fork unsafe: then spawned. Small jobs (< 8 tasks) or ``n_jobs=1`` run in
    this process. On an error the pending tasks are cancelled and the error is raised;
    what ``fn`` already wrote stays (callers write atomically).

    Returns
    -------
    results : list
        ``fn``'s return values, in the order of ``tasks``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    n_jobs = n_jobs or os.cpu_count() or 1
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    results = []
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task(description, total=len(tasks))
        if n_jobs == 1 or len(tasks) < 8:
            for t in tasks:
                results.append(fn(*t))
                bar.advance(task)
            return results
        import multiprocessing as mp
        import sys

        method = "spawn" if "tensorflow" in sys.modules else "fork"
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context(method)) as pool:
            futures = [pool.submit(fn, *t) for t in tasks]
            try:
                for fut in futures:
                    results.append(fut.result())
                    bar.advance(task)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    return results


def _assemble(recordings, entries, config) -> Arrays:
    parts = []
    for i, (r, entry) in enumerate(zip(recordings, entries)):
        with np.load(entry) as z:
            parts.append((i, r, z["wave"], z["length"], z["log_mel"]))
    n = sum(len(p[3]) for p in parts)
    W = config.window_samples
    out = Arrays(
        wave=np.empty((n, W), np.float32), mask=np.zeros((n, W), bool),
        log_mel=np.empty((n, *config.log_mel_shape), np.float32), label=np.empty(n, np.int32),
        speaker=np.empty(n, dtype=object), source=np.empty(n, np.int32),
    )
    row = 0
    for i, r, wave, length, mel in parts:
        k = len(length)
        out.wave[row:row + k] = wave
        for j, m in enumerate(length):
            out.mask[row + j, :m] = True
        out.log_mel[row:row + k] = mel
        out.label[row:row + k] = r.digit
        out.speaker[row:row + k] = r.speaker
        out.source[row:row + k] = i
        row += k
    out.speaker = out.speaker.astype(str)
    return out
