"""The canonical article table every adapter produces, and the ingest report.

Label convention for the whole project: 1 = fake / rumour / false, 0 = real / true.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.errors import FndError

LABEL_FAKE = 1
LABEL_REAL = 0
SPLITS = ("train", "val", "test")

ARTICLE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("dataset", pa.string()),
        ("split", pa.string()),
        ("text", pa.string()),
        ("title", pa.string()),
        ("image_paths", pa.list_(pa.string())),
        ("label", pa.int8()),
        ("timestamp", pa.timestamp("s", tz="UTC")),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("lang", pa.string()),
        ("extra", pa.string()),  # JSON object with source fields kept as-is
    ]
)
COLUMNS = ARTICLE_SCHEMA.names


class IngestError(FndError, ValueError):
    """Input that cannot be ingested under any policy; the message names file, row and field."""


def where(path: Path | str, row: int | None = None, field: str | None = None) -> str:
    """'file:row field' location string used in every error and skip example."""
    loc = str(path)
    if row is not None:
        loc += f":{row}"
    if field is not None:
        loc += f" [{field}]"
    return loc


@dataclass
class IngestReport:
    """Counts of what happened to every input row. Nothing is dropped without a reason here."""

    dataset: str
    source: str
    rows_read: int = 0
    rejected: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)  # kept, but with a recorded issue
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    split_method: str = ""
    split_policy: dict = field(default_factory=dict)  # {"split": method used, "split_by": column or None, ...}
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rows_kept: int = 0
    warnings: list[str] = field(default_factory=list)  # printed by the ingest stage, 'warning: ...'
    checks: dict[str, dict] = field(default_factory=dict)  # data checks (pipeline/data/checks.py) by name

    def reject(self, reason: str, location: str, max_examples: int = 5) -> None:
        self.rejected[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < max_examples:
            shown.append(location)

    def flag(self, reason: str, location: str, max_examples: int = 5) -> None:
        """Count a row that is kept despite an issue (e.g. image file missing, bad timestamp)."""
        self.flagged[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < max_examples:
            shown.append(location)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def warn(self, text: str) -> None:
        """A finding the user should act on (label shift, shortcut, leaked duplicates); kept rows unchanged."""
        self.warnings.append(text)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "kept_with_issue": dict(sorted(self.flagged.items())),
            "examples": self.examples,
            "split_method": self.split_method,
            "split_policy": self.split_policy,
            "label_counts": self.label_counts,
            "warnings": self.warnings,
            "checks": self.checks,
            "notes": self.notes,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")


def article(
    *,
    id: str,
    text: str,
    label: int,
    title: str | None = None,
    image_paths: list[str] | None = None,
    timestamp: pd.Timestamp | None = None,
    user_id: str | None = None,
    event: str | None = None,
    lang: str = "en",
    split: str | None = None,
    extra: dict | None = None,
) -> dict:
    """One canonical row (dataset is filled in by `finalize`)."""
    return {
        "id": str(id),
        "split": split,
        "text": text,
        "title": title,
        "image_paths": list(image_paths or []),
        "label": int(label),
        "timestamp": timestamp,
        "user_id": None if user_id is None else str(user_id),
        "event": event,
        "lang": lang,
        "extra": json.dumps(extra or {}, ensure_ascii=False, sort_keys=True),
    }


def to_frame(rows: list[dict], dataset: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "dataset"])
    df.insert(1, "dataset", dataset)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).dt.floor("s")  # the schema stores seconds
    return df


def to_table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df[COLUMNS], schema=ARTICLE_SCHEMA, preserve_index=False)
