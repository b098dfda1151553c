"""``spoken-digits data synth``: synthetic voices as data.

The ten digit words and :data:`NON_DIGIT_WORDS` are rendered with every English
voice of the Debian text-to-speech packages (espeak-ng, flite, festival). Each
``(engine, voice, variant)`` is one *speaker*, e.g. ``espeak-en-gb-scotland+m3``,
``flite-slt``, ``festival-ked-diphone``. Each speaker says each word with
:data:`SETTINGS_PER_WORD` (rate, pitch) settings drawn from its grid
(:meth:`Voice.grid`) by a seeded hash, or with the whole grid (``all_settings``).

Output (the Speech Commands folder-per-label layout, so a generic folder reader
reads it too)::

    DIR/<word>/<speaker>_nohash_<n>.wav    22,050 Hz mono PCM-16, trimmed, peak -3 dBFS
    DIR/manifest.csv                       one row per clip (see MANIFEST_COLUMNS)
    DIR/SOURCE.md                          engines, versions, voices, held-out list, licence
    DIR/passages/<speaker>.wav             with passages=True: PASSAGE read by each held-out voice
    DIR/passages.csv                       path, speaker, duration_s
    DIR/train_passages/<speaker>.wav       with passages=True: TRAIN_PASSAGE read by every other voice
    DIR/train_passages.csv                 path, speaker, duration_s
    DIR/strings/<speaker>_nohash_<k>.wav   with strings=N: N digit strings said as one utterance per voice
    DIR/strings.csv                        path, speaker, digits, text, rate, pitch, split

``<n>`` is the index of the setting in the speaker's full grid, so a later
``--all-settings`` run adds the missing ones beside the existing files.

Voices in :data:`HELD_OUT_SPEAKERS` get ``split=test`` in the manifest and must
never be used for training; every other voice is ``train``.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..atomic import atomic_path
from .corpus import DIGIT_WORDS
from ..errors import DataError

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- constants

#: Output sample rate (Hz), the project's front end rate.
SAMPLE_RATE_HZ = 22_050
#: Peak level of every clip after normalization (dB full scale).
PEAK_DBFS = -3.0
#: ``librosa.effects.trim(top_db=...)``: edges quieter than peak - 40 dB are cut (FSDD clips are trimmed too).
TRIM_TOP_DB = 40
#: Raised-cosine fade-in and fade-out (s) after trimming: espeak-ng starts voicing at its first sample,
#: and a trimmed edge may cut a waveform mid-cycle; the fade keeps either from clicking.
FADE_S = 0.005
#: Renders shorter than this after trimming (s), or with a peak below :data:`SILENT_PEAK`, are rejected.
MIN_DURATION_S = 0.05
SILENT_PEAK = 1e-4
#: Raw samples at or above this magnitude count as clipped by the engine (int16 full scale).
CLIP_LEVEL = 32766 / 32768

ENGINES: tuple[str, ...] = ("espeak", "flite", "festival")
#: The program each engine is run with.
ENGINE_PROGRAMS = {"espeak": "espeak-ng", "flite": "flite", "festival": "text2wave"}
#: The Debian package of each engine, and of each festival voice.
ENGINE_PACKAGES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
DEBIAN_PACKAGES = "espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
INSTALL_HINT = f"apt-get install {DEBIAN_PACKAGES}"

#: espeak-ng English accents (``espeak-ng --voices=en``, language column); the ones installed are used.
ESPEAK_ACCENTS: tuple[str, ...] = (
    "en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
)
#: espeak-ng voice variants (``espeak-ng --voices=variant``; ``""`` = the accent's own voice). Chosen from
#: their definition files (espeak-ng-data/voices/!v) for distinct pitch ranges and formant scalings: five
#: male (m1 low and rough, m2 with echo, m3, m4 low, m7 breathy), five female (f1-f5, 140-240 Hz) and the
#: Klatt-synthesizer voice.
ESPEAK_VARIANTS: tuple[str, ...] = ("", "m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "f5", "klatt")
#: More espeak-ng variants (``data synth --extra-variants``), for training and validation only: the
#: human-sounding named variants of espeak-ng-data/voices/!v with distinct pitch ranges and formant
#: scalings (no robot, whisper or croak voices). Six female (Alicia 180-275 Hz, Annie 120-280,
#: belinda 200-247, steph 166-200, grandma 120-230 with flutter, anika 200-300) and six male (Andy
#: 85-110 with formants x0.8, Michael 75-125, gustave 80-123, quincy 67-100, Nguyen 95-175, grandpa
#: 80-120 with flutter). Rendered with every accent except the held-out ones
#: (:data:`HELD_OUT_ESPEAK_ACCENTS`), so that the held-out voices and every test set made from them
#: stay exactly as they are.
ESPEAK_EXTRA_VARIANTS: tuple[str, ...] = (
    "Alicia", "Annie", "belinda", "steph", "grandma", "anika", "Andy", "Michael", "gustave", "quincy", "Nguyen",
    "grandpa",
)
#: espeak-ng MBROLA English voices; used only if a test render works (their data is a separate package).
ESPEAK_MBROLA_VOICES: tuple[str, ...] = ("mb-en1", "mb-us1", "mb-us2", "mb-us3")
#: flite voices (``flite -lv``). ``awb_time`` only speaks times of day and is left out.
FLITE_VOICES: tuple[str, ...] = ("kal", "kal16", "awb", "rms", "slt")
#: festival voices and the Debian package that installs each.
FESTIVAL_VOICES: dict[str, str] = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}

#: espeak-ng ``-s``: speaking rate in words per minute (espeak-ng(1); default 175, range 80-450).
ESPEAK_RATES_WPM: tuple[int, ...] = (120, 160, 200)
#: espeak-ng ``-p``: pitch adjustment 0-99 (espeak-ng(1); default 50), relative to the variant's range.
ESPEAK_PITCHES: tuple[int, ...] = (30, 50, 70)
#: flite ``--setf duration_stretch=`` and festival ``(Parameter.set 'Duration_Stretch ...)``: duration
#: factor, > 1 is slower (festival manual, "Duration"). The festival HTS voice ignores Duration_Stretch;
#: it gets hts_engine's speed option ``-r`` = 1 / stretch instead.
STRETCHES: tuple[float, ...] = (0.8, 1.0, 1.25)
#: flite ``--setf int_f0_target_mean=`` (Hz): mean F0 of the intonation model, around each voice's own
#: mean as measured with librosa.pyin (kal ~100 Hz, awb ~130 Hz, slt ~170 Hz). ``rms`` ignores it: no pitch.
FLITE_PITCHES_HZ: dict[str, tuple[int, ...]] = {
    "kal": (85, 100, 120), "kal16": (85, 100, 120), "awb": (110, 130, 155), "rms": (), "slt": (145, 170, 200),
}
#: festival ``int_lr_params`` ``target_f0_mean`` (Hz) of the diphone voices (their default is 105 Hz).
#: The HTS voice ignores it (and this build's hts_engine ignores ``-fm``): no pitch.
FESTIVAL_PITCHES_HZ: dict[str, tuple[int, ...]] = {
    "kal_diphone": (90, 105, 125), "ked_diphone": (90, 105, 125), "cmu_us_slt_arctic_hts": (),
}
#: (rate, pitch) settings each speaker renders each word with (all of its grid with ``all_settings``).
SETTINGS_PER_WORD = 3
DEFAULT_SEED = 42

#: Words that sound like digits or stand for them, never rendered as non-digit examples:
#: exact homophones ("won" = one, "to"/"too" = two, "for"/"fore" = four, "ate" = eight) and
#: aliases of zero ("oh" and "o" as read in phone numbers, "nought", "naught", "nil"). A model that
#: hears "won" *is* right to say 1, so labelling these "unknown" would teach it noise; "oh" is left out
#: of the non-digit words for the same reason.
DIGIT_HOMOPHONES: tuple[str, ...] = ("oh", "o", "won", "to", "too", "for", "fore", "ate", "nought", "naught", "nil")

#: Non-digit words (label ``_unknown_``). Near-misses share most sounds with a digit but are not
#: homophones (see :data:`DIGIT_HOMOPHONES`, which are excluded); everyday words are the commands and
#: small talk a microphone hears. 59 words.
NEAR_MISS_WORDS: tuple[str, ...] = (
    # number words that contain or resemble digits
    "ten", "eleven", "twelve", "twenty", "thirty", "hundred", "thousand", "fourteen", "fifteen", "sixteen",
    "nineteen", "seventy",
    "none", "ton",              # one
    "tooth",                    # two
    "free", "tree",             # three
    "fork", "fire",             # four / five
    "fine",                     # five / nine
    "sticks", "sick", "fix",    # six
    "heaven",                   # seven
    "gate", "wait",             # eight
    "wine", "line",             # nine
    "hero",                     # zero
)
EVERYDAY_WORDS: tuple[str, ...] = (
    "hello", "yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off", "computer", "banana",
    "weather", "music", "please", "thanks", "okay", "house", "water", "morning", "phone", "table", "window",
    "coffee", "open", "close", "light", "play", "next",
)
NON_DIGIT_WORDS: tuple[str, ...] = NEAR_MISS_WORDS + EVERYDAY_WORDS
ALL_WORDS: tuple[str, ...] = DIGIT_WORDS + NON_DIGIT_WORDS

#: Number words that must not occur in :data:`PASSAGE` besides digit words and homophones.
NUMBER_WORDS: tuple[str, ...] = (
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million",
    "billion", "dozen", "once", "twice", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
    "ninth", "tenth", "half", "zeros", "someone", "anyone", "everyone", "noone",
)

#: Neutral read prose (weather, cooking, a walk; ~640 words, ~4 minutes at 160 wpm) with no digit word,
#: no number word and none of :data:`DIGIT_HOMOPHONES` (not even "to" or "for"): any digit a recognizer
#: reports while it plays is a false accept. :func:`passage_violations` checks it.
PASSAGE = """\
The morning began grey and quiet. A soft rain had fallen through the night, and the garden smelled of wet \
earth and cut grass. By the time the kettle boiled, the clouds were breaking apart, and a pale light crept \
across the kitchen table. The radio promised a mild afternoon, with a gentle breeze from the west and perhaps \
a shower near evening. It was the kind of weather that makes a long walk seem like the obvious plan.

