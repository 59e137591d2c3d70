"""LLM cache commits: by time as well as every batches_per_commit batches (llm.commit_seconds), and
a real `python -m stages.llm` run killed with SIGKILL resumes without recomputing what it had
committed and writes the same table as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.errors import ParamsError
from pipeline.llm.annotate import Annotator, commit_seconds
from pipeline.llm.cache import ResultCache
from stages import llm as llm_stage

ROOT = Path(__file__).resolve().parents[1]
DATASET = "tiny"
WORDS = "the senator said storm flooded city photo shows shark on highway after hurricane sandy hits new york".split()


def committed_rows(path: Path) -> int:
    """Rows committed to the cache file, seen from a connection of our own (0 before its table exists)."""
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def articles(n: int) -> pd.DataFrame:
    """`n` short posts of varied length, one empty and one repost of another (same cache key)."""
    texts = [f"Post {i}: " + " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(5 + 3 * i)) for i in range(n)]
    texts[3], texts[5] = "", texts[4]
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "text": texts,
            "lang": "en",
            "label": [i % 2 for i in range(n)],
            "split": [("train", "val", "test")[i % 3] for i in range(n)],
        }
    )


# ------------------------------------------------------------------ time-based commits (no model)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SecondPerBatch:
    """A backend whose every call takes one second of `clock` and records how many rows the cache
    file had committed (seen from another connection) when the call began."""

    context = 2048

    def __init__(self, clock: FakeClock, cache_path: Path):
        self.clock, self.cache_path, self.seen = clock, cache_path, []

    def truncate(self, text, max_tokens):
        return text, False

    def score_labels(self, chats, labels):
        self.seen.append(committed_rows(self.cache_path))
        self.clock.now += 1.0
        return [{"fake": 0.25, "real": 0.75, "mass": 0.5} for _ in chats]


def _score(tmp_path: Path, seconds: float) -> tuple[list[int], dict]:
    path, clock = tmp_path / f"c{seconds}.sqlite", FakeClock()
    backend = SecondPerBatch(clock, path)
    cache = ResultCache(path)
    cfg = {"batch_size": 1, "batches_per_commit": 4, "commit_seconds": seconds}
    annotator = Annotator(cfg, cache, lambda: backend, clock=clock)
    try:
        _, _, stats = annotator.run_task("veracity", articles(8).drop([3, 5]).reset_index(drop=True), progress=False)
    finally:
        cache.close()
    return backend.seen, stats


def test_cache_commits_once_commit_seconds_have_passed_before_batches_per_commit_batches(tmp_path):
    # six posts, one a batch, one (fake) second a batch; batches_per_commit 4
    by_count, stats = _score(tmp_path, seconds=1000)
    assert by_count == [0, 0, 0, 0, 4, 4] and stats["commits"] == 2
    by_time, stats = _score(tmp_path, seconds=2)
    assert by_time == [0, 0, 2, 2, 4, 4] and stats["commits"] == 3  # after batches 2, 4 and 6
    assert stats["computed"] == 6


@pytest.mark.parametrize("value", [0, -1, "30", True, float("nan")])
def test_commit_seconds_must_be_a_positive_number(value):
    with pytest.raises(ParamsError, match=r"llm\.commit_seconds = .*: must be a number > 0"):
        commit_seconds({"commit_seconds": value})
    assert commit_seconds({}) == 30 and commit_seconds({"commit_seconds": 0.5}) == 0.5


def test_the_stage_refuses_a_bad_commit_seconds_before_loading_a_model(tmp_path, monkeypatch):
    def no_backend():
        raise AssertionError("no model should load")

    (tmp_path / "data" / "interim" / DATASET).mkdir(parents=True)
    articles(6).to_parquet(tmp_path / "data" / "interim" / DATASET / "articles.parquet", index=False)
    monkeypatch.chdir(tmp_path)
    params = {"llm": {"commit_seconds": 0, "cache_dir": "cache"}}
    with pytest.raises(ParamsError, match=r"llm\.commit_seconds = 0: must be a number > 0"):
        llm_stage.run(DATASET, params, progress=False, backend_factory=no_backend)
    assert not (tmp_path / "data" / "processed").exists()


# ------------------------------------------------------------------ kill -9 and resume (real stage)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """tests/tiny_llm.py's Llama saved as a local checkpoint (`hf:<path>`)."""
    from tiny_llm import tiny_llama

    path = tmp_path_factory.mktemp("tiny_llama")
    tokenizer, model = tiny_llama(0)
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return path


def _workdir(folder: Path, model: Path, cache_dir: Path) -> Path:
    """A project folder: params.yaml (one item a batch, a commit every 0.2 s) and the articles."""
    params = {
        "llm": {
            "backend": "transformers",
            "model": f"hf:{model}",
            "device": "cpu",
            "batch_size": 1,
            "batches_per_commit": 1000,  # only the time rule commits before the end
            "commit_seconds": 0.2,
            "max_input_tokens": 128,
            "cache_dir": str(cache_dir),
            "zero_shot": {"datasets": [DATASET]},
        }
    }
    (folder / "data" / "interim" / DATASET).mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    articles(40).to_parquet(folder / "data" / "interim" / DATASET / "articles.parquet", index=False)
    return folder


def _stage(folder: Path) -> subprocess.Popen:
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "stages.llm", "veracity", DATASET, "--params", "params.yaml"]
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(folder: Path) -> dict:
    proc = _stage(folder)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads((folder / "data" / "processed" / DATASET / "llm_report.json").read_text())


def _kill_after_first_commit(folder: Path, cache: Path) -> int:
    """Start the stage, SIGKILL it as soon as the cache has committed rows; the rows it kept."""
    proc, started = _stage(folder), time.monotonic()
    deadline = started + 120
    # the cache switches to WAL (the -wal file appears) before it creates its table: wait for it
    while not (Path(f"{cache}-wal").exists() and committed_rows(cache)):
        assert proc.poll() is None, f"the stage ended before its first commit: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, "no commit within 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    kept = committed_rows(cache)
    print(f"killed {time.monotonic() - started:.1f} s after the start, {kept} rows committed")
    return kept


def _computed(report: dict) -> int:
    return sum(task["computed"] for task in report["tasks"].values())


@pytest.mark.slow  # three stage processes (torch and transformers imports) and the tokenizer from GGUF
def test_killed_stage_resumes_without_recomputing_and_writes_the_uninterrupted_table(tiny_model, tmp_path):
    cache = tmp_path / "cache"
    killed = _workdir(tmp_path / "killed", tiny_model, cache)
    kept = _kill_after_first_commit(killed, cache / "results.sqlite")
    assert not (killed / "data" / "processed").exists()

    resumed = _finish(killed)
    reference = _finish(_workdir(tmp_path / "reference", tiny_model, tmp_path / "reference_cache"))
    total = _computed(reference)  # 39 non-empty posts, one a repost: 38 scored, 38 zero-shot answers
    assert total == 76 and 0 < kept < total
    assert _computed(resumed) == total - kept  # nothing committed before the kill was recomputed
    assert sum(task["from_cache"] for task in resumed["tasks"].values()) == kept
    assert committed_rows(cache / "results.sqlite") == total

    out, expected = (
        folder / "data" / "processed" / DATASET / "llm.parquet" for folder in (killed, tmp_path / "reference")
    )
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(expected), check_exact=True)
    assert pq.read_schema(out).metadata == pq.read_schema(expected).metadata
