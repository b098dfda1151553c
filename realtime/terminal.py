"""The terminal the CLI owns: keep native libraries' noise off the user's stderr.

PortAudio, ALSA and TFLite (C code) write diagnostics straight to file
descriptor 2, where Python's ``sys.stderr`` cannot catch them.
:func:`filter_native_stderr` sends the known noise to the debug log (``-vv``)
and lets everything else through. Standard library only.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from typing import Sequence

log = logging.getLogger(__name__)


#: Lines PortAudio and ALSA write straight to file descriptor 2 (C code), e.g. when the
#: audio server goes away: "Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3665".
#: TFLite interpreters announce their CPU delegate the same way.
NATIVE_NOISE_PREFIXES = (b"Expression '", b"ALSA lib ", b"PaAlsaStream", b"Cannot connect to server",
                         b"INFO: Created TensorFlow Lite XNNPACK delegate")


#: Splits the stream after each line end (``\n``) or carriage return (``\r``: a progress bar
#: redrawing its line is forwarded at once, not held until a newline).
_LINE_END = re.compile(rb"(?<=\n)|(?<=\r)(?!\n)")


@contextlib.contextmanager
def filter_native_stderr(prefixes: tuple[bytes, ...] = NATIVE_NOISE_PREFIXES, *,
                         patterns: Sequence[re.Pattern[bytes]] = ()):
    """Within the block, lines written to stderr that are known noise go to the debug log.

    A line is noise if it starts (after blanks) with one of ``prefixes`` or matches
    (``re.match``) one of ``patterns``.

    PortAudio's ALSA host API prints its diagnostics with ``fprintf(stderr)`` (the
    Debian build does not export ``PaUtil_SetDebugPrintFunction``), so the user would
    see three lines of C noise above our one-line error. File descriptor 2 is pointed
    at a pipe; a thread forwards every other line unchanged.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to filter
        yield
        return
    r, w = os.pipe()
    os.dup2(w, 2)
    os.close(w)

    def pump() -> None:
        with os.fdopen(r, "rb", buffering=0) as src:
            buf = b""
            while True:
                chunk = src.read(4096)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = _LINE_END.split(buf)
                for line in lines:
                    _forward(line)
            if buf:
                _forward(buf)

    def _forward(line: bytes) -> None:
        text = line.lstrip()
        if text.startswith(prefixes) or any(p.match(text) for p in patterns):
            log.debug("native: %s", line.decode(errors="replace").rstrip())
        else:
            os.write(saved, line)

    t = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    t.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump drains and stops
        t.join(timeout=2.0)
        os.close(saved)


__all__ = ["NATIVE_NOISE_PREFIXES", "filter_native_stderr"]
