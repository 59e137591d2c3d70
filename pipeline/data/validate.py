"""Row policies shared by every adapter: text, labels, duplicate ids.

Policy (also in docs/datasets.md): a row whose text is empty or whitespace, whose label is not
mapped, or whose id repeats an earlier row is skipped and counted in the ingest report
under its reason, with up to five 'file:row [field]' examples; a repeated id whose label
differs from the first row's is counted apart ('duplicate id with a different label') and
ingest warns about it, as the first row's label may be the wrong one. A dataset whose text is
absent by design (Twitter15/16 ships no tweet text) declares `text_required=False`.
An image path that resolves (symlinks followed) outside the dataset's folders is removed
from its row, which is kept and counted as 'image path outside the data folder'.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.data.schema import LABEL_FAKE, LABEL_REAL, IngestError, IngestReport
from pipeline.paths import inside


def clean_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).replace("\x00", "").strip()


def map_label(raw, mapping: dict, report: IngestReport, location: str) -> int | None:
    """Map a source label onto 1 = fake / 0 = real; unknown values are counted skips."""
    key = clean_text(raw).lower()
    if key not in mapping:
        report.reject(f"label not in mapping ({key or 'empty'})", location)
        return None
    label = mapping[key]
    if label not in (LABEL_FAKE, LABEL_REAL, None):
        raise AssertionError(f"label mapping must give 0/1/None, got {label!r} for {key!r}")
    if label is None:
        report.reject(f"label excluded by mapping ({key})", location)
    return label


DIFFERENT_LABEL = "duplicate id with a different label"


def drop_duplicate_ids(df: pd.DataFrame, report: IngestReport) -> pd.DataFrame:
    """Keep the first row of each id; later repeats are counted skips, 'duplicate id', or
    'duplicate id with a different label' where the repeat's label is not the first row's, each
    at its location (column _loc)."""
    dup = df["id"].duplicated(keep="first")
    other_label = dup & df["label"].ne(df.groupby("id", sort=False)["label"].transform("first"))
    for loc in df.loc[dup & ~other_label, "_loc"]:
        report.reject("duplicate id", loc)
    for loc in df.loc[other_label, "_loc"]:
        report.reject(DIFFERENT_LABEL, loc)
    return df.loc[~dup]


def require_columns(columns, needed, path) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise IngestError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; found {', '.join(map(repr, columns))}"
        )


IMAGE_OUTSIDE = "image path outside the data folder"


def confine_image_paths(rows: list[dict], data_root: Path, roots, report: IngestReport) -> None:
    """Remove from each row the image paths (relative to the data root, or absolute) that
    resolve, symlinks followed, outside the folders `roots`; each such row is counted as
    flagged 'image path outside the data folder'. Such a path is never opened later."""
    for row in rows:
        paths = list(row.get("image_paths") or [])
        allowed = []
        for item in paths:
            if inside(data_root / item, roots):
                allowed.append(item)
        if len(allowed) < len(paths):
            report.flag(IMAGE_OUTSIDE, f"{row['_loc']} [image_paths]")
            row["image_paths"] = allowed
