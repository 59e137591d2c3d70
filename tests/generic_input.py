"""Small inputs for the generic adapter, shared by its tests: one distinct text per row, CSV
and JSONL writers, and ingest with the generic adapter."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline.data.ingest import ingest

COLUMNS = {"id": "id", "text": "text", "label": "label"}
LABELS = {"fake": 1, "real": 0}
WORDS = "tax rent school bridge vaccine river budget storm court harbour election mayor".split()


def text(i: int) -> str:
    """A distinct text per row (no two alike after normalising)."""
    return f"Report {i}: the {WORDS[i % len(WORDS)]} story number {i * 7919 % 10007} in {WORDS[i * 5 % len(WORDS)]}"


def write_csv(path: Path, rows: list[dict], header=None, delimiter=",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header or list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def run(tmp_path, path, columns=COLUMNS, **options):
    """ingest() of the file at `path` as dataset 'x', with ingest `options` (split, checks)."""
    return ingest(
        "x", tmp_path, {"adapter": "generic", "path": str(path), "columns": columns, "labels": LABELS, **options}
    )
