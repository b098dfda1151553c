"""Exceptions of the trainer: one type per kind of user-facing problem."""


class SpokenDigitsError(Exception):
    """Base class; the CLI turns it into one clear line and exit code 1."""


class DataError(SpokenDigitsError):
    """A data directory or audio file cannot be used; the message names it."""


class RunError(SpokenDigitsError):
    """A run directory is missing, incomplete or from an incompatible version."""
