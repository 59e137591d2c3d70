"""The project's expected failures: bad input, a missing artifact, bad params. The CLI and the
stage commands print them as one line; anything else is a bug and keeps its traceback."""

from __future__ import annotations


class FndError(Exception):
    """Base of the project's expected errors."""


# What the commands print as one line: the project's errors, plus the built-in ones its library
# code raises for a missing file or an inconsistent artifact ("…; re-run embed").
USER_ERRORS = (FndError, FileNotFoundError, KeyError, ValueError)
