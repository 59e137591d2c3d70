"""Run one dataset adapter and turn its rows into the canonical, split, validated table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.data import registry
from pipeline.data.schema import SPLITS, IngestError, IngestReport, to_frame
from pipeline.data.splits import assign_splits
from pipeline.data.validate import drop_duplicate_ids


def ingest(
    name: str,
    data_root: Path,
    options: dict | None = None,
    *,
    test_frac: float = 0.2,
    val_frac: float = 0.1,
    seed: int = 0,
) -> tuple[pd.DataFrame, IngestReport]:
    """Read dataset `name` from `data_root` into canonical rows with train/val/test splits.

    `options` are the adapter's own settings; `options["adapter"]` picks an adapter other
    than the one named like the dataset (e.g. 'generic' for a user's CSV/JSONL), and
    `options["sample"]` keeps a seeded random sample of about that many rows, taking whole
    groups (an article with its rewrites), before the split."""
    options = dict(options or {})
    adapter = registry.get(options.pop("adapter", name))
    sample = options.pop("sample", None)
    data_root = Path(data_root)
    report = IngestReport(dataset=name, source=str(data_root / adapter.FOLDER))
    if adapter.FOLDER and not (data_root / adapter.FOLDER).exists():
        raise IngestError(
            f"{name}: {data_root / adapter.FOLDER} does not exist; set --data-root (or FND_DATA_ROOT) "
            f"to the folder that holds '{adapter.FOLDER}/' ({adapter.NEEDS})"
        )
    rows = adapter.read(data_root, options, report)

    kept = []
    for row in rows:
        location = row.pop("_loc")
        if adapter.TEXT_REQUIRED and not row["text"].strip():
            report.reject("empty or whitespace text", f"{location} [text]")
            continue
        row["_loc"] = location
        kept.append(row)
    locations = pd.Series([r.pop("_loc") for r in kept], dtype=object)
    groups = [r.pop("_group", None) for r in kept]
    df = to_frame(kept, name)
    df["_group"] = groups
    df = drop_duplicate_ids(df, report, locations)
    if sample is not None:
        df = sample_groups(df, sample, seed, report, locations)
    df = df.reset_index(drop=True)
    if df.empty:
        raise IngestError(
            f"{name}: no rows kept from {report.source} (read {report.rows_read}; "
            f"rejected: {dict(report.rejected) or 'none'})"
        )

    try:
        df["split"], report.split_method = assign_splits(
            df,
            test_frac=test_frac,
            val_frac=val_frac,
            seed=seed,
            group_col="_group" if df["_group"].notna().any() else None,
        )
    except ValueError as err:
        raise IngestError(
            f"{name}: cannot split the {len(df)} kept rows of {report.source} into train/val/test: {err}"
        ) from err
    bad_split = ~df["split"].isin(SPLITS)
    if bad_split.any():
        raise AssertionError(f"{name}: split values outside {SPLITS}: {df.loc[bad_split, 'split'].unique()}")
    df = df.drop(columns=[c for c in df.columns if c.startswith("_")])
    report.rows_kept = len(df)
    report.label_counts = {
        split: {str(k): int(v) for k, v in sorted(df.loc[df["split"] == split, "label"].value_counts().items())}
        for split in SPLITS
    }
    return df, report


def sample_groups(df: pd.DataFrame, size, seed: int, report: IngestReport, locations: pd.Series) -> pd.DataFrame:
    """Whole groups (or rows) in a seeded random order until `size` rows are taken; the rest
    are counted as left out."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise IngestError(
            f"{report.dataset}: ingest option 'sample' must be a positive whole number of rows, got {size!r}"
        )
    groups = df["_group"].fillna(df["id"])
    order = pd.Series(groups.unique()).sample(frac=1.0, random_state=seed)
    sizes = groups.value_counts()
    taken = set(order[sizes[order].cumsum().to_numpy() - sizes[order].to_numpy() < size])
    keep = groups.isin(taken)
    for location in locations[df.index[~keep]]:
        report.reject(f"left out by the ingest option sample={size}", location)
    return df[keep]
