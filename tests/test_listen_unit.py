"""Capture, device selection and display logic of ``listen`` with a fake sounddevice (no sound system)."""
from __future__ import annotations

import threading
import time
import types

import numpy as np
import pytest

from realtime import microphone
from realtime.microphone import Microphone
from realtime.display import DisplayState, LiveDisplay, big_text, render
from realtime.errors import AudioInputError
from realtime.pipeline import ArrivalClock, Recognizer, iter_blocks

DEVICES = [
    {"index": 0, "name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "max_input_channels": 2,
     "default_samplerate": 48000.0, "hostapi": 0},
    {"index": 1, "name": "HDA Intel PCH: HDMI 0 (hw:0,3)", "max_input_channels": 0,
     "default_samplerate": 44100.0, "hostapi": 0},
    {"index": 2, "name": "USB PnP Sound Device: Audio (hw:1,0)", "max_input_channels": 1,
     "default_samplerate": 44100.0, "hostapi": 0},
    {"index": 3, "name": "pulse", "max_input_channels": 32, "default_samplerate": 44100.0, "hostapi": 0},
    {"index": 4, "name": "default", "max_input_channels": 32, "default_samplerate": 44100.0, "hostapi": 0},
]


class FakeSD(types.SimpleNamespace):
    """The few sounddevice calls device selection makes; ``rates`` = what each device accepts."""

    class CallbackAbort(Exception):
        pass

    def __init__(self, devices=DEVICES, default_in=4, rates=None):
        super().__init__(devices=devices, default=types.SimpleNamespace(device=[default_in, -1]), rates=rates or {})

    def query_devices(self, device=None):
        return self.devices if device is None else self.devices[device]

    def query_hostapis(self):
        return [{"name": "ALSA"}]

    def check_input_settings(self, device, samplerate, channels, dtype):
        ok = self.rates.get(device)
        if ok is not None and samplerate not in ok:
            raise Exception("Invalid sample rate [PaErrorCode -9997]")


@pytest.fixture
def fake_sd(monkeypatch):
    def install(**kw):
        sd = FakeSD(**kw)
        monkeypatch.setattr(microphone, "_sounddevice", lambda: sd)
        return sd
    return install


def test_resolve_device_by_index_name_and_default(fake_sd):
    fake_sd()
    assert microphone.resolve_input_device(None) == 4
    assert microphone.resolve_input_device("2") == 2
    assert microphone.resolve_input_device(0) == 0
    assert microphone.resolve_input_device("usb") == 2
    assert microphone.resolve_input_device("PULSE") == 3
    assert microphone.resolve_input_device("default") == 4


@pytest.mark.parametrize("spec, message", [
    ("nothing-like-this", "no audio input device matches 'nothing-like-this'"),
    ("HDA Intel", "matches several"),  # devices 0 and 5 (device 1, HDMI, has no input)
    ("1", "has no input channels"),
    ("17", "no audio device with index 17"),
])
def test_resolve_device_errors(fake_sd, spec, message):
    devices = DEVICES + [{"index": 5, "name": "HDA Intel PCH: Mic (hw:0,5)", "max_input_channels": 1,
                          "default_samplerate": 48000.0, "hostapi": 0}]
    fake_sd(devices=devices)
    with pytest.raises(AudioInputError, match=message):
        microphone.resolve_input_device(spec)


def test_no_input_device_at_all(fake_sd):
    fake_sd(devices=[DEVICES[1]], default_in=-1)
    with pytest.raises(AudioInputError, match="no audio input device found.*--list-devices"):
        microphone.resolve_input_device(None)
    assert "none: no audio input device found" in microphone.list_devices_text()


@pytest.mark.parametrize("accepted, expected", [
    ({8000, 16000, 22050, 44100, 48000}, 22050),  # the bundle's rate when the device has it
    ({48000}, 48000),  # else the device's default rate, resampled
])
def test_capture_rate_choice(fake_sd, accepted, expected):
    fake_sd(rates={0: accepted})
    assert microphone.choose_capture_rate(0, 22050) == expected


def test_capture_rate_refused(fake_sd):
    fake_sd(rates={0: {96000}})
    with pytest.raises(AudioInputError, match="refuses 22050 Hz and its default rate 48000 Hz"):
        microphone.choose_capture_rate(0, 22050)
    with pytest.raises(AudioInputError, match="refuses a sample rate of 16000 Hz"):
        microphone.choose_capture_rate(0, 22050, forced_hz=16000)
    assert microphone.choose_capture_rate(0, 22050, forced_hz=96000) == 96000


