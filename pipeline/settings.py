"""Strict settings: a params section parsed into a dataclass, so an unknown key or an
out-of-range value fails at once with a message naming the key, the value and what is allowed.

Each method's settings dataclass (in its model file) holds every default once; params.yaml
holds only what differs from it."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from pipeline.errors import ParamsError

__all__ = ["ParamsError", "check", "parse", "positive", "positive_ints", "rates"]

T = TypeVar("T")


def parse(cls: type[T], values: dict | None, where: str) -> T:
    """`cls(**values)`, refusing keys `cls` does not define; `where` names the params section."""
    values = dict(values or {})
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(known)}")
    try:
        return cls(**values)
    except ParamsError as err:
        raise ParamsError(f"{where}.{err}") from None


def check(ok: bool, key: str, value, allowed: str) -> None:
    """Raise ParamsError('key = value: must be allowed') unless `ok`."""
    if not ok:
        raise ParamsError(f"{key} = {value!r}: must be {allowed}")


def rate(key: str, value) -> None:
    check(
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0,
        key,
        value,
        "a number in [0, 1]",
    )


def positive(key: str, value) -> None:
    check(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0, key, value, "a number > 0")


def positive_ints(settings, *keys: str) -> None:
    for key in keys:
        value = getattr(settings, key)
        check(isinstance(value, int) and not isinstance(value, bool) and value > 0, key, value, "an integer > 0")


def rates(settings, *keys: str) -> None:
    for key in keys:
        rate(key, getattr(settings, key))
