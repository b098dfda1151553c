"""What the running process costs: its peak resident memory.

Used by ``listen --stats`` and by the edge-only process of ``spoken-digits bench``
(:mod:`export.edge_worker`); standard library only.
"""
from __future__ import annotations

import resource
import sys


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB.

    ``VmHWM`` of ``/proc/self/status`` on Linux: it restarts at ``exec``, unlike
    ``getrusage``'s ``ru_maxrss``, which keeps the peak of the parent that forked us
    (a test runner or a bench process with TensorFlow loaded made it read 257 MB
    instead of 70 MB). Elsewhere, ``ru_maxrss`` (bytes on macOS, KiB on other systems).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


__all__ = ["peak_rss_mb"]
