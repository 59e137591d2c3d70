"""Run one dataset adapter and turn its rows into the canonical, split, validated table.

Accounting: every record an adapter reads (report.rows_read) is kept, or counted as a
rejected row under its reason; `ingest` checks rows_read == rows_kept + rows rejected
(for an adapter whose one record can give several rows, e.g. LLMFake's human article and
its rewrite, at least rows_read) and fails loudly where it does not hold.

Minimum: a detector needs both labels, and the split must leave at least one row in each
of train, val and test and both labels in train, so at least MIN_ROWS rows; a dataset that
cannot meet this is an IngestError saying why, at ingest rather than at training.

Ingest's own options (per dataset, params.yaml ingest.options.<dataset>), removed before
the adapter sees the rest:
  adapter             the adapter, when it is not the one named like the dataset.
  sample              a seeded random sample of about that many rows (whole groups).
  split               stratified | chronological | group | column (see splits.py); without
                      it, the adapter's default_split(options) where it defines one, else
                      'auto' (official split, else chronological where timestamps exist,
                      else stratified).
  split_by            the column of split: group: a canonical column (event, user_id, lang,
                      title, text) or a key of extra (a source column the adapter kept).
  label_shift_margin  warn when val's or test's fake share differs from train's by more
                      than this (default 0.15, absolute).
  duplicates, conflicts, repeated   flag (default) | drop | keep: the data checks (checks.py).
  repeated_min        a text this many times or more is 'repeated' (default 20).
A value outside these is an IngestError. The policy used goes to report.split_policy; the
checks' counts to report.checks; label shift, shortcut risk, the checks' findings and ids
repeated with another label to report.warnings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.data import checks, registry
from pipeline.data.schema import LABEL_FAKE, SPLITS, IngestError, IngestReport, to_frame
from pipeline.data.splits import SPLIT_METHODS, make_splits
from pipeline.data.validate import DIFFERENT_LABEL, confine_image_paths, drop_duplicate_ids
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
    groups (an article with its rewrites), before the split; the split policy and data
    checks options are described in the module docstring."""
    options = dict(options or {})
    adapter = registry.get(options.pop("adapter", name))
    sample = options.pop("sample", None)
    policy = _policy(name, adapter, options)
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
    locations = [r.pop("_loc") for r in kept]
    groups = [r.pop("_group", None) for r in kept]
    df = to_frame(kept, name)
    df["_group"] = groups
    df["_loc"] = pd.Series(locations, index=df.index, dtype=object)  # each row's file:line, for rejects
    df = drop_duplicate_ids(df, report)
    if report.rejected[DIFFERENT_LABEL]:
        report.warn(
            f"ids repeated with the other label: {report.rejected[DIFFERENT_LABEL]} row(s) rejected as "
            f"'{DIFFERENT_LABEL}' (e.g. {report.examples[DIFFERENT_LABEL][0]}); the first row of each id was kept, "
            "and its label may be the wrong one: check the source's ids and labels"
        )
    if sample is not None:
        df = sample_groups(df, sample, seed, report)
    df = df.reset_index(drop=True)
    _check_rows(df, name, report)

    try:
        result = make_splits(
            df,
            test_frac=test_frac,
            val_frac=val_frac,
            seed=seed,
            group_col="_group" if df["_group"].notna().any() else None,
            method=policy["split"],
            split_by=policy["split_by"],
        )
    except IngestError as err:
        raise IngestError(f"{name}: {err}") from err
    except ValueError as err:
        hint = ""
        if policy["split"] == "group":
            hint = (
                f" (split: group needs about {round(1 / test_frac)} {policy['split_by']} groups for test and "
                f"{round(1 / val_frac) if val_frac else 0} left in train for validation: use a split_by with more "
                "groups, or split: stratified)"
            )
        raise IngestError(
            f"{name}: cannot split the {len(df)} kept rows of {report.source} into train/val/test: {err}{hint}; "
            f"{MINIMUM}"
        ) from err
    df["split"], report.split_method = result.split, result.description
    report.split_policy = {
        "split": result.method,
        "split_by": result.split_by,
        "chosen_by": policy["chosen_by"],
    }
    if result.method == "group":
        report.split_policy |= {"groups": result.groups, "rows_without_group": result.rows_without_group}
    if result.ignored_split_column:
        report.note(f"the data's own split column is not used: split: {result.method}")
    bad_split = ~df["split"].isin(SPLITS)
    if bad_split.any():
        raise AssertionError(f"{name}: split values outside {SPLITS}: {df.loc[bad_split, 'split'].unique()}")
    df = checks.check_texts(
        df,
        report,
        policies={check: policy[check] for check in checks.CHECKS},
        repeated_min=policy["repeated_min"],
        dataset=name,
    )
    _check_splits(df, name, report)
    checks.label_shift(
        df,
        report,
        margin=policy["label_shift_margin"],
        method=result.method,
        causes={"test": result.test_text, "val": result.val_text},
        split_by=result.split_by,
        dataset=name,
    )
    checks.shortcuts(df, report, split_by=result.split_by, label_fields=getattr(adapter, "LABEL_FIELDS", ()))
    df = df.drop(columns=[c for c in df.columns if c.startswith("_")])
    report.rows_kept = len(df)
    report.label_counts = {
        split: {str(k): int(v) for k, v in sorted(df.loc[df["split"] == split, "label"].value_counts().items())}
        for split in SPLITS
    }
    _check_kept(name, report, emitted, read_rejects)
    return df, report


