"""Recipe of the digit-string model (issue 27): data, training, scores.

``python -m trainer.recipes.strings --corpus-root ../shared/data --synth-dir data/synth --out runs/strings``

Every utterance of a split (speaker-disjoint, the splits of :mod:`trainer.data.corpus`) is one of:

- ``assembled``: 1-7 isolated digit clips of one speaker (FSDD, Speech Commands copies, synthetic
  voices; "mixed" speakers of one split where a speaker said too few digits) joined without pauses
  (:func:`trainer.data.strings.assemble_string`);
- ``real``: speechocean762's real digit strings (``digit_strings/``), their transcripts as targets,
  repeated ``real_repeat`` times in training with different noise and speed;
- ``tts``: digit strings said as one utterance by the synthetic voices (``data synth --strings``:
  coarticulated, as people say them), once each;
- ``negative``: 1-4 s of real read sentences (speechocean762 ``nondigit/``), synthetic passages,
  or a Speech Commands non-digit word: an empty target (the model must say nothing).

In training, a share of the utterances is speed-perturbed (0.85-1.15, :func:`trainer.data.strings.speed_perturb`),
optionally (``--pitch-share``) a share of those not by speechocean762's readers is shifted up by 2-6 semitones in
pitch and formants (:func:`trainer.data.strings.pitch_up`: 25 of speechocean762's 26 string readers are children
aged 6-9, the assembled and synthetic strings adults), and on a share a training noise recording (split by file) is mixed in at 0-25 dB SNR,
or (``--babble-share``, of those) babble of 3-7 training talkers saying non-digit words.
Each set is cached as an ``.npz`` (written to a temporary file, then renamed). The model is
:func:`trainer.models.ctc.build_ctc_model` (by default with a bidirectional LSTM of 64 units per
direction, and a quarter of the training batches padded further with silence), trained with the CTC
loss; ``results.json`` holds the
exact-string share and digit error rate per kind and source, and the false digits of the negatives,
on the validation and test splits (the test split: held-out speakers and voices; FSDD's test
split is its official one, the same six speakers).

The run also holds ``representative.npz`` (600 training utterances: int8 calibration) and
``parity.npz`` (400 test utterances: the exporter's edge-vs-Keras check); ``spoken-digits
export-strings RUN`` makes the bundle, ``spoken-digits strings`` measures it through the recognizer.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..config import FRONT_END, FrontEndConfig

log = logging.getLogger(__name__)

#: Bump when the content of a cached set changes.
SET_VERSION = 2
#: Longest utterance (s); longer real strings are left out, negative pieces are shorter.
MAX_S = 8.0
#: Sources of isolated digit clips for the assembled strings.
DIGIT_SOURCES = ("fsdd", "speech_commands_digits", "speech_commands_digits_extra", "synth")


@dataclass(frozen=True)
class StringSetSizes:
    """Utterances per split and kind."""

    assembled: int
    negatives: int
    real_repeat: int = 1
    #: Share of utterances with noise mixed in, and its SNR range (dB, against the utterance's RMS).
    noise_share: float = 0.6
    snr_db: tuple[float, float] = (0.0, 25.0)
    #: Share of utterances played faster or slower, and the speed factor's range.
    speed_share: float = 0.0
    speed_range: tuple[float, float] = (0.85, 1.15)
    #: Share of utterances (not speechocean762's) shifted up in pitch and formants, and the shift's range
    #: (semitones): adults made to sound like the children who read speechocean762's strings.
    pitch_share: float = 0.0
    pitch_semitones: tuple[float, float] = (2.0, 6.0)
    #: Of the utterances with noise, the share whose noise is babble (3-7 of the split's Speech Commands
    #: talkers saying non-digit words at once, :func:`trainer.data.augment.make_babble_bank`) instead of a
    #: noise recording: the crowd ``robustness`` and ``strings`` test with.
    babble_share: float = 0.0


TRAIN_SIZES = StringSetSizes(assembled=5000, negatives=2500, real_repeat=20, speed_share=0.7)
EVAL_SIZES = StringSetSizes(assembled=600, negatives=300, real_repeat=1, noise_share=0.0)


class _Audio:
    """Clips at the front end's rate, loaded once (:func:`trainer.data.fsdd.load_audio`, any rate, mono)."""

    def __init__(self, config: FrontEndConfig):
        self.config = config
        self._cache: dict[Path, np.ndarray] = {}

    def __call__(self, path: Path) -> np.ndarray:
        if path not in self._cache:
            from ..data.fsdd import load_audio

            self._cache[path] = load_audio(path, config=self.config, expected_sample_rate_hz=None)
        return self._cache[path]


