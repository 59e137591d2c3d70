"""Persistent LLM result cache: one SQLite file, one row per (model, backend, prompt version,
decoding params, text) key. Answers are committed in chunks (PendingWrites: every chunk of
batches, and after any batch once `commit_seconds` have passed since the last commit), so a
killed run loses at most about `commit_seconds` plus the batch in flight, and a rerun
recomputes nothing already stored."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path


def cache_key(**parts) -> str:
    """Stable key from JSON-able parts; the text enters as its own hash."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResultCache:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.commit()

    @classmethod
    def of(cls, llm_cfg: dict) -> ResultCache:
        """The cache that params' llm section names (`cache_dir`, default .cache/llm)."""
        return cls(Path(llm_cfg.get("cache_dir", ".cache/llm")) / "results.sqlite")

    def get_many(self, keys: list[str]) -> dict[str, object]:
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.db.execute(
                f"SELECT key, value FROM results WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put_many(self, items: dict[str, object]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)",
                [(key, json.dumps(value, ensure_ascii=False)) for key, value in items.items()],
            )

    def items(self):
        """Every stored (key, answer)."""
        for key, value in self.db.execute("SELECT key, value FROM results"):
            yield key, json.loads(value)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self.db.close()


class PendingWrites:
    """Answers computed but not yet committed to `cache`. `add` commits them all once `seconds`
    have passed since the last commit (or since this object was made); `commit` commits now.
    `clock` is monotonic seconds (injectable for tests)."""

    def __init__(self, cache: ResultCache, seconds: float, clock=time.monotonic):
        self.cache, self.seconds, self.clock = cache, seconds, clock
        self.items: dict[str, object] = {}
        self.last_commit = clock()
        self.commits = 0

    def add(self, items: dict[str, object]) -> None:
        self.items |= items
        if self.clock() - self.last_commit >= self.seconds:
            self.commit()

    def commit(self) -> None:
        if self.items:
            self.cache.put_many(self.items)
            self.items = {}
            self.commits += 1
        self.last_commit = self.clock()
