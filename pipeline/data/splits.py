"""Leakage-free train/val/test assignment, by an explicit split policy or the dataset's own.

Policies (ingest option `split`, per dataset):
  stratified     label-stratified random test (seeded), then validation the same way from
                 train; timestamps are ignored. An adapter's groups (`_group`, e.g. an
                 LLMFake article and its rewrites) stay inside one split.
  chronological  the newest test_frac of rows is test, the newest val_frac of train is
                 validation; rows without a timestamp are split stratified (counted in the
                 description). No timestamps at all is an IngestError.
  group          StratifiedGroupKFold by the `split_by` column, for test and for
                 validation: no value of that column is in two splits. `split_by` is a
                 canonical column (GROUP_COLUMNS) or a key of the row's `extra` JSON (the
                 source columns the generic adapter keeps). A row with an empty value is a
                 group of its own (counted); the adapter's groups are joined with these
                 (connected components), so neither kind of group is split. Rows alone
                 in their group are split stratified among themselves (the same
                 constraint; StratifiedGroupKFold is slow on very many groups).
  column         the data's own split column (it must hold test rows); validation is
                 carved from train (stratified) when the data has none.
  auto           (no `split` option and no adapter default) the order of preference used
                 before policies existed: the dataset's official split; otherwise
                 chronological where timestamps exist; otherwise stratified with a fixed
                 seed, by the adapter's groups. Validation is carved out of train the same
                 way the test split was made (chronological before a chronological test,
                 stratified otherwise).
The policies other than `column` ignore a split column the data has.

Small sets: a held-out part takes at least one row (when there are two or more) and
leaves at least one behind. Where scikit-learn cannot stratify (fewer held-out or
remaining rows than classes, or a class of one row), rows are taken per class in
proportion, leaving a row of each class behind where possible, so 12 balanced rows split
as well as 1,200. The minimum a split must meet (rows in train, val and test, both labels
in train) is checked by ingest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from pipeline.data.schema import IngestError

SPLIT_METHODS = ("stratified", "chronological", "group", "column")
GROUP_COLUMNS = ("event", "user_id", "lang", "title", "text")  # canonical columns split_by may name


def _apportion(k: int, counts: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split k over classes in proportion to `counts` (largest share first), at most `caps`."""
    quota = np.zeros(len(counts), dtype=int)
    for _ in range(min(k, int(caps.sum()))):
        room = quota < caps
        shortfall = np.where(room, k * counts / counts.sum() - quota, -np.inf)
        quota[int(np.argmax(shortfall))] += 1
    return quota