Before leaving, I made a simple breakfast. I cracked eggs into a warm pan, added a little butter, and stirred \
them slowly with a wooden spoon. While they cooked, I sliced bread from the loaf we baked yesterday and put it \
under the grill. The smell of toast filled the house. My sister came downstairs, still sleepy, and poured \
herself a cup of strong coffee. We sat by the window and watched the birds hopping across the lawn, pulling \
worms out of the soft ground.

After breakfast we put on our boots and jackets and set off along the lane behind the village. The hedges were \
heavy with water, and every branch we brushed against showered us with cold drops. We laughed and walked \
faster. Near the old mill the path turned and climbed gently through a field of sheep. They lifted their \
heads, looked at us with mild interest, and then carried on grazing as if we were not there at all.

At the top of the hill the wind was stronger, and we could see the whole valley spread out below us. The \
river shone like a silver ribbon between dark green woods. Far away, a train moved slowly along the edge of \
the hills, and its sound reached us much later, faint and thin. My sister pointed at a hawk hanging almost \
still above the slope, adjusting its wings with tiny movements. We stood there without speaking and simply \
enjoyed the view.

By midday we were hungry, so we walked down the far side of the hill and took the long way home through the \
woods. The trees kept most of the rain off, and the ground was covered with brown leaves and bright moss. \
Back in the kitchen, I started a pot of soup. I chopped onions, carrots and celery, softened them in olive \
oil, and then added garlic, a handful of lentils and plenty of water. The soup simmered gently while we \
changed into dry clothes. A pinch of salt, some black pepper and a squeeze of lemon made it taste bright and \
warm.

In the afternoon the sky cleared completely. Sunlight poured through the windows and warmed the wooden floor, \
and the cat stretched out in the brightest patch she could find. I read a novel on the sofa while my sister \
practised the piano in the next room. She played the same slow piece again and again, each time a little \
more smoothly, until the melody floated through the whole house.

As evening came, the promised shower arrived. Heavy drops rattled on the roof, and the gutters gurgled and \
overflowed. Then, just as quickly, the rain stopped, and a rainbow appeared over the fields, faint at the \
edges and vivid in the middle. We went outside in our slippers and stood on the wet step, watching the \
colours fade as the sun sank behind the hills.

Dinner was quiet and easy. We warmed the rest of the soup, baked potatoes in the oven, and made a green salad \
with apples and walnuts. Afterwards we washed the dishes together, talking about the hawk, the sheep and the \
silver river. Outside, the air smelled clean and cool, and the stars appeared slowly above the dark trees. It \
had been a simple day, but a very good day, and we both agreed that we should walk that way again soon.
"""

#: A second prose passage (a market, a workshop, a letter; ~330 words) under the same rules as
#: :data:`PASSAGE`, read by every *training and validation* voice into ``train_passages/``: the
#: material of the ``passage_piece`` negatives (:mod:`trainer.data.negatives`), i.e. the fragments the
#: live segmenter cuts out of running speech, where most false digits of read speech come from.
#: A different text from :data:`PASSAGE`, so that the held-out passages stay unseen in words as
#: well as in voices.
TRAIN_PASSAGE = """\
On market day the square fills early. Farmers arrive before dawn with crates of apples, pears and \
plums, and the baker sets out warm loaves on a long wooden board. By breakfast the air smells of bread, \
smoke and wet canvas. Children run between the stalls while their parents argue cheerfully about the \
price of cheese.

