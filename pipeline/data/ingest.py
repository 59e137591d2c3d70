"""Run one dataset adapter and turn its rows into the canonical, split, validated table.

Accounting: every record an adapter reads (report.rows_read) is kept, or counted as a
rejected row under its reason; `ingest` checks rows_read == rows_kept + rows rejected
(for an adapter whose one record can give several rows, e.g. LLMFake's human article and
its rewrite, at least rows_read) and fails loudly where it does not hold.

Minimum: a detector needs both labels, and the split must leave at least one row in each
of train, val and test and both labels in train, so at least MIN_ROWS rows; a dataset that
cannot meet this is an IngestError saying why, at ingest rather than at training.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.data import registry
from pipeline.data.schema import LABEL_FAKE, SPLITS, IngestError, IngestReport, to_frame
from pipeline.data.splits import assign_splits
from pipeline.data.validate import confine_image_paths, drop_duplicate_ids
from pipeline.paths import image_roots

MIN_ROWS = 4  # a test row, a validation row, and a fake and a real train row
MINIMUM = "ingest needs at least one row in each of train, val and test, and both labels (fake and real) in train"


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
    emitted, read_rejects = len(rows), _rejects(report)
    _check_records(adapter, report, emitted, read_rejects)

    kept = []
    for row in rows:
        if adapter.TEXT_REQUIRED and not row["text"].strip():
            report.reject("empty or whitespace text", f"{row['_loc']} [text]")
            continue
        kept.append(row)
    confine_image_paths(kept, data_root, image_roots(data_root, adapter.FOLDER, options), report)
    locations = pd.Series([r.pop("_loc") for r in kept], dtype=object)
    groups = [r.pop("_group", None) for r in kept]
    df = to_frame(kept, name)
    df["_group"] = groups
    df = drop_duplicate_ids(df, report, locations)
    if sample is not None:
        df = sample_groups(df, sample, seed, report, locations)
    df = df.reset_index(drop=True)
    _check_rows(df, name, report)

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
            f"{name}: cannot split the {len(df)} kept rows of {report.source} into train/val/test: {err}; {MINIMUM}"
        ) from err
    bad_split = ~df["split"].isin(SPLITS)
    if bad_split.any():
        raise AssertionError(f"{name}: split values outside {SPLITS}: {df.loc[bad_split, 'split'].unique()}")
    _check_splits(df, name, report)
    df = df.drop(columns=[c for c in df.columns if c.startswith("_")])
    report.rows_kept = len(df)
    report.label_counts = {
        split: {str(k): int(v) for k, v in sorted(df.loc[df["split"] == split, "label"].value_counts().items())}
        for split in SPLITS
    }
    _check_kept(name, report, emitted, read_rejects)
    return df, report


def _rejects(report: IngestReport) -> int:
    return sum(report.rejected.values())


def _check_records(adapter, report: IngestReport, emitted: int, rejected: int) -> None:
    """Every record the adapter read gave a row or a counted reject (one of each per record,
    unless one record can give several rows); else rows went missing without a count."""
    several = getattr(adapter, "SEVERAL_ROWS_PER_RECORD", False)  # e.g. LLMFake: an article and its rewrite
    if emitted + rejected == report.rows_read or (several and emitted + rejected > report.rows_read):
        return
    raise AssertionError(
        f"{adapter.NAME}: read {report.rows_read} records of {report.source} but gave {emitted} rows and "
        f"{rejected} counted rejects; every record must give a row or a counted reject"
    )


def _check_kept(name: str, report: IngestReport, emitted: int, read_rejects: int) -> None:
    """Every row the adapter gave is kept or was counted as a reject here (empty text,
    duplicate id, left out by sample)."""
    at_ingest = _rejects(report) - read_rejects
    if emitted != report.rows_kept + at_ingest:
        raise AssertionError(
            f"{name}: {emitted} rows from the adapter but {report.rows_kept} kept and {at_ingest} rejected at ingest"
        )


def _label_name(label: int) -> str:
    return "fake" if label == LABEL_FAKE else "real"


def _check_rows(df: pd.DataFrame, name: str, report: IngestReport) -> None:
    """Enough rows, with both labels, to split and train on."""
    if df.empty:
        raise IngestError(
            f"{name}: no rows kept from {report.source} (read {report.rows_read}; "
            f"rejected: {dict(report.rejected) or 'none'})"
        )
    labels = df["label"].unique()
    if len(labels) < 2:
        raise IngestError(
            f"{name}: all {len(df)} kept rows of {report.source} have label {_label_name(labels[0])}; "
            "a detector needs both classes (check the label column and the label mapping)"
        )
    if len(df) < MIN_ROWS:
        raise IngestError(
            f"{name}: {len(df)} kept rows of {report.source} are too few to split: {MINIMUM}, "
            f"so at least {MIN_ROWS} rows"
        )


def _check_splits(df: pd.DataFrame, name: str, report: IngestReport) -> None:
    sizes = df["split"].value_counts()
    train_labels = df.loc[df["split"] == "train", "label"].unique()
    if all(sizes.get(split, 0) for split in SPLITS) and len(train_labels) == 2:
        return
    shown = ", ".join(f"{split} {sizes.get(split, 0)}" for split in SPLITS)
    one_class = f" (train: only {_label_name(train_labels[0])})" if len(train_labels) == 1 else ""
    raise IngestError(
        f"{name}: the split of the {len(df)} kept rows of {report.source} ({report.split_method}) gives {shown} "
        f"rows{one_class}; {MINIMUM}: add rows, or check the split column and ingest.test_frac / val_frac"
    )


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
