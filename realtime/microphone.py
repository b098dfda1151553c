"""The microphone: list and choose input devices, and capture from one.

``sounddevice`` (PortAudio) is imported on first use, so the rest of ``realtime``
(files, the pipeline) needs no sound system. Every failure is an
:class:`~realtime.errors.AudioInputError` with a one-line message.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import constants as C
from .errors import AudioInputError, one_line

log = logging.getLogger(__name__)


def _sounddevice():
    """Import sounddevice; a missing PortAudio library becomes an :class:`AudioInputError`."""
    try:
        import sounddevice as sd
    except OSError as e:  # "PortAudio library not found"
        raise AudioInputError(
            f"cannot use the sound system: {one_line(e)} (install PortAudio: apt-get install libportaudio2)"
        ) from e
    return sd


LIST_DEVICES_HINT = "see 'spoken-digits listen --list-devices'"


def list_devices_text() -> str:
    """The audio devices as text, input devices marked, for ``--list-devices``.

    Raises
    ------
    AudioInputError
        If PortAudio is missing or fails.
    """
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
        hostapis = sd.query_hostapis()
    except Exception as e:
        raise AudioInputError(f"cannot list audio devices: {one_line(e)}") from e
    lines = ["Input devices (use --device INDEX or a part of the name):"]
    n = 0
    for d in devices:
        if d["max_input_channels"] <= 0:
            continue
        n += 1
        mark = "*" if d["index"] == default_in else " "
        api = hostapis[d["hostapi"]]["name"]
        lines.append(f"{mark} {d['index']:>3}  {d['name']}  ({api}, {d['max_input_channels']} ch in, "
                     f"default {d['default_samplerate']:.0f} Hz)")
    if n == 0:
        lines.append("  (none: no audio input device found)")
    else:
        lines.append("* = default input device")
    return "\n".join(lines)


def resolve_input_device(spec: str | int | None) -> int:
    """The index of the input device chosen by ``--device``.

    Parameters
    ----------
    spec : str, int or None
        A device index, a (case-insensitive) part of a device name, or None for
        the default input device. An exact name wins over substring matches.

    Returns
    -------
    index : int
        A PortAudio device index with at least one input channel.

    Raises
    ------
    AudioInputError
        If there is no input device, the index does not exist or has no input,
        or the name matches no input device or several.
    """
    sd = _sounddevice()
    try:
        devices = list(sd.query_devices())
        default_in = sd.default.device[0]
    except Exception as e:
        raise AudioInputError(f"cannot list audio devices: {one_line(e)}") from e
    inputs = [d for d in devices if d["max_input_channels"] > 0]
    if not inputs:
        raise AudioInputError(f"no audio input device found ({LIST_DEVICES_HINT})")
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        if default_in is None or default_in < 0:
            # No default: take the first input device.
            return int(inputs[0]["index"])
        return int(default_in)
    text = str(spec).strip()
    if isinstance(spec, int) or text.lstrip("-").isdigit():
        idx = int(text)
        if not 0 <= idx < len(devices):
            raise AudioInputError(f"no audio device with index {idx} ({LIST_DEVICES_HINT})")
        if devices[idx]["max_input_channels"] <= 0:
            raise AudioInputError(f"audio device {idx} ({devices[idx]['name']}) has no input channels "
                                  f"({LIST_DEVICES_HINT})")
        return idx
    low = text.lower()
    exact = [d for d in inputs if d["name"].lower() == low]
    if len(exact) == 1:
        return int(exact[0]["index"])
    matches = [d for d in inputs if low in d["name"].lower()]
    if not matches:
        raise AudioInputError(f"no audio input device matches '{text}' ({LIST_DEVICES_HINT})")
    if len(matches) > 1:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in matches)
        raise AudioInputError(f"'{text}' matches several input devices ({names}); give an index or a longer name")
    return int(matches[0]["index"])


def choose_capture_rate(device: int, wanted_hz: int, forced_hz: int | None = None) -> int:
    """The rate to open the device at.

    Parameters
    ----------
    device : int
        PortAudio device index.
    wanted_hz : int (Hz)
        The bundle's rate: used if the device supports it.
    forced_hz : int or None (Hz)
        A rate the user asked for (``--device-rate``); it must be supported.

    Returns
    -------
    rate_hz : int (Hz)
        ``forced_hz``, else ``wanted_hz`` if supported, else the device's default rate.

    Raises
    ------
    AudioInputError
        If the device refuses ``forced_hz``, or refuses both ``wanted_hz`` and its default rate.
    """
    sd = _sounddevice()
    info = sd.query_devices(device)

    def ok(rate: int) -> str | None:
        try:
            sd.check_input_settings(device=device, samplerate=rate, channels=1, dtype="float32")
            return None
        except Exception as e:
            return one_line(e)

    if forced_hz is not None:
        err = ok(int(forced_hz))
        if err:
            raise AudioInputError(f"audio device {device} ({info['name']}) refuses a sample rate of "
                                  f"{forced_hz} Hz: {err}")
        return int(forced_hz)
    if ok(int(wanted_hz)) is None:
        return int(wanted_hz)
    default_hz = int(round(info["default_samplerate"]))
    err = ok(default_hz)
    if err:
        raise AudioInputError(f"audio device {device} ({info['name']}) refuses {wanted_hz} Hz and its default "
                              f"rate {default_hz} Hz: {err}")
    return default_hz


@dataclass
class CaptureStats:
    """Counters of a :class:`Microphone`.

    Attributes
    ----------
    received_samples : int
        Samples handed to the consumer (device rate).
    dropped_samples : int
        Samples dropped because the queue was full (processing fell behind).
    max_queue_s : float (s)
        Most audio ever waiting in the queue.
    status_flags : int
        Callbacks that reported a PortAudio status (overflow and others).
    """

    received_samples: int = 0
    dropped_samples: int = 0
    max_queue_s: float = 0.0
    status_flags: int = 0


class Microphone:
    """Capture from an input device through a callback and a bounded queue.

    The PortAudio callback only stamps the time, copies the block and puts it
    in the queue with ``put_nowait``; a full queue drops the block and counts it
    (PulseAudio never reports input overflow, so the queue is what tells that
    processing fell behind). Errors in the callback are handed to the consumer.

    Parameters
    ----------
    device : int
        PortAudio device index (see :func:`resolve_input_device`).
    sample_rate_hz : int (Hz)
        Rate to open the device at (see :func:`choose_capture_rate`).
    block_ms : float > 0 (ms)
        Block duration requested from PortAudio.
    queue_s : float > 0 (s)
        Audio the queue can hold before blocks are dropped.
    stall_timeout_s : float > 0 (s)
        No block for this long means the device or the audio server went away.

    Examples
    --------
    >>> with Microphone(device, 22050) as mic:                  # doctest: +SKIP
    ...     for block, t_end in mic.blocks():
    ...         ...
    """

    def __init__(self, device: int, sample_rate_hz: int, *, block_ms: float = C.CAPTURE_BLOCK_MS,
                 queue_s: float = C.CAPTURE_QUEUE_S, stall_timeout_s: float = C.CAPTURE_STALL_TIMEOUT_S) -> None:
        if sample_rate_hz <= 0 or block_ms <= 0 or queue_s <= 0:
            raise ValueError(f"need sample_rate_hz, block_ms, queue_s > 0, got {sample_rate_hz}, {block_ms}, {queue_s}")
        self.device = device
        self.sample_rate_hz = int(sample_rate_hz)
        self.block_samples = max(1, int(round(block_ms * sample_rate_hz / 1000.0)))
        max_blocks = max(2, int(math.ceil(queue_s * sample_rate_hz / self.block_samples)))
        self._queue: queue.Queue = queue.Queue(maxsize=max_blocks)
        self.stall_timeout_s = stall_timeout_s
        self.stats = CaptureStats()
        self._error: BaseException | None = None
        self._finished = threading.Event()
        #: Set by :meth:`close`: the callback then ends the stream itself (see there).
        self._closing = False
        self._stream = None
        self.name = ""
        #: Input latency PortAudio reports for the open stream (s): device/server buffering before the callback.
        self.input_latency_s = 0.0

    # -- PortAudio thread ------------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:  # pragma: no cover - runs in PortAudio
        if self._closing:
            raise self._sd.CallbackAbort  # close() asked: PortAudio ends its callback thread by itself
        try:
            t = time.monotonic()
            if status:
                self.stats.status_flags += 1
            block = indata[:, 0].copy() if indata.shape[1] == 1 else indata.mean(axis=1, dtype=np.float32)
            try:
                self._queue.put_nowait((block, t))
            except queue.Full:
                self.stats.dropped_samples += frames
        except BaseException as e:  # handed to the consumer; PortAudio would swallow it
            self._error = e
            raise self._sd.CallbackAbort from e

    def _on_finished(self) -> None:  # pragma: no cover - runs in PortAudio
        self._finished.set()

    # -- consumer --------------------------------------------------------------
    def __enter__(self) -> "Microphone":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Open and start the input stream.

        Raises
        ------
        AudioInputError
            If PortAudio cannot open or start the device at this rate.
        """
        sd = self._sd = _sounddevice()
        try:
            self.name = sd.query_devices(self.device)["name"]
            self._stream = sd.InputStream(
                device=self.device, samplerate=self.sample_rate_hz, channels=1, dtype="float32",
                blocksize=self.block_samples, callback=self._callback, finished_callback=self._on_finished,
            )
            self._stream.start()
            self.input_latency_s = float(self._stream.latency or 0.0)
        except Exception as e:
            self.close()
            raise AudioInputError(f"cannot open audio device {self.device} ({self.name or '?'}) at "
                                  f"{self.sample_rate_hz} Hz: {one_line(e)}") from e

    def close(self) -> None:
        """End and close the stream; idempotent.

        The callback is asked to end the stream itself (it raises ``CallbackAbort`` at its next
        call), and close waits up to ``CAPTURE_CLOSE_WAIT_S`` for that. Only if no callback comes
        (the server or device is gone) is the stream aborted from here: PortAudio's ALSA host
        API aborts by cancelling its callback thread, which may be inside the Python callback.
        Never ``stop``: it waits for buffers that may never drain.
        """
        s, self._stream = self._stream, None
        if s is None:
            return
        self._closing = True
        try:
            if s.active and not self._finished.wait(C.CAPTURE_CLOSE_WAIT_S):
                log.debug("no callback within %g s: aborting the input stream", C.CAPTURE_CLOSE_WAIT_S)
            if s.active:
                s.abort(ignore_errors=True)
            s.close(ignore_errors=True)
        except Exception as e:  # the server may already be gone
            log.debug("closing the input stream: %s", e)

    @property
    def queue_s(self) -> float:
        """Audio waiting in the queue now (s)."""
        return self._queue.qsize() * self.block_samples / self.sample_rate_hz

    def blocks(self, *, poll_s: float = 0.1) -> Iterator[tuple[np.ndarray, float]]:
        """Yield the captured blocks, in order, until :meth:`close`.

        Yields
        ------
        block : np.ndarray [shape=(n,), dtype=float32]
            Mono samples at ``sample_rate_hz``.
        t_end : float (s, ``time.monotonic()`` clock)
            When the block's last sample was captured: the time the callback received the block,
            minus the input latency PortAudio reports for the stream (:attr:`input_latency_s`).

        Raises
        ------
        AudioInputError
            If the callback failed, the stream stopped, or no audio came for
            ``stall_timeout_s`` (the audio server or the device went away).
        """
        last = time.monotonic()
        while self._stream is not None:
            try:
                block, t = self._queue.get(timeout=poll_s)
            except queue.Empty:
                self._check(last)
                continue
            last = time.monotonic()
            self.stats.received_samples += block.shape[0]
            q = self.queue_s
            if q > self.stats.max_queue_s:
                self.stats.max_queue_s = q
            yield block, t - self.input_latency_s

    def _check(self, last: float) -> None:
        if self._error is not None:
            raise AudioInputError(f"audio capture failed: {one_line(self._error)}") from self._error
        stream = self._stream
        if stream is None:
            return
        if self._finished.is_set() or not stream.active:
            raise AudioInputError(f"the audio input stream of device {self.device} ({self.name}) stopped "
                                  "(device unplugged or audio server gone)")
        if time.monotonic() - last > self.stall_timeout_s:
            raise AudioInputError(f"no audio from device {self.device} ({self.name}) for "
                                  f"{self.stall_timeout_s:g} s (device unplugged or audio server gone)")


__all__ = ["CaptureStats", "LIST_DEVICES_HINT", "Microphone", "choose_capture_rate", "list_devices_text",
           "resolve_input_device"]
