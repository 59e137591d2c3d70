"""The project's expected failures: bad input, a missing file, bad params. The CLI and the stage
commands print them as one line; anything else is a bug and keeps its traceback. With
$FND_DEBUG set (or `fnd --debug`), expected failures show their traceback too."""

from __future__ import annotations

import os

DEBUG_ENV = "FND_DEBUG"


class FndError(Exception):
    """Base of the project's expected errors."""


class BadInput(FndError, ValueError):
    """A data file, an argument or an artifact's content that the pipeline cannot use."""


class MissingFile(FndError, FileNotFoundError):
    """A file the user or an earlier stage should have provided is absent."""


class ParamsError(FndError, ValueError):
    """A params.yaml value that cannot be used: unknown key, unknown name, value out of range."""


USER_ERRORS = (FndError,)


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")
