"""Progress that shows in logs (pipeline/progress.py): in a pipe or a log file a bar's `\\r`
redraws show nothing until a stage ends, so there it writes a line per 10% or per minute."""

from __future__ import annotations

import io
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tqdm import tqdm

from pipeline.errors import BadInput
from pipeline.progress import MODE_ENV, LineProgress, mode, progress_bar

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _auto_mode(monkeypatch):
    monkeypatch.delenv(MODE_ENV, raising=False)


def test_a_real_call_site_in_a_pipe_writes_lines_before_the_loop_ends(tmp_path):
    """A stage's batches (encoders._batches: the embed stage's bar) piped as `dvc repro > log`
    pipes them: the 50% line must reach the reader while the loop still waits in the middle.
    A tqdm bar writes `\\r` redraws and no line until it closes, so this read would time out."""
    go = tmp_path / "go"
    child = (
        "import pathlib, time\n"
        "from pipeline.features.encoders import _batches\n"
        "for start in _batches(100, 10, 'embed text', True):\n"
        "    if start == 50:\n"
        f"        while not pathlib.Path({str(go)!r}).exists():\n"
        "            time.sleep(0.05)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != MODE_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-c", child], cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr])
    reader.start()
    seen = []
    try:
        while not any("5/10" in line for line in seen):
            seen.append(lines.get(timeout=120))  # torch's import takes seconds; a tqdm bar never sends the line
    except queue.Empty:
        pytest.fail(f"no line with 5/10 while the loop waited in the middle; stderr lines: {seen}")
    finally:
        go.touch()
        proc.wait(timeout=120)
        reader.join(timeout=60)
    shown = [line for line in seen if line.startswith("embed text")]
    assert [re.sub(r", .*", "", line.rstrip("\n")) for line in shown] == [
        f"embed text: {k}/10 batch ({10 * k}%)" for k in range(1, 6)
    ]
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert proc.returncode == 0, "".join(seen + rest)
    assert [line for line in rest if line.startswith("embed text")][-1].startswith("embed text: done, 10/10 batch")


def test_not_a_terminal_gives_a_line_per_tenth_with_counts_and_a_final_line(capsys):
    for _ in progress_bar(range(40), desc="semantics", unit="doc"):
        pass
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 10 and "\r" not in err
    expected = [f"semantics: {4 * k}/40 doc ({10 * k}%)" for k in range(1, 10)]
    assert [line.split(",")[0] for line in lines[:9]] == expected
    assert lines[-1].startswith("semantics: done, 40/40 doc (100%), ") and lines[-1].endswith(" elapsed")


def test_counts_have_thousands_separators_rate_and_elapsed_time():
    clock, out = FakeClock(), io.StringIO()
    bar = LineProgress(total=4000, desc="embed text", unit="text", file=out, clock=clock)
    clock.now += 29.1
    bar.update(1200)
    assert out.getvalue() == "embed text: 1,200/4,000 text (30%), 41.2 text/s, 29 s elapsed\n"


def test_a_minute_without_a_line_gives_one_even_below_the_next_tenth():
    clock, out = FakeClock(), io.StringIO()
    bar = LineProgress(total=1000, desc="llm veracity", unit="item", file=out, clock=clock)
    for _ in range(5):
        clock.now += 12.5  # 62.5 s for 5 items, far below 10% of 1,000
        bar.update()
    assert out.getvalue() == "llm veracity: 5/1,000 item (0%), 12.5 s/item, 1 min 02 s elapsed\n"
    clock.now += 30
    bar.update()  # 30 s after the last line: nothing
    assert out.getvalue().count("\n") == 1


def test_without_a_total_lines_come_by_time_only():
    clock, out = FakeClock(), io.StringIO()
    with LineProgress(desc="items", unit="item", file=out, clock=clock) as bar:
        for _ in range(10):
            clock.now += 20
            bar.update(100)
    assert out.getvalue().splitlines() == [
        "items: 300 item, 5.0 item/s, 1 min 00 s elapsed",
        "items: 600 item, 5.0 item/s, 2 min 00 s elapsed",
        "items: 900 item, 5.0 item/s, 3 min 00 s elapsed",
        "items: done, 1,000 item, 5.0 item/s, 3 min 20 s elapsed",
    ]


def test_the_interface_the_code_base_uses():
    """inside.py: iterate, set_postfix, break, close(); annotate.py/predict.py: a context manager
    with update(n)."""
    clock, out = FakeClock(), io.StringIO()
    bar = LineProgress(range(30), desc="inside seed 1", unit="epoch", file=out, clock=clock)
    for epoch in bar:
        clock.now += 2
        bar.set_postfix(val_macro_f1=0.812345)
        if epoch == 9:
            break
    bar.close()
    bar.close()
    bar.update(5)  # after close: ignored, as tqdm does
    lines = out.getvalue().splitlines()
    assert lines[0] == "inside seed 1: 3/30 epoch (10%), 2.0 s/epoch, 6.0 s elapsed, val_macro_f1=0.8123"
    assert lines[-1] == "inside seed 1: stopped, 9/30 epoch (30%), 2.2 s/epoch, 20 s elapsed, val_macro_f1=0.8123"
    assert len(lines) == 4


def test_every_update_writes_a_line_per_update():
    out = io.StringIO()
    with LineProgress(total=3, desc="fnd predict: scoring", unit="seed", every_update=True, file=out) as bar:
        for _ in range(3):
            bar.update()
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == [
        "fnd predict: scoring: 1/3 seed (33%)",
        "fnd predict: scoring: 2/3 seed (66%)",
        "fnd predict: scoring: done",
    ]


def test_nothing_to_do_writes_nothing():
    out = io.StringIO()
    for _ in LineProgress(range(0), desc="similarity tiles", file=out):
        pass
    assert out.getvalue() == ""


def test_fnd_progress_forces_a_mode(monkeypatch, capsys):
    assert mode() == "lines"  # pytest's stderr is not a terminal
    monkeypatch.setenv(MODE_ENV, "bars")
    assert isinstance(progress_bar(range(3), desc="x"), tqdm)
    monkeypatch.setenv(MODE_ENV, "off")
    assert list(progress_bar(range(3), desc="x")) == [0, 1, 2]
    monkeypatch.setenv(MODE_ENV, "lines")
    assert isinstance(progress_bar(range(3), desc="x"), LineProgress)
    assert isinstance(progress_bar(range(3), desc="x", disable=True), tqdm)  # disabled: shows nothing
    capsys.readouterr()
    monkeypatch.setenv(MODE_ENV, "loud")
    with pytest.raises(BadInput, match=r"\$FND_PROGRESS='loud': use one of bars, lines, off"):
        progress_bar(range(3))


def test_a_terminal_gets_a_tqdm_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert mode(Terminal()) == "bars"
    assert isinstance(progress_bar(range(3), desc="x", file=Terminal()), tqdm)


def test_every_progress_bar_in_the_pipeline_goes_through_pipeline_progress():
    """A direct tqdm bar would be silent in a log again."""
    direct = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("pipeline", "stages")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "progress.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bfrom tqdm\b|\bimport tqdm\b|\btqdm\(", line)
    ]
    assert direct == []
