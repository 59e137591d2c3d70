"""Content-addressed embedding cache: one SQLite file, one row per encoder output.

A key is the sha256 of the encoder's identity (its registry name, weights digest, every
setting that changes its output: max length, tokenizer, preprocessing, library versions; not
the device), the modality (text, image, clip_text, clip_image) and the content's sha256 (the
exact string fed to the encoder, or the image file's bytes). The value is the float32 vector
as the encoder produced it (little-endian bytes) and the text's truncated flag. The same text
or image file is therefore encoded once across datasets and re-splits; anything fitted on a
split (the 'aligned' CCA) is computed from these vectors afterwards.

Misses are encoded exactly as without a cache: one `batches` pass over every missed item, in
input order, so a first run gives the vectors of a run without a cache bit for bit, and a rerun
from the cache gives them again. Batch composition moves a vector in its last bits (about
1e-7: padding for texts, batch size for images), so when only some items miss, a miss (batched
with the other misses only) can differ from a run without the cache by that much. Within a
run, items of the same content get the vector of the first one encoded, with or without a
cache. Results are committed every COMMIT_SECONDS, at the end, and when encoding fails, so a
killed run loses at most about that much work. A corrupt or unreadable file is an
EmbeddingCacheError naming it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from pipeline.errors import FndError

DEFAULT_DIR = ".cache/embeddings"  # params embed.cache_dir
FILE_NAME = "embeddings.sqlite"
FORMAT = 1  # part of every key: bump when the code changes what a key's vector is
COMMIT_SECONDS = 10.0
DTYPE = np.dtype("<f4")


class EmbeddingCacheError(FndError, RuntimeError):
    pass


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def encoder_key(name: str, identity: dict) -> str:
    return sha256(json.dumps({"format": FORMAT, "name": name, "identity": identity}, sort_keys=True))


def item_key(encoder: str, modality: str, content: str) -> str:
    return sha256(f"{encoder}|{modality}|{content}")


class EmbeddingCache:
    """The SQLite file `folder`/embeddings.sqlite (WAL: concurrent runs may share it). `stats`
    counts, per modality, the items served from the file (hits) and encoded now (misses)."""

    def __init__(self, folder: Path | str, commit_seconds: float = COMMIT_SECONDS, clock=time.monotonic):
        self.path = Path(folder) / FILE_NAME
        self.commit_seconds, self.clock = commit_seconds, clock
        self.stats: dict[str, dict[str, int]] = {}
        self.pending: dict[str, tuple[np.ndarray, bool]] = {}
        self.last_commit = clock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise EmbeddingCacheError(f"cannot create the embedding cache folder {self.path.parent}: {err}") from err
        self.db = None
        with self._guard():
            self.db = sqlite3.connect(self.path, timeout=60)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL, flag INTEGER NOT NULL)"
            )
            self.db.execute("CREATE TABLE IF NOT EXISTS encoders (key TEXT PRIMARY KEY, identity TEXT NOT NULL)")
            self.db.commit()
            self.db.execute("SELECT key, vector, flag FROM vectors LIMIT 1").fetchall()

    @contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.DatabaseError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise EmbeddingCacheError(
                    f"embedding cache {self.path} is locked by another process ({err}); retry when it is done"
                ) from err
            raise EmbeddingCacheError(
                f"embedding cache {self.path} is corrupt or unreadable ({err}). It holds only vectors that "
                "can be recomputed: delete it (and any -wal/-shm file next to it) and run again."
            ) from err

    def register(self, name: str, identity: dict) -> str:
        """The encoder's key part; its identity is stored alongside, for whoever inspects the file."""
        key = encoder_key(name, identity)
        with self._guard(), self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO encoders (key, identity) VALUES (?, ?)",
                (key, json.dumps({"name": name, **identity}, sort_keys=True)),
            )
        return key

    def get_many(self, keys: Sequence[str], dim: int | None = None) -> dict[str, tuple[np.ndarray, bool]]:
        """The stored (vector, flag) of each key present; a vector of another length than `dim` is corruption."""
        found = {}
        with self._guard():
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                rows = self.db.execute(
                    f"SELECT key, vector, flag FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, blob, flag in rows:
                    size = len(blob) // DTYPE.itemsize if isinstance(blob, bytes) else 0
                    if not size or size * DTYPE.itemsize != len(blob) or (dim is not None and size != dim):
                        raise sqlite3.DatabaseError(
                            f"entry {key[:12]} is not a float32 vector of {dim or 'any'} values"
                        )
                    found[key] = (np.frombuffer(blob, DTYPE).astype(np.float32), bool(flag))
        return found

    def put_many(self, items: dict[str, tuple[np.ndarray, bool]]) -> None:
        with self._guard(), self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO vectors (key, vector, flag) VALUES (?, ?, ?)",
                [(key, np.asarray(vec, DTYPE).tobytes(), int(flag)) for key, (vec, flag) in items.items()],
            )

    def add(self, items: dict[str, tuple[np.ndarray, bool]]) -> None:
        """Queue `items`; commit everything queued once commit_seconds have passed since the last commit."""
        self.pending |= items
        if self.clock() - self.last_commit >= self.commit_seconds:
            self.commit()

    def commit(self) -> None:
        if self.pending:
            self.put_many(self.pending)
            self.pending = {}
        self.last_commit = self.clock()

    def report(self) -> dict:
        return {"file": str(self.path), **self.stats}

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


Batches = Callable[[list], Iterable[tuple[np.ndarray, np.ndarray, "list[bool] | None"]]]


def encode_cached(
    items: Sequence,
    contents: Sequence[str],
    batches: Batches,
    dim: int | None,
    *,
    modality: str,
    cache: EmbeddingCache | None = None,
    encoder: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectors (n, dim) and truncated flags (n,) for `items`, whose content digests are
    `contents`: hits from `cache` (entries of the `encoder` key, for `modality`), misses from
    one `batches(missed items)` pass. Without a cache, only the sharing of a vector between
    items of the same content applies."""
    n = len(items)
    keys = [item_key(encoder, modality, c) for c in contents] if cache is not None else list(contents)
    known = cache.get_many(list(dict.fromkeys(keys)), dim) if cache is not None else {}
    missed = [row for row, key in enumerate(keys) if key not in known]
    if cache is not None:
        cache.stats[modality] = {"hits": n - len(missed), "misses": len(missed)}
    vectors: list[np.ndarray | None] = [None] * n
    flags = np.zeros(n, bool)
    for row, key in enumerate(keys):
        if key in known:
            vectors[row], flags[row] = known[key]
    try:
        for idx, vecs, truncated in batches([items[row] for row in missed]) if missed else ():
            new = {}
            for j, vec, flag in zip(idx, vecs, truncated if truncated is not None else [False] * len(vecs)):
                row, key = missed[j], keys[missed[j]]
                if key not in known:  # the first of its content: every later one gets its vector
                    known[key] = new[key] = (vec.astype(np.float32), bool(flag))
                vectors[row], flags[row] = known[key]
            if cache is not None:
                cache.add(new)
    finally:
        if cache is not None:
            cache.commit()
    out = np.zeros((n, next((len(v) for v in vectors if v is not None), dim or 0)), np.float32)
    for row, vec in enumerate(vectors):
        out[row] = vec
    return out, flags