My uncle keeps a small workshop at the corner of the square. He repairs clocks, radios and old \
bicycles, and he whistles while he works. His bench is covered with screws, springs and little brass \
wheels, each kept in a jar with a handwritten label. When a customer brings in a broken lamp, he turns \
it over slowly, listens, taps it gently, and usually finds the fault within a minute.

Last week he received a letter from a cousin who lives by the sea. She wrote about storms that shook \
the windows, about fishing boats coming home late with silver nets, and about a garden of roses that \
somehow survives the salt wind. She asked whether we might visit in the summer, when the water is \
warm and the evenings are long. My uncle read the letter aloud at dinner, smiling at every line.

In the afternoon the market grows quiet. The traders pack away their tables, sweep the cobbles and \
share a pot of tea under the awning of the cafe. Pigeons gather around the benches, hoping that crumbs might fall. \
Somewhere a violin begins a slow tune, and the music drifts across the empty square like a warm \
breeze.

When the lamps come on, my uncle locks the workshop and walks home along the canal. Ducks glide \
past the moored barges, and the water reflects the yellow windows of the houses. He stops at the \
bridge, lights his pipe, and watches the sky fade from orange into deep blue. Then he walks on, humming \
quietly, thinking about the sea, the roses and the long summer evenings.
"""

#: Held-out voices (``split=test``), never used for training, about 20% of the speakers:
#: every variant of the espeak-ng Received Pronunciation accent (an unseen accent), the ``f4``
#: variant of every other accent (an unseen timbre), and the Arctic SLT speaker in both engines that
#: have her (flite-slt, festival-cmu-us-slt-arctic-hts: holding out only one would leak her voice
#: into training).
HELD_OUT_ESPEAK_ACCENTS: tuple[str, ...] = ("en-gb-x-rp",)
HELD_OUT_ESPEAK_VARIANTS: tuple[str, ...] = ("f4",)
HELD_OUT_OTHER: tuple[str, ...] = ("flite-slt", "festival-cmu-us-slt-arctic-hts")

MANIFEST_COLUMNS: tuple[str, ...] = (
    "path", "word", "is_digit", "digit", "speaker", "engine", "voice", "variant", "rate", "pitch", "split",
)
PASSAGE_COLUMNS: tuple[str, ...] = ("path", "speaker", "duration_s")
#: Columns of ``strings.csv``: ``digits`` is the target ("4172"), ``text`` what the engine was given.
STRING_COLUMNS: tuple[str, ...] = ("path", "speaker", "digits", "text", "rate", "pitch", "split")
#: Digits per rendered string (PINs, codes and phone-number groups; speechocean762's real strings have 2-6).
STRING_LENGTHS: tuple[int, int] = (2, 7)
#: Share of zeros said "oh" (as people say phone numbers) in the rendered strings.
OH_SHARE = 0.3

_SPEAKER_RE = re.compile(r"^[a-z0-9+.-]+$")
_WORD_RE = re.compile(r"^[a-z]+$")


class SynthError(DataError):
    """A text-to-speech engine or voice is missing or failed; the message names the Debian package."""


# --------------------------------------------------------------------------- voices


@dataclass(frozen=True)
class Setting:
    """One (rate, pitch) setting of a voice.

    Attributes
    ----------
    rate : float
        espeak-ng: words per minute (``-s``); flite and festival: duration stretch factor (> 1 slower).
    pitch : float or None
        espeak-ng: 0-99 (``-p``); flite and festival diphone voices: target mean F0 in Hz;
        ``None``: the voice's own pitch (voices whose pitch cannot be set).
    """

    rate: float
    pitch: float | None


@dataclass(frozen=True)
class Voice:
    """One speaker: an engine, a voice of it and (espeak-ng) a voice variant.

    Attributes
    ----------
    engine : {"espeak", "flite", "festival"}
    voice : str
        espeak-ng language/voice name (``en-gb-scotland``, ``mb-us1``), flite voice (``slt``) or
        festival voice (``ked_diphone``).
    variant : str
        espeak-ng variant (``m3``, ``f4``, ``klatt``) or ``""``.
    """

    engine: str
    voice: str
    variant: str = ""

    @property
    def speaker(self) -> str:
        """The speaker id: ``{engine}-{voice}[+{variant}]``, lower case, ``_`` replaced by ``-``."""
        sid = f"{self.engine}-{self.voice}" + (f"+{self.variant}" if self.variant else "")
        sid = sid.lower().replace("_", "-")
        if not _SPEAKER_RE.match(sid) or "nohash" in sid:
            raise ValueError(f"invalid speaker id {sid!r}")
        return sid

    @property
    def split(self) -> str:
        """``"test"`` for :data:`HELD_OUT_SPEAKERS`, else ``"train"``."""
        return "test" if self.speaker in HELD_OUT_SPEAKERS else "train"

    @property
    def package(self) -> str:
        """The Debian package that provides this voice."""
        if self.engine == "festival":
            return FESTIVAL_VOICES.get(self.voice, "festival")
        if self.engine == "espeak" and self.voice.startswith("mb-"):
            return f"mbrola-{self.voice[3:]}"
        return ENGINE_PACKAGES[self.engine]

    def grid(self) -> tuple[Setting, ...]:
        """Every (rate, pitch) setting of this voice, rate-major.

        Returns
        -------
        settings : tuple of Setting
            espeak-ng: :data:`ESPEAK_RATES_WPM` x :data:`ESPEAK_PITCHES` (9); flite:
            :data:`STRETCHES` x :data:`FLITE_PITCHES_HZ` (9, or 3 for ``rms``); festival:
            :data:`STRETCHES` x :data:`FESTIVAL_PITCHES_HZ` (9, or 3 for the HTS voice).
        """
        if self.engine == "espeak":
            rates, pitches = ESPEAK_RATES_WPM, ESPEAK_PITCHES
        elif self.engine == "flite":
            rates, pitches = STRETCHES, FLITE_PITCHES_HZ.get(self.voice, ())
        else:
            rates, pitches = STRETCHES, FESTIVAL_PITCHES_HZ.get(self.voice, ())
        return tuple(Setting(r, p) for r in rates for p in (pitches or (None,)))

    def normal_setting(self) -> Setting:
        """The middle rate and middle pitch of :meth:`grid` (used for the passages)."""
        g = self.grid()
        return g[len(g) // 2]


def catalogue(extra_variants: bool = False) -> tuple[Voice, ...]:
    """Every voice this module knows (installed or not), in a fixed order; MBROLA voices excluded.

    ``extra_variants``: also :data:`ESPEAK_EXTRA_VARIANTS` with every accent that is not held out
    (after all the others, so the order of the others is unchanged).
    """
    out = [Voice("espeak", a, v) for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
    out += [Voice("flite", v) for v in FLITE_VOICES]
    out += [Voice("festival", v) for v in FESTIVAL_VOICES]
    if extra_variants:
        out += [Voice("espeak", a, v) for a in ESPEAK_ACCENTS if a not in HELD_OUT_ESPEAK_ACCENTS
                for v in ESPEAK_EXTRA_VARIANTS]
    return tuple(out)


def _held_out(v: Voice) -> bool:
    if v.engine == "espeak":
        return v.voice in HELD_OUT_ESPEAK_ACCENTS or v.variant in HELD_OUT_ESPEAK_VARIANTS
    return v.speaker in HELD_OUT_OTHER


#: The held-out speaker ids (``split=test``): 21 of the 104 catalogue voices.
HELD_OUT_SPEAKERS: frozenset[str] = frozenset(v.speaker for v in catalogue() if _held_out(v))


def choose_settings(voice: Voice, word: str, *, seed: int = DEFAULT_SEED, k: int = SETTINGS_PER_WORD) -> list[int]:
    """The indices into ``voice.grid()`` that ``voice`` renders ``word`` with.

    A pure function of ``(seed, speaker, word)`` (SHA-256 seeds a ``random.Random``), so the
    choice is the same on every machine and independent of which other voices or words exist.

    Returns
    -------
    indices : list of int
        ``min(k, len(grid))`` distinct indices, ascending.
    """
    n = len(voice.grid())
    digest = hashlib.sha256(f"{seed}:{voice.speaker}:{word}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    return sorted(rng.sample(range(n), min(k, n)))


# --------------------------------------------------------------------------- engines


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise SynthError(f"{cmd[0]} took more than {timeout:.0f} s: {' '.join(cmd)}") from e
    except OSError as e:
        raise SynthError(f"cannot run {cmd[0]} ({e}); install it: {INSTALL_HINT}") from e


def engine_command(voice: Voice, setting: Setting, text_file: Path, out: Path) -> list[str]:
    """The command line that renders the text in ``text_file`` to the WAV file ``out``.

    espeak-ng: ``-v VOICE[+VARIANT] -s WPM -p PITCH -f TEXT -w OUT`` (espeak-ng(1)). flite:
    ``--setf duration_stretch=S [--setf int_f0_target_mean=HZ] -f TEXT -o OUT`` (flite(1)).
    festival: ``text2wave -eval (voice_X) -eval PROLOGUE -o OUT TEXT`` with the Scheme prologue
    ``(Parameter.set 'Duration_Stretch S)`` and, for pitch, ``target_f0_mean`` prepended to
    ``int_lr_params``; the HTS voice gets ``("-r" 1/S)`` in ``hts_engine_params`` instead.
    """
    if voice.engine == "espeak":
        name = voice.voice + (f"+{voice.variant}" if voice.variant else "")
        cmd = ["espeak-ng", "-v", name, "-s", f"{setting.rate:g}"]
        if setting.pitch is not None:
            cmd += ["-p", f"{setting.pitch:g}"]
        return cmd + ["-f", str(text_file), "-w", str(out)]
    if voice.engine == "flite":
        cmd = ["flite", "-voice", voice.voice, "--setf", f"duration_stretch={setting.rate:g}"]
        if setting.pitch is not None:
            cmd += ["--setf", f"int_f0_target_mean={setting.pitch:g}"]
        return cmd + ["-f", str(text_file), "-o", str(out)]
    if voice.engine == "festival":
        cmd = ["text2wave", "-eval", f"(voice_{voice.voice})"]
        if voice.voice.endswith("_hts"):
            cmd += ["-eval", f'(set! hts_engine_params (cons (list "-r" {1.0 / setting.rate:.4f}) hts_engine_params))']
        else:
            cmd += ["-eval", f"(Parameter.set 'Duration_Stretch {setting.rate:g})"]
        if setting.pitch is not None:
            cmd += ["-eval", f"(set! int_lr_params (cons (list 'target_f0_mean {setting.pitch:g}) int_lr_params))"]
        return cmd + ["-o", str(out), str(text_file)]
    raise ValueError(f"unknown engine {voice.engine!r}")


def render_raw(voice: Voice, text: str, setting: Setting, *, timeout: float = 60.0) -> tuple[np.ndarray, int]:
    """Render ``text`` with the engine, as the engine writes it.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono samples in [-1, 1] (``n`` may be 0 if the engine produced nothing).
    sample_rate_hz : int
        The engine's rate (8,000 Hz for flite kal, 16,000 Hz for most, 32,000 Hz for festival HTS).

    Raises
    ------
    SynthError
        If the engine exits with an error, reports a Scheme error, or writes no file.
    """
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="spoken-digits-synth-") as tmp:
        text_file, out = Path(tmp) / "text.txt", Path(tmp) / "out.wav"
        text_file.write_text(text + "\n", encoding="utf-8")
        cmd = engine_command(voice, setting, text_file, out)
        res = _run(cmd, timeout)
        err = (res.stderr or "").strip()
        if res.returncode != 0 or "SIOD ERROR" in err or "does not exist" in err:
            raise SynthError(f"{voice.speaker}: {cmd[0]} failed (exit {res.returncode}): {err[:300]}")
        if not out.exists() or out.stat().st_size == 0:
            return np.zeros(0, np.float32), SAMPLE_RATE_HZ
        try:
            y, sr = sf.read(out, dtype="float32", always_2d=True)
        except Exception as e:  # a truncated header: treat as empty
            log.debug("%s: unreadable engine output (%s)", voice.speaker, e)
            return np.zeros(0, np.float32), SAMPLE_RATE_HZ
        return y.mean(axis=1).astype(np.float32), int(sr)


def postprocess(y: np.ndarray, sample_rate_hz: int, *, trim: bool = True) -> np.ndarray | None:
    """Resample to 22,050 Hz (soxr HQ), trim silent edges, fade them, peak-normalize to :data:`PEAK_DBFS`.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``sample_rate_hz`` (Hz).
    trim : bool
        ``librosa.effects.trim(top_db=TRIM_TOP_DB)`` the edges (words), then fade them in and out over
        :data:`FADE_S`; passages keep their edges.

    Returns
    -------
    out : np.ndarray [shape=(m,), dtype=float32] or None
        At :data:`SAMPLE_RATE_HZ`, peak ``10 ** (PEAK_DBFS / 20)``; ``None`` if the render is
        empty or silent (peak < :data:`SILENT_PEAK`, or shorter than :data:`MIN_DURATION_S`).
    """
    import soxr

    if y.size == 0 or not np.isfinite(y).all() or np.max(np.abs(y)) < SILENT_PEAK:
        return None
    if sample_rate_hz != SAMPLE_RATE_HZ:
        y = soxr.resample(y, sample_rate_hz, SAMPLE_RATE_HZ, quality="HQ").astype(np.float32)
    if trim:
        import librosa

        y, _ = librosa.effects.trim(y, top_db=TRIM_TOP_DB)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if y.size < MIN_DURATION_S * SAMPLE_RATE_HZ or peak < SILENT_PEAK:
        return None
    if trim:
        n = int(FADE_S * SAMPLE_RATE_HZ)
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        y = y.copy()
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
        peak = float(np.max(np.abs(y)))
    return (y * (10 ** (PEAK_DBFS / 20) / peak)).astype(np.float32)


# --------------------------------------------------------------------------- discovery


def engine_version(engine: str) -> str:
    """The engine's version line (``espeak-ng --version``, ``flite --version``, ``festival --version``)."""
    prog = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}[engine]
    if not shutil.which(prog):
        return "not installed"
    res = _run([prog, "--version"], 30)
    lines = [ln.strip() for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    if engine == "espeak":
        return lines[0].split("Data at")[0].strip() if lines else "?"
    if engine == "flite":
        return next((ln for ln in lines if ln.startswith("version")), lines[-1] if lines else "?")
    return lines[0] if lines else "?"


def _probe(voice: Voice) -> str | None:
    """Render "one" once; ``None`` if it works, else why not."""
    try:
        y, sr = render_raw(voice, "one", voice.normal_setting(), timeout=60)
    except SynthError as e:
        return str(e)
    if postprocess(y, sr) is None:
        return "the test render is empty"
    return None


def _espeak_voices(extra_variants: bool = False) -> list[Voice]:
    res = _run(["espeak-ng", "--voices=en"], 30)
    langs, mb = set(), set()
    for line in res.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            langs.add(parts[1])
            if parts[4].startswith("mb/"):
                mb.add(parts[4][3:])
    res = _run(["espeak-ng", "--voices=variant"], 30)
    variants = {p.split("/", 1)[1] for line in res.stdout.splitlines()[1:] for p in line.split() if p.startswith("!v/")}
    out = []
    for accent in ESPEAK_ACCENTS:
        if accent not in langs:
            log.warning("espeak-ng: accent %s is not installed; skipped", accent)
            continue
        for var in ESPEAK_VARIANTS:
            if var and var not in variants:
                log.warning("espeak-ng: variant %s is not installed; skipped", var)
                continue
            out.append(Voice("espeak", accent, var))
    if extra_variants:
        for var in ESPEAK_EXTRA_VARIANTS:
            if var not in variants:
                log.warning("espeak-ng: variant %s is not installed; skipped", var)
                continue
            out += [Voice("espeak", a, var) for a in ESPEAK_ACCENTS if a in langs and a not in HELD_OUT_ESPEAK_ACCENTS]
    for name in ESPEAK_MBROLA_VOICES:
        if name in mb:
            v = Voice("espeak", name)
            why = _probe(v)
            if why is None:
                out.append(v)
            else:
                log.info("espeak-ng: MBROLA voice %s skipped (its data is missing: install mbrola and %s)",
                         name, v.package)
    return out


def _flite_voices() -> list[Voice]:
    res = _run(["flite", "-lv"], 30)
    listed = set(res.stdout.replace("Voices available:", "").split())
    out = []
    for name in FLITE_VOICES:
        if name in listed:
            out.append(Voice("flite", name))
        else:
            log.warning("flite: voice %s is not installed; skipped", name)
    return out


def _festival_voices() -> list[Voice]:
    out = []
    for name, package in FESTIVAL_VOICES.items():
        v = Voice("festival", name)
        why = _probe(v)
        if why is None:
            out.append(v)
        else:
            log.warning("festival: voice %s does not work (%s); skipped. Install it: apt-get install %s",
                        name, why.splitlines()[0][:200], package)
    return out


def available_voices(engines: Iterable[str] = ENGINES, *, extra_variants: bool = False) -> list[Voice]:
    """The voices of ``engines`` that are installed and work on this machine.

    ``extra_variants``: espeak-ng also with :data:`ESPEAK_EXTRA_VARIANTS` (training voices only).

    Engines whose program (espeak-ng, flite, text2wave) is not on ``PATH`` are skipped with a
    warning; espeak-ng MBROLA voices are tried once and kept only if they render; festival
    voices are tried once each.

    Raises
    ------
    SynthError
        If none of ``engines`` is installed (the message names the Debian packages), or an
        engine name is unknown.
    """
    engines = list(engines)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise SynthError(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    present = []
    for e in engines:
        if shutil.which(ENGINE_PROGRAMS[e]):
            present.append(e)
        else:
            log.warning("%s is not installed (no '%s' on PATH); skipped. Install it: apt-get install %s",
                        e, ENGINE_PROGRAMS[e], ENGINE_PACKAGES[e])
    if not present:
        progs = ", ".join(ENGINE_PROGRAMS[e] for e in engines)
        raise SynthError(f"no text-to-speech engine is installed (looked for {progs} on PATH); "
                         f"install the Debian packages: {INSTALL_HINT}")
    voices: list[Voice] = []
    for e in present:
        voices += (_espeak_voices(extra_variants) if e == "espeak"
                   else {"flite": _flite_voices, "festival": _festival_voices}[e]())
    if not voices:
        raise SynthError(f"none of the voices of {', '.join(present)} works; "
                         f"install the Debian packages: {INSTALL_HINT}")
    return voices


# --------------------------------------------------------------------------- words and passage


def resolve_words(words: str | Sequence[str]) -> tuple[str, ...]:
    """``"all"`` -> :data:`ALL_WORDS`, ``"digits"`` -> ``DIGIT_WORDS``, else the given words (validated)."""
    if isinstance(words, str):
        if words == "all":
            return ALL_WORDS
        if words == "digits":
            return DIGIT_WORDS
        raise SynthError(f"words must be 'all', 'digits' or a list of words, got {words!r}")
    out = tuple(dict.fromkeys(words))
    bad = [w for w in out if not _WORD_RE.match(w)]
    if bad:
        raise SynthError(f"words must be lower-case letters only (they become folder names), got {bad}")
    return out


def passage_violations(text: str = PASSAGE) -> list[str]:
    """Words of ``text`` that are digits, number words or digit homophones (should be ``[]``).

    A token is forbidden if it is in ``DIGIT_WORDS``, :data:`DIGIT_HOMOPHONES` or
    :data:`NUMBER_WORDS`, or starts with a digit word (``sevens``, ``fourth``, ``eighty``).
    """
    forbidden = set(DIGIT_WORDS) | set(DIGIT_HOMOPHONES) | set(NUMBER_WORDS)
    out = []
    for tok in re.findall(r"[a-z']+", text.lower()):
        tok = tok.strip("'")
        if tok in forbidden or any(tok.startswith(d) for d in DIGIT_WORDS):
            out.append(tok)
    return out


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Job:
    """One file to render: ``voice`` says ``word`` (or the text ``passage``, untrimmed) with
    ``voice.grid()[index]`` into ``rel_path``."""

    voice: Voice
    word: str
    index: int
    setting: Setting
    rel_path: str
    passage: str | None = None
    #: Text said instead of ``word`` and trimmed like a word (a digit string).
    text: str | None = None


@dataclass
class SynthReport:
    """What :func:`synthesize` did.

    Attributes
    ----------
    dest : Path
    rendered, skipped : int
        Files written now / already present (kept).
    rejected : list of str
        Relative paths whose render came out empty or silent (not written).
    failed : list of str
        ``"path: error"`` of renders whose engine failed.
    clipped : list of str
        Relative paths whose raw render touched int16 full scale (written; normalized anyway).
    rows : list of dict
        The manifest rows (``MANIFEST_COLUMNS``).
    passages : list of dict
        The ``passages.csv`` rows.
    train_passages : list of dict
        The ``train_passages.csv`` rows.
    strings : list of dict
        The ``strings.csv`` rows (``STRING_COLUMNS``).
    speakers : dict of str to str
        Speaker id -> split, of the voices used.
    seconds : float
        Wall time.
    """

    dest: Path
    rendered: int = 0
    skipped: int = 0
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    clipped: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)
    train_passages: list[dict] = field(default_factory=list)
    strings: list[dict] = field(default_factory=list)
    speakers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def plan(voices: Sequence[Voice], words: Sequence[str], *, seed: int = DEFAULT_SEED,
         all_settings: bool = False) -> list[Job]:
    """The word files to render: per voice and word, :func:`choose_settings` (or the whole grid)."""
    jobs = []
    for v in voices:
        grid = v.grid()
        for w in words:
            idx = range(len(grid)) if all_settings else choose_settings(v, w, seed=seed)
            for i in idx:
                jobs.append(Job(v, w, i, grid[i], f"{w}/{v.speaker}_nohash_{i}.wav"))
    return jobs


def string_text(digits: str, rng: random.Random) -> str:
    """The words an engine is given for ``digits``: ``"4172"`` -> ``"four one seven two"``.

    Spaces only (a comma or a full stop would make the engine pause); each zero is said "oh" with
    probability :data:`OH_SHARE` (as in phone numbers), else "zero".
    """
    words = []
    for c in digits:
        d = int(c)
        words.append("oh" if d == 0 and rng.random() < OH_SHARE else DIGIT_WORDS[d])
    return " ".join(words)


def plan_strings(voices: Sequence[Voice], n_per_voice: int, *, seed: int = DEFAULT_SEED) -> list[Job]:
    """Digit strings said as one utterance: ``n_per_voice`` per voice, each with random digits
    (:data:`STRING_LENGTHS`), text (:func:`string_text`) and setting of the voice's grid.

    Seeded by ``(seed, speaker)``, so a voice's strings do not change when voices are added.
    Files: ``strings/<speaker>_nohash_<k>.wav``, ``k`` in ``range(n_per_voice)``.
    """
    jobs = []
    for v in voices:
        rng = random.Random(f"{seed}/{v.speaker}/strings")
        grid = v.grid()
        for k in range(n_per_voice):
            n = rng.randint(*STRING_LENGTHS)
            digits = "".join(str(rng.randrange(10)) for _ in range(n))
            i = rng.randrange(len(grid))
            jobs.append(Job(v, digits, i, grid[i], f"strings/{v.speaker}_nohash_{k}.wav", text=string_text(digits, rng)))
    return jobs


def _render_job(dest: Path, job: Job, force: bool) -> tuple[str, str]:
    """Render one job; returns (status, message) with status rendered|skipped|rejected|failed (+ clipped)."""
    import soundfile as sf

    out = dest / job.rel_path
    if out.exists() and not force:
        return "skipped", ""
    text = job.passage or job.text or job.word
    try:
        y, sr = render_raw(job.voice, text, job.setting, timeout=900 if job.passage else 60)
    except SynthError as e:
        return "failed", str(e)
    clipped = bool(y.size) and int(np.sum(np.abs(y) >= CLIP_LEVEL)) >= 3
    z = postprocess(y, sr, trim=not job.passage)
    if z is None:
        return "rejected", f"{job.voice.speaker} said {job.word!r} as an empty or silent render"
    with atomic_path(out) as tmp:
        sf.write(tmp, z, SAMPLE_RATE_HZ, subtype="PCM_16", format="WAV")
    return ("rendered+clipped" if clipped else "rendered"), ""


def _clean_stale(dest: Path, min_age_s: float = 120.0) -> None:
    """Remove temporary files an interrupted run left (atomic_path's ``.tmp-*``).

    A temporary file lives only while one clip is written (milliseconds), so one older than
    ``min_age_s`` is a leftover, while a younger one may belong to a run still writing into ``dest``.
    """
    if not dest.is_dir():
        return
    now = time.time()
    for folder in [dest, *(p for p in dest.iterdir() if p.is_dir())]:  # the word folders and passages/
        for p in folder.glob(".tmp-*"):
            try:
                if now - p.stat().st_mtime < min_age_s:
                    continue
            except FileNotFoundError:
                continue
            log.info("removing a leftover temporary file %s", p)
            p.unlink(missing_ok=True)


def _run_jobs(dest: Path, jobs: list[Job], report: SynthReport, *, n_jobs: int, force: bool, progress: bool,
              description: str) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task(description, total=len(jobs))
        with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
            futures = {pool.submit(_render_job, dest, j, force): j for j in jobs}
            try:
                for fut in as_completed(futures):
                    job = futures[fut]
                    status, msg = fut.result()
                    if status.startswith("rendered"):
                        report.rendered += 1
                        if status.endswith("clipped"):
                            report.clipped.append(job.rel_path)
                    elif status == "skipped":
                        report.skipped += 1
                    elif status == "rejected":
                        report.rejected.append(job.rel_path)
                        log.warning("rejected %s: %s", job.rel_path, msg)
                    else:
                        report.failed.append(f"{job.rel_path}: {msg}")
                        log.warning("failed %s: %s", job.rel_path, msg)
                    bar.advance(task)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise


def _manifest_row(job: Job) -> dict:
    v, s = job.voice, job.setting
    is_digit = job.word in DIGIT_WORDS
    return {
        "path": job.rel_path, "word": job.word, "is_digit": int(is_digit),
        "digit": DIGIT_WORDS.index(job.word) if is_digit else "", "speaker": v.speaker, "engine": v.engine,
        "voice": v.voice, "variant": v.variant, "rate": f"{s.rate:g}",
        "pitch": "" if s.pitch is None else f"{s.pitch:g}",
        "split": v.split,
    }


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        w.writeheader()
        w.writerows(rows)


def synthesize(
    dest: str | os.PathLike,
    *,
    engines: Iterable[str] = ENGINES,
    words: str | Sequence[str] = "all",
    speakers: Iterable[str] | None = None,
    seed: int = DEFAULT_SEED,
    n_jobs: int | None = None,
    passages: bool = False,
    all_settings: bool = False,
    extra_variants: bool = False,
    strings: int = 0,
    force: bool = False,
    progress: bool = True,
) -> SynthReport:
    """Render the words with every installed voice into ``dest``; write the manifest and SOURCE.md.

    Files already present are kept (a rerun completes an interrupted run) unless ``force``.
    Every file is written to a temporary name beside it and renamed; ``manifest.csv``,
    ``passages.csv`` and ``SOURCE.md`` are (re)written atomically at the end and list the
    files of this plan that exist.

    Parameters
    ----------
    dest : path
        Output folder (created).
    engines : iterable of {"espeak", "flite", "festival"}
        Engines to use; missing ones are skipped with a warning.
    words : "all", "digits" or sequence of str
        ``"all"``: the digit words and :data:`NON_DIGIT_WORDS`.
    speakers : iterable of str, optional
        Only these speaker ids (e.g. ``["espeak-en-us", "flite-slt"]``); default every available voice.
    seed : int
        Seed of the per-(speaker, word) choice of settings (:func:`choose_settings`).
    n_jobs : int, optional
        Parallel renders (threads running the engines). Default: ``os.cpu_count()``.
    passages : bool
        Also render :data:`PASSAGE` with each held-out voice into ``dest/passages/`` (false-accept
        measurement), and :data:`TRAIN_PASSAGE` with every other voice into ``dest/train_passages/``
        (continuous-speech negatives for training).
    all_settings : bool
        Render every setting of each voice's grid instead of :data:`SETTINGS_PER_WORD`.
    extra_variants : bool
        Also the espeak-ng voices of :data:`ESPEAK_EXTRA_VARIANTS` (84 more training voices, of
        which the corpus layer's hash puts about 10 % into validation; none held out).
    strings : int >= 0
        Also render this many digit strings per voice, each said as one utterance without pauses
        ("four one seven two", :func:`plan_strings`), into ``dest/strings/`` with ``strings.csv``
        (material of the digit-string model; held-out voices' strings are marked ``test``).
    force : bool
        Re-render files that exist.

    Returns
    -------
    SynthReport

    Raises
    ------
    SynthError
        If no engine is installed, or a requested speaker is not available (the message names
        the Debian package that provides it).
    """
    t0 = time.perf_counter()
    dest = Path(dest)
    words = resolve_words(words)
    import librosa

    # librosa loads its submodules lazily (and compiles on first use): do it once, before the threads
    librosa.effects.trim(np.zeros(4096, np.float32) + 1e-3, top_db=TRIM_TOP_DB)

    engines = tuple(engines)
    voices = available_voices(engines, extra_variants=extra_variants)
    if speakers is not None:
        wanted = list(dict.fromkeys(speakers))
        by_id = {v.speaker: v for v in voices}
        missing = [s for s in wanted if s not in by_id]
        if missing:
            known = {v.speaker: v for v in catalogue(extra_variants=True)}
            unknown = [s for s in missing if s not in known]
            if unknown:
                raise SynthError(f"unknown speaker(s) {', '.join(unknown)}; speaker ids look like "
                                 "espeak-en-gb-scotland+m3, flite-slt, festival-ked-diphone")
            extra = [s for s in missing if known[s].variant in ESPEAK_EXTRA_VARIANTS]
            if extra and not extra_variants:
                raise SynthError(f"speaker(s) {', '.join(extra)} are extra espeak-ng variants: pass extra_variants=True "
                                 "('data synth --extra-variants')")
            off = [s for s in missing if known[s].engine not in engines]
            if off:
                raise SynthError(f"speaker(s) {', '.join(off)} need an engine that is not selected "
                                 f"(engines: {', '.join(engines)})")
            hints = sorted({known[s].package for s in missing})
            raise SynthError(f"speaker(s) not available on this machine: {', '.join(missing)}; "
                             f"install the Debian package(s): apt-get install {' '.join(hints)}")
        voices = [by_id[s] for s in wanted]
    for name, text in (("PASSAGE", PASSAGE), ("TRAIN_PASSAGE", TRAIN_PASSAGE)):
        if passages and passage_violations(text):
            raise SynthError(f"{name} contains digit or number words: {passage_violations(text)}")

    dest.mkdir(parents=True, exist_ok=True)
    _clean_stale(dest)
    if passages:
        (dest / "passages").mkdir(exist_ok=True)
        (dest / "train_passages").mkdir(exist_ok=True)
    report = SynthReport(dest=dest, speakers={v.speaker: v.split for v in voices})
    n_jobs = n_jobs or os.cpu_count() or 1

    jobs = plan(voices, words, seed=seed, all_settings=all_settings)
    log.info("%d voices x %d words: %d files", len(voices), len(words), len(jobs))
    _run_jobs(dest, jobs, report, n_jobs=n_jobs, force=force, progress=progress, description="rendering words")
    report.rows = sorted((_manifest_row(j) for j in jobs if (dest / j.rel_path).exists()), key=lambda r: r["path"])
    _write_csv(dest / "manifest.csv", MANIFEST_COLUMNS, report.rows)

    if passages:
        import soundfile as sf

        for folder, text, rows, chosen in (
                ("passages", PASSAGE, report.passages, [v for v in voices if v.split == "test"]),
                ("train_passages", TRAIN_PASSAGE, report.train_passages, [v for v in voices if v.split != "test"])):
            pjobs = [Job(v, folder, 0, v.normal_setting(), f"{folder}/{v.speaker}.wav", passage=text) for v in chosen]
            _run_jobs(dest, pjobs, report, n_jobs=n_jobs, force=force, progress=progress,
                      description=f"rendering {folder.replace('_', ' ')}")
            for j in pjobs:
                p = dest / j.rel_path
                if p.exists():
                    rows.append({"path": j.rel_path, "speaker": j.voice.speaker,
                                 "duration_s": f"{sf.info(str(p)).duration:.2f}"})
            _write_csv(dest / f"{folder}.csv", PASSAGE_COLUMNS, rows)

    if strings:
        (dest / "strings").mkdir(exist_ok=True)
        sjobs = plan_strings(voices, strings, seed=seed)
        _run_jobs(dest, sjobs, report, n_jobs=n_jobs, force=force, progress=progress, description="rendering strings")
        report.strings = [{"path": j.rel_path, "speaker": j.voice.speaker, "digits": j.word, "text": j.text,
                           "rate": f"{j.setting.rate:g}", "pitch": "" if j.setting.pitch is None else f"{j.setting.pitch:g}",
                           "split": j.voice.split} for j in sjobs if (dest / j.rel_path).exists()]
        _write_csv(dest / "strings.csv", STRING_COLUMNS, report.strings)
    elif (dest / "strings.csv").is_file():  # a rerun without --strings keeps the strings rendered before
        with open(dest / "strings.csv", newline="", encoding="utf-8") as f:
            report.strings = list(csv.DictReader(f))

    report.seconds = time.perf_counter() - t0
    _write_source(dest, voices, words, seed, all_settings, report)
    return report


# --------------------------------------------------------------------------- SOURCE.md


def _fmt_pitches(table: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{k} {'/'.join(map(str, v)) if v else 'its own'}" for k, v in table.items())


def _write_source(dest: Path, voices: Sequence[Voice], words: Sequence[str], seed: int, all_settings: bool,
                  report: SynthReport) -> None:
    engines = sorted({v.engine for v in voices}, key=ENGINES.index)
    test = sorted(s for s, sp in report.speakers.items() if sp == "test")
    train = sorted(s for s, sp in report.speakers.items() if sp == "train")
    n_test = sum(r["split"] == "test" for r in report.rows)
    lines = [
        "# Synthetic spoken words (spoken-digits data synth)", "",
        f"Generated {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC by `spoken-digits data synth` "
        f"(trainer/data/synth.py), seed {seed}, "
        f"{'every setting' if all_settings else f'{SETTINGS_PER_WORD} settings per speaker and word'}, "
        f"Python {sys.version.split()[0]}.", "",
        "## Engines", "",
        *[f"- {e}: `{engine_version(e)}`" for e in engines], "",
        "## Contents", "",
        f"- {len(report.rows)} clips ({n_test} test) of {len(words)} words by {len(voices)} speakers "
        f"({len(train)} train, {len(test)} test) in `<word>/<speaker>_nohash_<n>.wav` "
        "(Speech Commands layout; `<n>` indexes the speaker's (rate, pitch) grid); `manifest.csv` lists them "
        "(columns " + ", ".join(MANIFEST_COLUMNS) + ").",
        "- 22,050 Hz mono PCM-16: engine output resampled with soxr (HQ), edges trimmed with "
        f"`librosa.effects.trim(top_db={TRIM_TOP_DB})`, faded in and out over {FADE_S * 1000:g} ms, "
        f"peak-normalized to {PEAK_DBFS:g} dBFS. flite `kal` "
        "renders at 8 kHz, so it has no energy above 4 kHz.",
        f"- Words: digits {', '.join(w for w in words if w in DIGIT_WORDS) or '-'}; "
        f"others {', '.join(w for w in words if w not in DIGIT_WORDS) or '-'}.",
        f"- Homophones and aliases of digits are never rendered as non-digits: {', '.join(DIGIT_HOMOPHONES)}.",
        f"- Settings: espeak-ng rate {ESPEAK_RATES_WPM} words/min (`-s`) x pitch {ESPEAK_PITCHES} (`-p`, 0-99); "
        f"flite/festival duration stretch {STRETCHES} (> 1 slower; `--setf duration_stretch`, "
        "`Duration_Stretch`, hts_engine `-r` = 1/stretch for the HTS voice) x target mean F0 in Hz "
        f"(flite `int_f0_target_mean`: {_fmt_pitches(FLITE_PITCHES_HZ)}; festival `target_f0_mean`: "
        f"{_fmt_pitches(FESTIVAL_PITCHES_HZ)}).",
    ]
    for folder, rows, text, what in (
            ("passages", report.passages, PASSAGE, "read by the held-out voices at their middle rate and pitch "
                                                   "(for false-accept measurement)"),
            ("train_passages", report.train_passages, TRAIN_PASSAGE,
             "another text, read by every voice that is not held out (material for continuous-speech negatives "
             "in training)")):
        if rows:
            total = sum(float(p["duration_s"]) for p in rows)
            lines.append(f"- `{folder}/`: {len(rows)} readings ({total / 60:.1f} min) of a {len(text.split())}-word "
                         f"prose passage with no digit, number or digit-homophone word, {what}; not trimmed. "
                         f"Listed in `{folder}.csv`.")
    if report.strings:
        n_test = sum(r["split"] == "test" for r in report.strings)
        lines.append(f"- `strings/`: {len(report.strings)} digit strings ({n_test} by held-out voices) of "
                     f"{STRING_LENGTHS[0]}-{STRING_LENGTHS[1]} random digits, each said as one utterance without "
                     f"pauses (the engine gets the words separated by spaces; zero is \"oh\" in about "
                     f"{OH_SHARE:.0%} of cases) with a random setting of the voice's grid; trimmed like the words. "
                     "Listed in `strings.csv` (columns " + ", ".join(STRING_COLUMNS) + ").")
    if report.rejected or report.failed:
        lines.append(f"- Not written: {len(report.rejected)} empty renders, {len(report.failed)} engine failures.")
    lines += [
        "", "## Held-out voices (split = test)", "",
        "Never use these for training: every variant of the espeak-ng accent(s) "
        f"{', '.join(HELD_OUT_ESPEAK_ACCENTS)} (an unseen accent), variant(s) {', '.join(HELD_OUT_ESPEAK_VARIANTS)} "
        f"of every accent (an unseen timbre), and {', '.join(HELD_OUT_OTHER)} (the same Arctic SLT speaker in both "
        "engines).", "",
        "Held out here: " + ", ".join(test) + ".", "",
        *([f"With `--extra-variants`: also the espeak-ng variants {', '.join(ESPEAK_EXTRA_VARIANTS)} with every "
           f"accent except {', '.join(HELD_OUT_ESPEAK_ACCENTS)} (training and validation voices only).", ""]
          if any(v.variant in ESPEAK_EXTRA_VARIANTS for v in voices) else []),
        "Training voices: " + ", ".join(train) + ".", "",
        "## Licence", "",
        "The engines and their voices are free software: espeak-ng is GPL-3.0-or-later; flite and its voices "
        "(CMU) are under a BSD-like licence; the festival voices are under their own free licences (CSTR/CMU "
        "X11-style for the diphone voices, EST and BSD-3-clause for cmu_us_slt_arctic_hts; see "
        "/usr/share/doc/festvox-*/copyright). The rendered audio is ours "
        "(the spoken-digits project) and is distributed under the project's licence.", "",
    ]
    with atomic_path(dest / "SOURCE.md") as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


__all__ = [
    "ALL_WORDS", "DIGIT_HOMOPHONES", "ENGINES", "HELD_OUT_SPEAKERS", "INSTALL_HINT", "MANIFEST_COLUMNS", "STRING_COLUMNS",
    "STRING_LENGTHS", "plan_strings", "string_text",
    "NON_DIGIT_WORDS", "PASSAGE", "SAMPLE_RATE_HZ", "TRAIN_PASSAGE", "Setting", "SynthError", "SynthReport", "Voice",
    "available_voices", "catalogue", "choose_settings", "engine_command", "passage_violations", "plan",
    "postprocess", "render_raw", "resolve_words", "synthesize",
]
