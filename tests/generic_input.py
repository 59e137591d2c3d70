"""Small CSV inputs for the generic adapter, shared by the split-policy and data-check tests:
one distinct text per row, a writer, and ingest with the generic adapter."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipeline.data.ingest import ingest

COLUMNS = {"id": "id", "text": "text", "label": "label"}
LABELS = {"fake": 1, "real": 0}
WORDS = "tax rent school bridge vaccine river budget storm court harbour election mayor".split()


def text(i: int) -> str:
    """A distinct text per row (no two alike after normalising)."""
    return f"Report {i}: the {WORDS[i % len(WORDS)]} story number {i * 7919 % 10007} in {WORDS[i * 5 % len(WORDS)]}"


def write_csv(path: Path, records: list[dict]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def run(tmp_path, path, columns=COLUMNS, **options):
    """ingest() of the file at `path` as dataset 'x', with ingest `options` (split, checks)."""
    return ingest(
        "x", tmp_path, {"adapter": "generic", "path": str(path), "columns": columns, "labels": LABELS, **options}
    )
