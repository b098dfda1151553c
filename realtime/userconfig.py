"""Per-user settings: the acceptance threshold ``spoken-digits calibrate`` measured in the user's room.

One small JSON file in the platform's configuration directory
(``click.get_app_dir("spoken-digits")``: ``~/.config/spoken-digits`` on Linux,
``~/Library/Application Support/spoken-digits`` on macOS), or ``$SPOKEN_DIGITS_CONFIG``.
Thresholds are stored per model, keyed by the SHA-256 of its ``.tflite`` file, so a
threshold measured for one model is never applied to another.

``listen`` and ``recognize`` choose their threshold in this order: ``--threshold``,
this file's entry for the model, the bundle's own (chosen on validation data at
export), :data:`realtime.constants.DEFAULT_THRESHOLD`.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from . import constants as C
from .bundle import Bundle

CONFIG_ENV_VAR = "SPOKEN_DIGITS_CONFIG"
CONFIG_NAME = "thresholds.json"


def config_path() -> Path:
    """``$SPOKEN_DIGITS_CONFIG`` if set, else ``thresholds.json`` in the platform's config directory."""
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        return Path(env)
    import click

    return Path(click.get_app_dir("spoken-digits")) / CONFIG_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # a damaged file is ignored (and replaced by the next calibrate), never fatal
    return doc if isinstance(doc, dict) else {}


def user_threshold(bundle: Bundle) -> dict[str, Any] | None:
    """The calibrated entry for this bundle's model (``{"threshold", ...}``), or None."""
    entry = _read(config_path()).get(bundle.spec["files"]["tflite"]["sha256"])
    if isinstance(entry, dict) and isinstance(entry.get("threshold"), (int, float)) and 0 <= entry["threshold"] <= 1:
        return entry
    return None


def save_user_threshold(bundle: Bundle, entry: dict[str, Any]) -> Path:
    """Store ``entry`` (must hold ``threshold`` in [0, 1]) for this bundle's model, atomically.

    Raises
    ------
    ValueError
        If ``entry["threshold"]`` is missing or out of range.
    OSError
        If the configuration directory cannot be written.
    """
    t = entry.get("threshold")
    if not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {t!r}")
    path = config_path()
    doc = _read(path)
    doc[bundle.spec["files"]["tflite"]["sha256"]] = {**entry, "model": bundle.name}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def resolve_threshold(explicit: float | None, bundle: Bundle) -> tuple[float, str]:
    """The threshold to use and where it came from (for the live view and ``--json``).

    Returns
    -------
    threshold : float in [0, 1]
    source : {"--threshold", "calibrated", "model", "default"}
    """
    if explicit is not None:
        return float(explicit), "--threshold"
    entry = user_threshold(bundle)
    if entry is not None:
        return float(entry["threshold"]), "calibrated"
    if bundle.threshold is not None:
        return bundle.threshold, "model"
    return C.DEFAULT_THRESHOLD, "default"


__all__ = ["CONFIG_ENV_VAR", "config_path", "resolve_threshold", "save_user_threshold", "user_threshold"]
