"""Progress that shows in a terminal and in a log.

`progress_bar(...)` takes tqdm's arguments and returns a tqdm bar when stderr is a terminal. When it
is not (`dvc repro > log`, a pipe, CI), a bar's `\\r` redraws show nothing until the stage ends,
so it returns a `LineProgress` instead: one plain line on stderr each time another 10% of the
total is done, or a minute has passed since the last line (only by time when the total is
unknown), and a final line:

    semantics: 1,200/4,000 doc (30%), 41.2 doc/s, 29 s elapsed
    semantics: done, 4,000/4,000 doc (100%), 41.3 doc/s, 97 s elapsed

$FND_PROGRESS forces a mode: `bars` (tqdm even in a pipe), `lines` (even in a terminal) or `off`.
Both kinds have the interface the code base uses: iteration, `update(n)`, `close()`, a
context manager, `set_postfix` and `set_description`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator

from tqdm.auto import tqdm

from pipeline.errors import BadInput

MODE_ENV = "FND_PROGRESS"
MODES = ("bars", "lines", "off")
STEP = 0.1  # a line each time another tenth of the total is done ...
INTERVAL = 60.0  # ... or this many seconds after the last line, whichever comes first


def mode(stream=None) -> str:
    """`bars`, `lines` or `off`: $FND_PROGRESS when set, else bars on a terminal and lines otherwise."""
    forced = os.environ.get(MODE_ENV, "").strip().lower()
    if forced in ("", "auto"):
        stream = stream if stream is not None else sys.stderr
        try:
            return "bars" if stream.isatty() else "lines"
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            return "lines"
    if forced not in MODES:
        raise BadInput(
            f"${MODE_ENV}={forced!r}: use one of {', '.join(MODES)} "
            "(or leave it unset: bars on a terminal, lines in a pipe or a log)"
        )
    return forced


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool = False,
    leave: bool = True,
    every_update: bool = False,
    file=None,
):
    """A progress bar for `iterable` (or for manual `update(n)` calls up to `total`).

    `disable` shows nothing; `leave=False` clears a terminal bar when it ends (a log keeps its
    lines); `every_update` shows every update, for updates seconds apart (a terminal bar
    redraws at each, a log gets a line for each)."""
    chosen = "off" if disable else mode(file)
    if chosen == "lines":
        return LineProgress(iterable, total=total, desc=desc, unit=unit, every_update=every_update, file=file)
    extra = {"mininterval": 0, "miniters": 1} if every_update else {}
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, disable=chosen == "off", file=file, **extra)


class LineProgress:
    """tqdm's interface, writing whole lines (see the module docstring) instead of redrawing a bar."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: float | None = None,
        desc: str = "",
        unit: str = "it",
        every_update: bool = False,
        file=None,
        clock=time.monotonic,
        step: float = STEP,
        interval: float = INTERVAL,
    ):
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = 0
        self.postfix = ""
        self.every_update, self.file, self.interval = every_update, file, interval
        self._clock = clock
        self._start = self._last_line = clock()
        self._steps = max(1, round(1 / step))  # 10 for a line per 10%
        self._done_steps = 0  # the steps a line was written for
        self._closed = False

    # --- tqdm's interface ---

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:  # the loop ended, or broke off (the generator is closed when dropped)
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        if self._closed or not n:
            return
        self.n += n
        if self.total and self.n >= self.total:
            return  # the final line says it (close() follows)
        now = self._clock()
        steps = int(self.n * self._steps // self.total) if self.total else 0
        if self.every_update or steps > self._done_steps or now - self._last_line >= self.interval:
            self._done_steps = max(self._done_steps, steps)
            self._write(self.line(now))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.n or self.total:
            finished = not self.total or self.n >= self.total
            self._write(self.line(self._clock(), "done" if finished else "stopped"))

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        values = dict(ordered_dict or {}) | kwargs
        self.postfix = ", ".join(f"{key}={_value(value)}" for key, value in values.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        pass

    # --- the line ---

    def line(self, now: float, state: str = "") -> str:
        """`desc: [state, ]n/total unit (pct%), rate, elapsed[, postfix]`."""
        elapsed = now - self._start
        if self.total:
            count = f"{_count(self.n)}/{_count(self.total)} {self.unit} ({int(100 * self.n // self.total)}%)"
        else:
            count = f"{_count(self.n)} {self.unit}"
        parts = [f"{state}, {count}" if state else count]
        if self.n and elapsed > 0:
            rate = self.n / elapsed
            parts.append(f"{rate:,.1f} {self.unit}/s" if rate >= 1 else f"{1 / rate:,.1f} s/{self.unit}")
        parts.append(f"{_duration(elapsed)} elapsed")
        if self.postfix:
            parts.append(self.postfix)
        return f"{self.desc}: " * bool(self.desc) + ", ".join(parts)

    def _write(self, text: str) -> None:
        self._last_line = self._clock()
        print(text, file=self.file if self.file is not None else sys.stderr, flush=True)


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    """3.2 s, 29 s, 4 min 03 s, 1 h 02 min."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
