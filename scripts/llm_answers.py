"""The LLM's answers of the full-data runs, committed so that another machine need not compute them.

    python scripts/llm_answers.py export [FOLDER]   # the cache's answers that no file in FOLDER has, to a new file
    python scripts/llm_answers.py import [FOLDER]   # every file's answers into the cache

On a CPU the LLM stages are the slowest part of a full run (an hour for full PolitiFact's
intents), and their answers are the same on any machine: decoding is greedy, and GossipCop's
5,196 intents came out byte for byte the same on two machines. FOLDER (default
data/llm_answers) holds them as gzipped JSON lines, one {"key", "value"} per answer,
with the LLM cache's own keys (model, backend, prompt version, decoding settings, text hash),
so after `import` a full run's LLM stages answer from the cache. The cache is the workspace's,
`llm.cache_dir` in params.yaml (scripts/full_run.sh shares it with its scratch clone).

A key whose answer differs between the cache and a file is an error that names both: it would
mean the LLM is not deterministic, and neither answer is kept silently.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

from pipeline.config import load_params
from pipeline.llm.cache import ResultCache

FOLDER = Path("data/llm_answers")


def workspace_cache() -> ResultCache:
    return ResultCache.of(load_params().get("llm", {}))


def read_folder(folder: Path) -> dict[str, tuple[object, Path]]:
    """Every answer in the folder's files, with the file it came from."""
    answers: dict[str, tuple[object, Path]] = {}
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                try:
                    row = json.loads(line)
                    key, value = row["key"], row["value"]
                except (json.JSONDecodeError, KeyError, TypeError) as err:
                    raise SystemExit(f"{path}, line {line_no}: not a {{key, value}} answer ({err})") from None
                if key in answers:
                    _check_same(key, value, path, *answers[key])
                answers[key] = (value, path)
    return answers


def _check_same(key: str, value: object, where: object, other: object, other_where: object) -> None:
    if value != other:
        shown, other_shown = json.dumps(value)[:200], json.dumps(other)[:200]
        raise SystemExit(f"answer {key}: {where} has {shown}, {other_where} has {other_shown}")


def export(cache: ResultCache, folder: Path) -> Path | None:
    """Writes the cache's answers that no file in the folder has to a new file, named by its
    content; None when there are none."""
    committed = read_folder(folder)
    new = {}
    for key, value in cache.items():
        if key in committed:
            _check_same(key, value, cache.path, *committed[key])
        else:
            new[key] = value
    if not new:
        return None
    lines = "".join(json.dumps({"key": key, "value": new[key]}, ensure_ascii=False) + "\n" for key in sorted(new))
    data = gzip.compress(lines.encode("utf-8"), mtime=0)  # mtime=0: the same answers give the same bytes
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"answers-{hashlib.sha256(data).hexdigest()[:12]}.jsonl.gz"
    path.write_bytes(data)
    return path


def import_(cache: ResultCache, folder: Path) -> int:
    """Adds the folder's answers that the cache lacks; the number added."""
    committed = read_folder(folder)
    cached = cache.get_many(list(committed))
    for key, value in cached.items():
        _check_same(key, value, cache.path, *committed[key])
    cache.put_many({key: value for key, (value, _) in committed.items() if key not in cached})
    return len(committed) - len(cached)


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2) or argv[0] not in ("export", "import"):
        raise SystemExit(__doc__)
    folder = Path(argv[1]) if len(argv) == 2 else FOLDER
    cache = workspace_cache()
    if argv[0] == "export":
        path = export(cache, folder)
        print(f"wrote {path}" if path else f"{folder} already has every answer in {cache.path}")
    else:
        print(f"{import_(cache, folder)} answers added to {cache.path} ({len(cache)} in all)")


if __name__ == "__main__":
    main(sys.argv[1:])