def _per_class(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of k rows taken per class in proportion, leaving at least one row of each
    class behind when k allows (the small-set fallback where scikit-learn cannot stratify)."""
    classes, counts = np.unique(labels, return_counts=True)
    spare = counts - 1
    quota = _apportion(k, counts, spare if k <= spare.sum() else counts)
    rng = np.random.default_rng(seed)
    taken = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quota)]
    return np.concatenate(taken).astype(int)


def _stratified(labels: pd.Series, frac: float, seed: int, groups: pd.Series | None) -> np.ndarray:
    """Boolean mask selecting about `frac` of the rows, label-stratified (and group-aware)."""
    n = len(labels)
    take = np.zeros(n, dtype=bool)
    if n < 2 or frac <= 0:
        return take
    if groups is not None:
        folds = max(2, round(1 / frac))
        n_groups = groups.nunique()
        if n_groups < folds:
            raise ValueError(f"cannot split {n_groups} groups into {folds} folds")
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        _, held = next(splitter.split(np.zeros(n), labels.to_numpy(), groups.to_numpy()))
        take[held] = True
        return take
    counts = labels.value_counts()
    k = min(n - 1, int(np.ceil(frac * n)))  # scikit-learn's rounding, at least one row left
    if len(counts) > 1 and (counts.min() < 2 or min(k, n - k) < len(counts)):
        take[_per_class(labels.to_numpy(), k, seed)] = True
        return take
    stratify = labels.to_numpy() if len(counts) > 1 else None
    _, held = train_test_split(np.arange(n), test_size=k, random_state=seed, stratify=stratify)
    take[held] = True
    return take


def _grouped(labels: pd.Series, frac: float, seed: int, groups: pd.Series) -> np.ndarray:
    """_stratified by group for split: group, where rows alone in their group (e.g. an empty
    split_by value) are taken stratified on their own: the same constraint, and
    StratifiedGroupKFold takes minutes on 100,000s of one-row groups."""
    single = groups.map(groups.value_counts()).to_numpy() == 1
    if single.all():
        return _stratified(labels, frac, seed, None)
    if not single.any() or groups[~single].nunique() < max(2, round(1 / frac)):
        return _stratified(labels, frac, seed, groups)
    take = np.zeros(len(labels), dtype=bool)
    take[~single] = _stratified(labels[~single], frac, seed, groups[~single])
    take[single] = _stratified(labels[single], frac, seed, None)
    return take


def _chronological(timestamps: pd.Series, frac: float) -> np.ndarray:
    """Boolean mask of the newest `frac` of rows (ties broken by position, deterministic)."""
    n = len(timestamps)
    k = min(n - 1, max(1, int(round(n * frac)))) if n > 1 and frac > 0 else 0
    order = np.argsort(timestamps.to_numpy(), kind="stable")
    take = np.zeros(n, dtype=bool)
    if k:
        take[order[-k:]] = True
    return take


def _group_key(value) -> str | None:
    """A group value as text; None, NaN and blank text are empty."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None or pd.isna(value):
        return None
    text = str(value).strip()
    return text or None


def extras(df: pd.DataFrame) -> pd.Series:
    """Each row's `extra` JSON as a dict (an empty one where there is none); parse it once and
    pass it to extra_keys and column_values."""
    if "extra" not in df:
        return pd.Series([{}] * len(df), index=df.index, dtype=object)
    return df["extra"].map(lambda e: json.loads(e) if isinstance(e, str) and e not in ("", "{}") else {})


def extra_keys(parsed: pd.Series) -> list[str]:
    """The keys of the parsed `extra` (see extras) found in any row, sorted."""
    return sorted({key for extra in parsed for key in extra})


def column_values(df: pd.DataFrame, column: str, parsed: pd.Series) -> pd.Series | None:
    """The values of a canonical column (GROUP_COLUMNS) or of a key of the parsed `extra`
    (see extras), as text with None for empty; None when the column is neither."""
    if column in GROUP_COLUMNS:
        values = df[column] if column in df else pd.Series([None] * len(df), index=df.index)
        return values.map(_group_key).astype(object)
    if not parsed.map(lambda extra: column in extra).any():
        return None
    return parsed.map(lambda extra: _group_key(extra.get(column))).astype(object)


def split_by_values(df: pd.DataFrame, split_by: str) -> pd.Series:
    """column_values, or an IngestError listing the columns split_by may name."""
    parsed = extras(df)
    values = column_values(df, split_by, parsed)
    if values is None:
        canonical = [c for c in GROUP_COLUMNS if c in df and df[c].map(_group_key).notna().any()]
        raise IngestError(
            f"split_by {split_by!r} is neither a canonical column nor a key of the rows' extra (source columns); "
            f"available: canonical {', '.join(canonical) or 'none'}; extra {', '.join(extra_keys(parsed)) or 'none'}"
        )
    return values


def combine_groups(*columns: pd.Series | None) -> pd.Series:
    """One group id per row such that rows sharing a non-empty value in any of `columns` share
    a group (connected components); a row empty in all of them is a group of its own."""
    columns = [c for c in columns if c is not None]
    codes, offset = [], 0
    for column in columns:
        code, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
        codes.append(np.where(code >= 0, code + offset, -1))
        offset += len(uniques)
    codes = np.vstack(codes)
    first = np.where(codes >= 0, codes, np.iinfo(np.int64).max).min(axis=0)  # the row's first non-empty node
    lone = first == np.iinfo(np.int64).max
    first[lone] = offset + np.arange(int(lone.sum()))
    total = offset + int(lone.sum())
    rows, cols = [], []
    for code in codes:
        linked = code >= 0
        rows.append(first[linked])
        cols.append(code[linked])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(total, total))
    _, component = connected_components(graph, directed=False)
    return pd.Series(component[first], index=columns[0].index)


@dataclass
class Splits:
    """The split column, how test and validation were made, and the policy actually used."""

    split: pd.Series
    test_text: str  # how the test split was made, e.g. "chronological: newest 20% test"
    val_text: str  # how validation was made, e.g. "validation: stratified 10% of train, seed 0"
    method: str  # stratified | chronological | group | column (auto resolved to one of them)
    split_by: str | None = None
    groups: int | None = None  # group: number of groups
    rows_without_group: int = 0  # group: rows with an empty split_by value, each a group of its own
    ignored_split_column: bool = False  # the data has a split column this policy does not use

    @property
    def description(self) -> str:
        return f"{self.test_text}; {self.val_text}"