@pytest.mark.parametrize("device_rate_hz", [8000, 16000, 44100, 48000])
def test_recognizer_accepts_common_device_rates(device_rate_hz):
    """A device at 8, 16, 44.1 or 48 kHz feeds the pipeline at the bundle's rate."""
    seen = []
    rec = Recognizer(lambda w: seen.append(w) or np.full(10, 0.1, np.float32), sample_rate_hz=22050,
                     window_samples=17640, labels=[str(d) for d in range(10)], input_rate_hz=device_rate_hz)
    t = np.arange(int(0.4 * device_rate_hz)) / device_rate_hz
    tone = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    x = np.concatenate([np.zeros(device_rate_hz, np.float32), tone, np.zeros(device_rate_hz, np.float32)])
    for b in iter_blocks(x, 512):
        rec.feed(b, arrival_time=0.0)
    rec.finish()
    assert len(seen) == 1
    # The tone sits at ~1.0 s in the stream whatever the device rate.
    assert rec.segmenter.samples_seen == pytest.approx(x.size * 22050 / device_rate_hz, abs=2)


def make_mic(maxsize_blocks=3):
    mic = Microphone(0, 22050, block_ms=20.0, queue_s=maxsize_blocks * 0.02)
    mic._sd = FakeSD()
    mic._stream = types.SimpleNamespace(active=True)
    return mic


def test_callback_drops_and_counts_when_the_consumer_falls_behind():
    mic = make_mic()
    block = np.ones((441, 1), np.float32)
    for _ in range(10):
        mic._callback(block, 441, None, None)
    assert mic.stats.dropped_samples == (10 - 3) * 441
    got = []
    for b, t in mic.blocks(poll_s=0.01):
        got.append(b)
        if len(got) == 3:
            break
    assert mic.stats.received_samples == 3 * 441
    assert all(b.shape == (441,) and b.dtype == np.float32 for b in got)


def test_callback_errors_reach_the_consumer():
    mic = make_mic()
    with pytest.raises(FakeSD.CallbackAbort):
        mic._callback(None, 441, None, None)  # not an array: the copy fails in the callback
    with pytest.raises(AudioInputError, match="audio capture failed"):
        next(mic.blocks(poll_s=0.01))


def test_stream_that_stops_is_an_error():
    mic = make_mic()
    mic._stream.active = False
    with pytest.raises(AudioInputError, match="stopped"):
        next(mic.blocks(poll_s=0.01))


class FakeStream:
    """A PortAudio stream whose callback thread keeps calling ``mic._callback`` until it raises."""

    def __init__(self, mic):
        self.mic, self.active, self.calls = mic, True, []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        block = np.zeros((441, 1), np.float32)
        while self.active:
            try:
                self.mic._callback(block, 441, None, None)
            except FakeSD.CallbackAbort:  # PortAudio: the callback ended the stream
                self.active = False
                self.mic._on_finished()
            time.sleep(0.005)

    def abort(self, ignore_errors=True):
        self.calls.append("abort")
        self.active = False

    def close(self, ignore_errors=True):
        self.calls.append("close")


def test_close_lets_the_callback_end_the_stream_instead_of_aborting_it():
    # Aborting from outside cancels PortAudio's callback thread (ALSA), which can hang a process whose
    # callback waits for the GIL: while callbacks come, close() must let the callback end the stream.
    mic = make_mic(maxsize_blocks=1000)
    mic._stream = stream = FakeStream(mic)
    time.sleep(0.05)
    mic.close()
    assert stream.calls == ["close"] and not stream.active and mic._finished.is_set()
    mic.close()  # idempotent
    assert stream.calls == ["close"]


def test_close_aborts_a_stream_whose_callbacks_stopped(monkeypatch):
    monkeypatch.setattr(microphone.C, "CAPTURE_CLOSE_WAIT_S", 0.05)
    mic = make_mic()
    mic._stream = stream = types.SimpleNamespace(active=True, calls=[])
    stream.abort = lambda ignore_errors=True: (stream.calls.append("abort"), setattr(stream, "active", False))
    stream.close = lambda ignore_errors=True: stream.calls.append("close")
    mic.close()  # no callback comes (server gone): after the wait, abort
    assert stream.calls == ["abort", "close"]


def test_arrival_clock():
    c = ArrivalClock(1000)
    c.add(100, 10.0)
    c.add(100, 10.1)
    assert c.time_of(100) == pytest.approx(10.0)
    assert c.time_of(150) == pytest.approx(10.05)
    assert c.time_of(250) is None


def test_render_shows_history_digit_and_dropped_audio():
    from rich.console import Console

    con = Console(record=True, width=100)
    con.print(render(DisplayState(history=list("417?2"), last_symbol="2", last_confidence=0.93, dropped_s=0.25,
                                  state="speech", level_dbfs=-30.0, noise_floor_dbfs=-60.0, device="pulse")))
    text = con.export_text()
    assert "4 1 7 ? 2" in text and "93%" in text and "0.25 s" in text and "speech" in text
    assert big_text("2").splitlines()[0] == "██████"


def test_live_display_keeps_only_the_newest_state():
    d = LiveDisplay()
    d.publish(DisplayState(last_symbol="1"))
    d.publish(DisplayState(last_symbol="2"))
    assert d._q.qsize() == 1 and d._q.get_nowait().last_symbol == "2"
