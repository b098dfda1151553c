"""The live terminal view of ``listen`` (rich), fed through a size-1 queue.

The audio loop never waits for the terminal: it :meth:`LiveDisplay.publish`-es
a :class:`DisplayState` snapshot, replacing any snapshot not yet drawn; a
display thread draws the latest one at :data:`~realtime.constants.DISPLAY_REFRESH_HZ`.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from . import constants as C

#: A 3x5 block font for the last digit ("?" unknown speech, "·" a noise, "-" before the first decision).
_FONT = {
    "0": ["███", "█ █", "█ █", "█ █", "███"],
    "1": [" █ ", "██ ", " █ ", " █ ", "███"],
    "2": ["███", "  █", "███", "█  ", "███"],
    "3": ["███", "  █", "███", "  █", "███"],
    "4": ["█ █", "█ █", "███", "  █", "  █"],
    "5": ["███", "█  ", "███", "  █", "███"],
    "6": ["███", "█  ", "███", "█ █", "███"],
    "7": ["███", "  █", "  █", "  █", "  █"],
    "8": ["███", "█ █", "███", "█ █", "███"],
    "9": ["███", "█ █", "███", "  █", "███"],
    "?": ["███", "  █", " ██", "   ", " █ "],
    "-": ["   ", "   ", "███", "   ", "   "],
    "·": ["   ", "   ", " █ ", "   ", "   "],
}


def big_text(symbol: str) -> str:
    """``symbol`` drawn 5 lines high, each cell doubled in width (unknown symbols as ``?``)."""
    rows = []
    for r in range(5):
        rows.append("  ".join("".join(ch * 2 for ch in _FONT.get(s, _FONT["?"])[r]) for s in symbol))
    return "\n".join(rows)


@dataclass
class DisplayState:
    """What the view shows; a snapshot made by the audio loop.

    Attributes
    ----------
    level_dbfs : float (dBFS)
        Input level of the last frame.
    noise_floor_dbfs : float (dBFS)
    state : str
        ``"warming up"``, ``"listening"`` or ``"speech"``.
    last_symbol : str
        Last digit, ``?`` for a rejection, ``-`` before any decision.
    last_confidence : float or None
    last_latency_ms : float or None (ms)
    history : list of str
        Last decisions, oldest first.
    dropped_s : float (s)
        Audio dropped because processing fell behind.
    queue_s : float (s)
        Audio waiting to be processed.
    elapsed_s : float (s)
        Audio received so far.
    device : str
        Device name and rates, for the title.
    threshold : float
    """

    level_dbfs: float = C.METER_FLOOR_DBFS
    noise_floor_dbfs: float = C.METER_FLOOR_DBFS
    state: str = "warming up"
    last_symbol: str = "-"
    last_confidence: float | None = None
    last_latency_ms: float | None = None
    history: list[str] = field(default_factory=list)
    dropped_s: float = 0.0
    queue_s: float = 0.0
    elapsed_s: float = 0.0
    device: str = ""
    threshold: float = C.DEFAULT_THRESHOLD


def _meter(level_dbfs: float, floor_dbfs: float, width: int = 40) -> str:
    lo = C.METER_FLOOR_DBFS
    frac = min(max((level_dbfs - lo) / -lo, 0.0), 1.0)
    mark = int(round(min(max((floor_dbfs - lo) / -lo, 0.0), 1.0) * (width - 1)))
    n = int(round(frac * width))
    cells = ["█" if i < n else "·" for i in range(width)]
    cells[mark] = "|"
    return "".join(cells)


def render(state: DisplayState):
    """The rich renderable of one :class:`DisplayState`."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="bold")
    grid.add_column()
    color = {"speech": "bold green", "listening": "cyan"}.get(state.state, "yellow")
    grid.add_row("state", Text(state.state, style=color))
    grid.add_row("level", Text(f"{_meter(state.level_dbfs, state.noise_floor_dbfs)} {state.level_dbfs:6.1f} dBFS "
                               f"(floor | {state.noise_floor_dbfs:.0f})"))
    digit_style = "bold red" if state.last_symbol in ("?", "·") else "bold white"
    grid.add_row("digit", Text(big_text(state.last_symbol), style=digit_style))
    conf = "" if state.last_confidence is None else f"{state.last_confidence:.0%}"
    lat = "" if state.last_latency_ms is None else f"   latency {state.last_latency_ms:.0f} ms"
    grid.add_row("confidence", Text(f"{conf}   (threshold {state.threshold:.0%}){lat}"))
    grid.add_row("history", Text(" ".join(state.history[-C.HISTORY_LENGTH:]) or "(none yet)"))
    dropped_style = "bold red" if state.dropped_s > 0 else ""
    grid.add_row("dropped", Text(f"{state.dropped_s:.2f} s of audio (processing fell behind)   "
                                 f"queue {state.queue_s * 1000:.0f} ms", style=dropped_style))
    grid.add_row("listened", Text(f"{state.elapsed_s:.1f} s    Ctrl-C to quit"))
    return Panel(grid, title=f"spoken-digits listen: {state.device}", expand=False)


class LiveDisplay:
    """A rich Live view drawn by its own thread from the latest published state.

    Parameters
    ----------
    refresh_hz : float > 0 (Hz)
    console : rich.console.Console, optional
    """

    def __init__(self, *, refresh_hz: float = C.DISPLAY_REFRESH_HZ, console=None) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=1)
        self._period_s = 1.0 / refresh_hz
        self._console = console
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = None

    def publish(self, state: DisplayState) -> None:
        """Hand over the newest state, dropping one not yet drawn; never blocks."""
        try:
            self._q.get_nowait()
        except queue.Empty:
            pass
        try:
            self._q.put_nowait(state)
        except queue.Full:  # another publisher won the race; its state is as new
            pass

    def __enter__(self) -> "LiveDisplay":
        from rich.live import Live

        self._live = Live(render(DisplayState()), console=self._console, auto_refresh=False, transient=False)
        self._live.start()
        self._thread = threading.Thread(target=self._run, name="display", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                state = self._q.get(timeout=self._period_s)
            except queue.Empty:
                continue
            self._live.update(render(state), refresh=True)
            self._stop.wait(self._period_s)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        try:  # draw the final state
            state = self._q.get_nowait()
            self._live.update(render(state), refresh=True)
        except queue.Empty:
            pass
        self._live.stop()
