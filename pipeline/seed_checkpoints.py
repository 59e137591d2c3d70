"""A train stage's finished seeds, kept on disk until the stage ends, so that a stopped `dvc repro`
goes on from the seed it was training instead of from the first.

DVC deletes a stage's outputs when it starts the stage, so they cannot hold its progress. Each
finished seed's (model, predictions, record) is pickled to .cache/seeds/<stage>/<key>/seed_<n>.pkl,
where <key> hashes all that a seed's result depends on: the content of every dependency dvc.yaml
declares for the stage (its code and its data), the method's settings and the device. Any change
gives another key, so a seed trained by other code, data or settings is never restored. The
stage's folder is removed once the stage has written its outputs. Outside `dvc repro` (DVC sets
DVC_STAGE) nothing is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(".cache/seeds")


class SeedCheckpoints:
    def __init__(self, stage: str | None, key: str = ""):
        self.stage_folder = ROOT / stage if stage else None
        self.folder = self.stage_folder / key if stage else None

    @classmethod
    def for_stage(cls, settings: dict) -> SeedCheckpoints:
        """The checkpoints of the stage DVC is running now; none when no DVC stage is running or
        dvc.yaml does not declare it."""
        stage = os.environ.get("DVC_STAGE")
        deps = _declared_deps(stage) if stage else None
        if deps is None:
            return cls(None)
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
        for dep in sorted(deps):
            _hash_path(digest, Path(dep))
        return cls(stage, digest.hexdigest()[:24])

    def load(self, seed: int):
        """The seed's (model, predictions, record) trained before the stage was stopped, or None."""
        path = self._path(seed)
        if path is None or not path.is_file():
            return None
        try:
            with open(path, "rb") as fh:
                result = pickle.load(fh)
        except Exception as err:  # a file cut short by a kill, or an unpicklable class: train the seed again
            print(f"{path}: unreadable ({type(err).__name__}: {err}); training seed {seed} again", file=sys.stderr)
            return None
        print(f"seed {seed}: restored from {path}, trained before the stage was stopped", file=sys.stderr)
        return result

    def save(self, seed: int, result: tuple) -> None:
        path = self._path(seed)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as fh:
            pickle.dump(result, fh)
        os.replace(partial, path)  # a kill while writing leaves no half file under the final name

    def clear(self) -> None:
        """Removes the stage's checkpoints, those of earlier keys included."""
        if self.stage_folder is not None:
            shutil.rmtree(self.stage_folder, ignore_errors=True)

    def _path(self, seed: int) -> Path | None:
        return self.folder / f"seed_{seed}.pkl" if self.folder else None


def _declared_deps(stage: str) -> list[str] | None:
    path = Path("dvc.yaml")
    if not path.is_file():
        return None
    entry = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stages", {}).get(stage)
    if not isinstance(entry, dict):
        return None
    return [dep if isinstance(dep, str) else next(iter(dep)) for dep in entry.get("deps", [])]


def _hash_path(digest, path: Path) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if file.is_file():
            digest.update(f"{file}\0{file.stat().st_size}\0".encode())
            with open(file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        else:
            digest.update(f"{file}\0missing\0".encode())