def make_splits(
    df: pd.DataFrame,
    *,
    test_frac: float,
    val_frac: float,
    seed: int,
    group_col: str | None = None,
    method: str = "auto",
    split_by: str | None = None,
) -> Splits:
    """Split `df` by `method` (SPLIT_METHODS or 'auto'); `group_col` names the adapter's
    group column and `split_by` the column of a `group` split. A policy the data cannot
    meet (no timestamps, no test rows, unknown column) is an IngestError; too few rows or
    groups to split is a ValueError."""
    own = df["split"] if "split" in df else pd.Series([None] * len(df), index=df.index)
    has_official_test = own.eq("test").any()
    has_time = df["timestamp"].notna()
    adapter_groups = df[group_col] if group_col else None
    if method == "auto":
        method = "column" if has_official_test else "chronological" if has_time.any() else "stratified"
    result = Splits(own, "", "", method, split_by if method == "group" else None)
    result.ignored_split_column = bool(method != "column" and own.notna().any())
    groups = adapter_groups
    by_group = " by group" if group_col else ""

    if method == "column":
        if not has_official_test:
            found = ", ".join(f"{k} {v}" for k, v in own.value_counts().items()) or "no split values"
            raise IngestError(
                f"split: column needs test rows in the data's own split column, found {found} "
                "(map a split column, e.g. the generic adapter's columns: {split: <column>}, or choose another split)"
            )
        split = own.copy()
        method_text = "official test split"
    elif method == "chronological":
        if not has_time.any():
            raise IngestError(
                f"split: chronological needs timestamps, and none of the {len(df)} rows has one "
                "(map a timestamp column, or use split: stratified)"
            )
        method_text = f"chronological: newest {test_frac:.0%} test"
        timed = has_time.to_numpy()
        is_test = np.zeros(len(df), dtype=bool)
        is_test[timed] = _chronological(df.loc[timed, "timestamp"], test_frac)
        untimed = ~timed
        if untimed.any():
            is_test[untimed] = _stratified(df.loc[untimed, "label"], test_frac, seed, None)
            method_text += f" ({int(untimed.sum())} rows without timestamp: stratified, seed {seed})"
        split = pd.Series(np.where(is_test, "test", "train"), index=df.index)
    elif method == "group":
        values = split_by_values(df, split_by)
        groups = combine_groups(values, adapter_groups)
        result.groups = int(groups.nunique())
        result.rows_without_group = int(values.isna().sum())
        by_group = f" by {split_by}"
        detail = f"{result.groups} groups"
        if result.rows_without_group:
            detail += f"; {result.rows_without_group} rows with empty {split_by}: one group each"
        if adapter_groups is not None:
            detail += "; joined with the adapter's groups"
        is_test = _grouped(df["label"], test_frac, seed, groups)
        split = pd.Series(np.where(is_test, "test", "train"), index=df.index)
        method_text = f"group by {split_by}: {test_frac:.0%} test, seed {seed} ({detail})"
    elif method == "stratified":
        is_test = _stratified(df["label"], test_frac, seed, groups)
        split = pd.Series(np.where(is_test, "test", "train"), index=df.index)
        method_text = f"stratified{by_group}: {test_frac:.0%} test, seed {seed}"
    else:
        raise ValueError(f"unknown split method {method!r}; known: {', '.join(SPLIT_METHODS)}, auto")

    result.test_text = method_text
    if split.eq("val").any():
        result.split, result.val_text = split, "official validation split"
        return result
    train_idx = np.flatnonzero(split.eq("train").to_numpy())
    sub = df.iloc[train_idx]
    if method == "chronological" and sub["timestamp"].notna().all():
        is_val = _chronological(sub["timestamp"], val_frac)
        result.val_text = f"validation: newest {val_frac:.0%} of train"
    else:
        sub_groups = groups.iloc[train_idx] if groups is not None else None
        kind = "group" if method == "group" else "stratified"
        is_val = (_grouped if method == "group" else _stratified)(sub["label"], val_frac, seed, sub_groups)
        result.val_text = f"validation: {kind}{by_group} {val_frac:.0%} of train, seed {seed}"
    values = split.to_numpy(dtype=object)
    values[train_idx[is_val]] = "val"
    result.split = pd.Series(values, index=df.index)
    return result
