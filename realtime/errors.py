"""Exceptions of the edge runtime; the CLI prints their message as one line (exit code 1)."""


class RealtimeError(Exception):
    """Base class of every user-facing error of ``realtime``."""


class BundleError(RealtimeError):
    """A model bundle is missing, incomplete, corrupt or of an unknown spec version."""


class InterpreterMissingError(RealtimeError):
    """No TFLite interpreter package is installed."""


class AudioInputError(RealtimeError):
    """An audio file or device cannot be used (unreadable, empty, refused rate, no device...)."""


def one_line(e: BaseException) -> str:
    """An exception's message on one line (whitespace collapsed), or its type's name if it has none."""
    text = " ".join(str(e).split())
    return text or type(e).__name__