def _mix_noise(y: np.ndarray, noises: list[np.ndarray], rng: np.random.Generator, snr_db: tuple[float, float]) -> np.ndarray:
    noise = noises[int(rng.integers(len(noises)))]
    if noise.size < y.size:
        noise = np.tile(noise, -(-y.size // noise.size))
    start = int(rng.integers(0, noise.size - y.size + 1))
    n = noise[start:start + y.size]
    rms_y = float(np.sqrt(np.mean(y ** 2))) or 1e-9
    rms_n = float(np.sqrt(np.mean(n ** 2))) or 1e-9
    snr = rng.uniform(*snr_db)
    out = y + n * np.float32(rms_y / rms_n / 10 ** (snr / 20))
    return out / max(1.0, float(np.abs(out).max()))


def build_string_set(rows, split: str, sizes: StringSetSizes, *, seed: int, config: FrontEndConfig = FRONT_END,
                     cache_dir: Path | None = None) -> dict:
    """The utterances of one split as arrays (see the module docstring).

    Returns
    -------
    data : dict
        ``log_mel`` [shape=(n, n_mels, frames), float32, dB; padded with -top_db], ``frames``
        [shape=(n,), int32: real frames], ``targets`` [shape=(n, 7), int32: digits, -1 after],
        ``kind`` (assembled, real, tts, negative) and ``source`` [shape=(n,), str].

    Raises
    ------
    ValueError
        If the split has no digit clips.
    """
    from ..data.corpus import DIGIT_STRING_LABEL, NOISE_LABEL, PASSAGE_LABEL, UNKNOWN_LABEL
    from ..data.strings import assemble_string, digits_of_transcript, pitch_up, plan_strings, speed_perturb, string_log_mel

    settings = {k: v for k, v in asdict(sizes).items() if k != "babble_share" or v}  # sets made before it keep their key
    key = hashlib.sha256(json.dumps([SET_VERSION, split, settings, seed, asdict(config),
                                     sorted(str(r.path) for r in rows if r.split == split)]).encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"strings-{split}-{key}.npz" if cache_dir else None
    if cached and cached.exists():
        with np.load(cached) as z:
            return {k: z[k] for k in z.files}
    rng = np.random.default_rng([seed, ["train", "val", "test"].index(split)])
    audio = _Audio(config)
    sr = config.sample_rate_hz
    noise_split = "train" if split == "train" else "test"  # noise has no val part
    noises = ([audio(r.path) for r in rows if r.label == NOISE_LABEL and r.split == noise_split]
              if sizes.noise_share > 0 else [])
    babble: list[np.ndarray] = []
    if noises and sizes.babble_share > 0:
        from ..data.augment import make_babble_bank

        talkers = [(r.path, r.speaker) for r in rows
                   if r.split == split and r.label == UNKNOWN_LABEL and r.source == "speech_commands"]
        bank_dir = Path(cache_dir) / f"babble-{split}" if cache_dir else Path(tempfile.mkdtemp(prefix="babble-"))
        babble = [audio(p) for p, _ in make_babble_bank(talkers, bank_dir, n_tracks=24, seed=seed, duration_s=8.0,
                                                        config=config)]
    items: list[tuple[str, str, np.ndarray, str]] = []  # kind, source, audio, digits
    digit_rows = [r for r in rows if r.split == split and r.is_digit and r.source in DIGIT_SOURCES]
    for plan in plan_strings(digit_rows, sizes.assembled, rng=rng, length=(1, 7)):
        s = assemble_string([audio(c.path) for c in plan.clips], plan.digits, sample_rate_hz=sr, rng=rng)
        items.append(("assembled", plan.clips[0].source, s.audio, plan.digits))
    for r in (r for r in rows if r.split == split and r.label == DIGIT_STRING_LABEL):
        y = audio(r.path)
        if y.size / sr > MAX_S:
            continue
        if r.source == "synth":
            items.append(("tts", r.source, y, digits_of_transcript(r.word)))
        else:
            items += [("real", r.source, y, digits_of_transcript(r.word))] * sizes.real_repeat
    passages = [r for r in rows if r.split == split and r.label == PASSAGE_LABEL]
    words = [r for r in rows if r.split == split and r.label == UNKNOWN_LABEL and r.source == "speech_commands"]
    for i in range(sizes.negatives):
        if words and (i % 3 == 2 or not passages):
            r = words[int(rng.integers(len(words)))]
            items.append(("negative", r.source, audio(r.path), ""))
        elif passages:
            r = passages[int(rng.integers(len(passages)))]
            y = audio(r.path)
            n = min(y.size, int(rng.uniform(1.0, 4.0) * sr))
            start = int(rng.integers(0, y.size - n + 1))
            items.append(("negative", r.source, y[start:start + n], ""))
    if not any(k != "negative" for k, *_ in items):
        raise ValueError(f"no digit strings in the {split} split")
    mels, frames = [], []
    for _, source, y, _ in items:
        if sizes.pitch_share > 0 and source != "speechocean762" and rng.random() < sizes.pitch_share:
            y = pitch_up(y, float(rng.uniform(*sizes.pitch_semitones)), sample_rate_hz=sr)
        if sizes.speed_share > 0 and rng.random() < sizes.speed_share:
            y = speed_perturb(y, float(rng.uniform(*sizes.speed_range)), sample_rate_hz=sr)
        if noises and rng.random() < sizes.noise_share:
            crowd = bool(babble) and rng.random() < sizes.babble_share
            y = _mix_noise(y, babble if crowd else noises, rng, sizes.snr_db)
        m = string_log_mel(y, config=config)
        mels.append(m)
        frames.append(m.shape[1])
    width = int(max(frames))
    width += width % 2
    x = np.full((len(mels), config.n_mels, width), -config.top_db, np.float32)
    for i, m in enumerate(mels):
        x[i, :, : m.shape[1]] = m
    targets = np.full((len(items), 7), -1, np.int32)
    for i, (*_, digits) in enumerate(items):
        targets[i, : len(digits)] = [int(c) for c in digits]
    data = {"log_mel": x, "frames": np.array(frames, np.int32), "targets": targets,
            "kind": np.array([k for k, *_ in items]), "source": np.array([s for _, s, *_ in items])}
    if cached:
        with atomic_path(cached) as tmp:
            np.savez(tmp, **data)
    return data


class LengthBatches:
    """Batches of utterances of similar length (see :func:`length_batches`); ``batches[i]`` is
    ``(log_mel [b, n_mels, width], targets [b, L])``, ``on_epoch_end()`` draws a new order."""

    #: Widths are rounded up to a multiple of this many frames: few distinct shapes, few traces of the step.
    STEP_FRAMES = 32

    def __init__(self, data: dict, batch_size: int, *, shuffle: bool, seed: int = 0, pad_share: float = 0.0):
        if not 0.0 <= pad_share <= 1.0:
            raise ValueError(f"pad_share must be in [0, 1], got {pad_share}")
        self.data, self.batch_size, self.shuffle, self.pad_share = data, int(batch_size), shuffle, float(pad_share)
        self.frames = np.asarray(data["frames"])
        self.rng = np.random.default_rng(seed)
        self._plan()

    def _plan(self) -> None:
        jitter = self.rng.random(self.frames.size) if self.shuffle else np.zeros(self.frames.size)
        order = np.lexsort((jitter, self.frames))
        self.batches = [order[i:i + self.batch_size] for i in range(0, order.size, self.batch_size)]
        full = self.data["log_mel"].shape[2]
        #: Per batch, frames of extra padding (silence) after the longest utterance; 0 for most.
        self.extra = np.zeros(len(self.batches), np.int64)
        if self.shuffle:
            self.rng.shuffle(self.batches)
            padded = self.rng.random(len(self.batches)) < self.pad_share
            self.extra[padded] = self.rng.integers(0, full + 1, int(padded.sum()))

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.sort(self.batches[i])
        step = self.STEP_FRAMES
        width = -(-(int(self.frames[idx].max()) + int(self.extra[i])) // step) * step
        width = min(self.data["log_mel"].shape[2], width)
        return self.data["log_mel"][idx, :, :width], self.data["targets"][idx]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._plan()


def length_batches(data: dict, batch_size: int, *, shuffle: bool, seed: int = 0,
                   pad_share: float = 0.0) -> LengthBatches:
    """Batches of utterances of similar length.

    Utterances are sorted by ``frames`` (with a random tie order when ``shuffle``), cut into
    batches, and each batch's ``log_mel`` is cropped to its longest utterance (rounded up to 32 frames):
    a 1 s string is not padded to the 8 s of the longest one. ``shuffle`` reshuffles the order of
    the batches every epoch (:meth:`LengthBatches.on_epoch_end`, and the members of equal-length runs).
    With ``shuffle``, a ``pad_share`` of the batches is padded further, by 0 to all of the set's
    frames (uniform), as a fixed edge input (``export-strings --input-frames fixed``) pads every
    utterance: a backward LSTM reads that padding before the utterance. (The shipped bundles leave
    the frames axis open and pad by at most one frame.)

    Raises
    ------
    ValueError
        If ``pad_share`` is outside [0, 1].
    """
    return LengthBatches(data, batch_size, shuffle=shuffle, seed=seed, pad_share=pad_share)


def batch_dataset(data: dict, batch_size: int, *, shuffle: bool, seed: int = 0, pad_share: float = 0.0):
    """The batches of :func:`length_batches` as a ``tf.data.Dataset`` whose frames axis is left open.

    (A ``PyDataset`` given to ``fit`` gets the shape of its first batches as its signature, and
    a later, longer batch then fails.) A new batch order every epoch when ``shuffle``.
    """
    import tensorflow as tf

    batches = length_batches(data, batch_size, shuffle=shuffle, seed=seed, pad_share=pad_share)
    first = [True]

    def gen():
        if shuffle and not first[0]:
            batches.on_epoch_end()
        first[0] = False
        for i in range(len(batches)):
            yield batches[i]

    n_mels, width = data["log_mel"].shape[1], data["targets"].shape[1]
    signature = (tf.TensorSpec((None, n_mels, None), tf.float32), tf.TensorSpec((None, width), tf.int32))
    return tf.data.Dataset.from_generator(gen, output_signature=signature).prefetch(2)


def save_representative(data: dict, out: Path, *, size: int = 600, seed: int = 0,
                        name: str = "representative.npz") -> Path:
    """Write ``out/NAME``: ``size`` utterances of ``data`` (``log_mel``, ``frames``, ``kind``) at random.

    ``representative.npz`` (training utterances) is the int8 exporter's calibration data,
    ``parity.npz`` (test utterances) the set on which the exporter compares the edge model's strings
    with the Keras model's (:mod:`export.strings`). Written to a temporary file, then renamed."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(data["frames"]), size=min(size, len(data["frames"])), replace=False))
    width = int(data["frames"][idx].max())
    path = Path(out) / name
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, log_mel=data["log_mel"][idx, :, :width], frames=data["frames"][idx], kind=data["kind"][idx])
    return path


def decode(logits: np.ndarray, frames: np.ndarray) -> list[str]:
    """Greedy CTC strings of a batch of logits (``frames``: real log-mel frames of each)."""
    from realtime.ctc import greedy_decode

    from ..models.ctc import BLANK, CTC_LABELS, output_frames

    return ["".join(t.label for t in greedy_decode(z, CTC_LABELS, blank=BLANK, n_frames=output_frames(f)))
            for z, f in zip(logits, frames)]


def score_set(model, data: dict, config: FrontEndConfig = FRONT_END) -> dict:
    """Exact strings and digit error rate per kind and source; false digits of the negatives."""
    from ..evaluation.strings import string_scores

    hyps = [""] * len(data["frames"])
    batches = length_batches(data, 64, shuffle=False)
    for i in range(len(batches)):
        idx = np.sort(batches.batches[i])
        x, _ = batches[i]
        for j, h in zip(idx, decode(model.predict_on_batch(x), data["frames"][idx])):
            hyps[j] = h
    refs = ["".join(str(v) for v in row if v >= 0) for row in data["targets"]]
    out: dict = {}
    for kind in sorted(set(data["kind"])):
        for source in sorted(set(data["source"][data["kind"] == kind])):
            idx = [i for i in range(len(refs)) if data["kind"][i] == kind and data["source"][i] == source]
            name = f"{kind}:{source}"
            if kind == "negative":
                secs = sum(int(data["frames"][i]) for i in idx) * config.hop_length / config.sample_rate_hz
                false = sum(len(hyps[i]) for i in idx)
                out[name] = {"utterances": len(idx), "audio_s": round(secs, 1), "false_digits": false,
                             "utterances_with_digits": sum(bool(hyps[i]) for i in idx),
                             "false_digits_per_hour": round(false / (secs / 3600), 1) if secs else None}
            else:
                out[name] = string_scores([refs[i] for i in idx], [hyps[i] for i in idx])
    return out


def train_strings(corpus_root: Path, out: Path, *, synth_dir: Path | None = None, epochs: int = 48,
                  batch_size: int = 32, seed: int = 7, train_sizes: StringSetSizes = TRAIN_SIZES,
                  eval_sizes: StringSetSizes = EVAL_SIZES, cache_dir: Path | None = None,
                  conv_filters: int = 16, units: int = 64, bidirectional: bool = True,
                  pad_share: float | None = None) -> dict:
    """Build the sets, train the CTC CRNN, score it; writes ``model.keras``, ``history.csv`` and
    ``results.json`` under ``out`` and returns the results. Resumes an interrupted training
    (``keras.callbacks.BackupAndRestore`` in ``out/backup``). ``bidirectional``: see
    :func:`trainer.models.ctc.build_ctc_model`; ``pad_share`` (default 0.25 with a backward LSTM,
    else 0): see :func:`length_batches`."""
    import keras

    from ..data.corpus import CorpusPaths, read_corpus
    from ..data.dataset import default_cache_dir
    from ..models.ctc import build_ctc_model, ctc_loss

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir or default_cache_dir()) / "strings"
    keras.utils.set_random_seed(seed)
    rows = read_corpus(CorpusPaths.shared(corpus_root, synth=synth_dir))
    t0 = time.monotonic()
    train = build_string_set(rows, "train", train_sizes, seed=seed, cache_dir=cache)
    val = build_string_set(rows, "val", eval_sizes, seed=seed, cache_dir=cache)
    test = build_string_set(rows, "test", eval_sizes, seed=seed, cache_dir=cache)
    t_data = time.monotonic() - t0
    log.info("sets: train %s, val %s, test %s (%.0f s)", train["log_mel"].shape, val["log_mel"].shape,
             test["log_mel"].shape, t_data)
    if pad_share is None:
        pad_share = 0.25 if bidirectional else 0.0
    model = build_ctc_model(conv_filters=conv_filters, units=units, spec_augment=True, bidirectional=bidirectional)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc_loss())
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        keras.callbacks.EarlyStopping(patience=6, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]
    t1 = time.monotonic()
    hist = model.fit(batch_dataset(train, batch_size, shuffle=True, seed=seed, pad_share=pad_share),
                     validation_data=batch_dataset(val, batch_size, shuffle=False),
                     epochs=epochs, callbacks=callbacks, verbose=2)
    t_train = time.monotonic() - t1
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    save_representative(train, out, seed=seed)
    save_representative(test, out, size=400, seed=seed, name="parity.npz")
    results = {
        "settings": {"epochs": epochs, "batch_size": batch_size, "seed": seed, "conv_filters": conv_filters,
                     "units": units, "bidirectional": bidirectional, "pad_share": pad_share, "train_sizes": asdict(train_sizes), "eval_sizes": asdict(eval_sizes)},
        "params": int(model.count_params()), "epochs_run": len(hist.history["loss"]),
        "best_val_loss": round(float(min(hist.history["val_loss"])), 4),
        "train_utterances": int(len(train["targets"])), "data_s": round(t_data, 1), "train_s": round(t_train, 1),
        "val": score_set(model, val), "test": score_set(model, test),
    }
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    return results


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus-root", type=Path, required=True, help="folder laid out like ../shared/data")
    p.add_argument("--synth-dir", type=Path, help="output of 'spoken-digits data synth'")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=48)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--assembled", type=int, default=TRAIN_SIZES.assembled, help="assembled training strings")
    p.add_argument("--negatives", type=int, default=TRAIN_SIZES.negatives, help="training utterances without digits")
    p.add_argument("--units", type=int, default=64, help="LSTM units (of each direction when bidirectional)")
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True,
                   help="a backward LSTM beside the forward one, over the whole utterance (--no-bidirectional: "
                        "forward only, as runs/strings8 with --units 96)")
    p.add_argument("--pad-share", type=float, default=None,
                   help="share of training batches padded with 0-8 s more silence (default 0.25 with "
                        "--bidirectional, else 0)")
    p.add_argument("--real-repeat", type=int, default=TRAIN_SIZES.real_repeat,
                   help="copies of each real speechocean762 training string (each with its own noise and speed)")
    p.add_argument("--babble-share", type=float, default=TRAIN_SIZES.babble_share,
                   help="of the training utterances with noise, the share whose noise is babble of 3-7 training "
                        "talkers instead of a noise recording (default 0, as runs/strings11)")
    p.add_argument("--pitch-share", type=float, default=TRAIN_SIZES.pitch_share,
                   help="share of training utterances (not speechocean762's) shifted up 2-6 semitones in pitch and "
                        "formants, towards children's voices (default 0, as runs/strings11; runs/strings13: 0.35)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from dataclasses import replace

    for name in ("pitch_share", "babble_share"):
        if not 0.0 <= getattr(a, name) <= 1.0:
            p.error(f"--{name.replace('_', '-')} must be in [0, 1], got {getattr(a, name)}")
    if a.real_repeat < 0:
        p.error(f"--real-repeat must be >= 0, got {a.real_repeat}")
    sizes = replace(TRAIN_SIZES, assembled=a.assembled, negatives=a.negatives, pitch_share=a.pitch_share,
                    real_repeat=a.real_repeat, babble_share=a.babble_share)
    res = train_strings(a.corpus_root, a.out, synth_dir=a.synth_dir, epochs=a.epochs, batch_size=a.batch_size,
                        seed=a.seed, train_sizes=sizes, units=a.units, bidirectional=a.bidirectional,
                        pad_share=a.pad_share)
    print(json.dumps({k: res[k] for k in ("val", "test")}, indent=1))


if __name__ == "__main__":
    main()


__all__ = ["EVAL_SIZES", "MAX_S", "SET_VERSION", "StringSetSizes", "TRAIN_SIZES", "build_string_set", "batch_dataset", "LengthBatches", "decode", "length_batches", "save_representative",
           "main", "score_set", "train_strings"]