POLICY_OPTIONS = ("split", "split_by", "label_shift_margin", *checks.CHECKS, "repeated_min")


def _policy(name: str, adapter, options: dict) -> dict:
    """Pop ingest's split and check options out of `options` (the rest is the adapter's),
    check them, and fill in the defaults; the split defaults to the adapter's
    default_split(options) where it has one, else 'auto'."""
    given = {key: options.pop(key) for key in POLICY_OPTIONS if key in options}
    split, split_by = given.get("split"), given.get("split_by")
    chosen_by = "option"
    if split is None:
        default_split = getattr(adapter, "default_split", None)
        split = default_split(options) if default_split else "auto"
        chosen_by = f"{adapter.NAME} adapter default" if default_split else "auto"
        if split not in (*SPLIT_METHODS, "auto"):
            raise AssertionError(f"{adapter.NAME}.default_split gave {split!r}; expected one of {SPLIT_METHODS}")
    elif split not in SPLIT_METHODS:
        raise IngestError(
            f"{name}: ingest option split = {split!r}: must be one of {', '.join(SPLIT_METHODS)} "
            "(or leave it out for the dataset's own protocol)"
        )
    if split == "group" and not (isinstance(split_by, str) and split_by.strip()):
        raise IngestError(
            f"{name}: split: group needs split_by: <column>, the column whose values must not share a split "
            f"(e.g. a publisher or source column), got {split_by!r}"
        )
    if split_by is not None and split != "group":
        raise IngestError(f"{name}: ingest option split_by = {split_by!r} is only used with split: group")
    margin = given.get("label_shift_margin", checks.LABEL_SHIFT_MARGIN)
    if not (isinstance(margin, (int, float)) and not isinstance(margin, bool) and 0 < margin <= 1):
        raise IngestError(f"{name}: ingest option label_shift_margin = {margin!r}: must be a number in (0, 1]")
    policy = {"split": split, "split_by": split_by, "label_shift_margin": margin, "chosen_by": chosen_by}
    for check in checks.CHECKS:
        policy[check] = given.get(check, "flag")
        if policy[check] not in checks.POLICIES:
            raise IngestError(
                f"{name}: ingest option {check} = {policy[check]!r}: must be one of {', '.join(checks.POLICIES)}"
            )
    policy["repeated_min"] = given.get("repeated_min", checks.REPEATED_MIN)
    if not (isinstance(policy["repeated_min"], int) and not isinstance(policy["repeated_min"], bool)) or (
        policy["repeated_min"] < 2
    ):
        raise IngestError(
            f"{name}: ingest option repeated_min = {policy['repeated_min']!r}: must be a whole number >= 2"
        )
    return policy


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
    duplicate id, left out by sample, dropped by a data check)."""
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
    dropped = sum(check.get("rows_dropped", 0) for check in report.checks.values())
    after = f", after the data checks dropped {dropped} rows," if dropped else ""
    raise IngestError(
        f"{name}: the split of the {len(df)} kept rows of {report.source} ({report.split_method}){after} gives "
        f"{shown} rows{one_class}; {MINIMUM}: add rows, or check the split column and ingest.test_frac / val_frac"
    )


def sample_groups(df: pd.DataFrame, size, seed: int, report: IngestReport) -> pd.DataFrame:
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
    for location in df.loc[~keep, "_loc"]:
        report.reject(f"left out by the ingest option sample={size}", location)
    return df[keep]
