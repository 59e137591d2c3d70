"""Leakage-free train/val/test assignment.

Order of preference: the dataset's official split; otherwise chronological (the newest
rows are test) where timestamps exist; otherwise stratified with a fixed seed. Validation
is always carved out of train, the same way the test split was made (chronological
before a chronological test, stratified otherwise). `group` keeps rows that share a
source (e.g. a human article and its LLM rewrites) inside one split.

Small sets: a held-out part takes at least one row (when there are two or more) and
leaves at least one behind. Where scikit-learn cannot stratify (fewer held-out or
remaining rows than classes, or a class of one row), rows are taken per class in
proportion, leaving a row of each class behind where possible, so 12 balanced rows split
as well as 1,200. The minimum a split must meet (rows in train, val and test, both labels
in train) is checked by ingest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split


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


def _chronological(timestamps: pd.Series, frac: float) -> np.ndarray:
    """Boolean mask of the newest `frac` of rows (ties broken by position, deterministic)."""
    n = len(timestamps)
    k = min(n - 1, max(1, int(round(n * frac)))) if n > 1 and frac > 0 else 0
    order = np.argsort(timestamps.to_numpy(), kind="stable")
    take = np.zeros(n, dtype=bool)
    if k:
        take[order[-k:]] = True
    return take


def assign_splits(
    df: pd.DataFrame,
    *,
    test_frac: float,
    val_frac: float,
    seed: int,
    group_col: str | None = None,
) -> tuple[pd.Series, str]:
    """Return (split column, human-readable description of the method used)."""
    split = df["split"].copy() if "split" in df else pd.Series([None] * len(df), index=df.index)
    groups = df[group_col] if group_col else None
    has_official_test = split.eq("test").any()
    has_time = df["timestamp"].notna()
    chronological = not has_official_test and has_time.any()

    if has_official_test:
        method = "official test split"
    elif chronological:
        method = f"chronological: newest {test_frac:.0%} test"
        timed = has_time.to_numpy()
        is_test = np.zeros(len(df), dtype=bool)
        is_test[timed] = _chronological(df.loc[timed, "timestamp"], test_frac)
        untimed = ~timed
        if untimed.any():
            is_test[untimed] = _stratified(df.loc[untimed, "label"], test_frac, seed, None)
            method += f" ({int(untimed.sum())} rows without timestamp: stratified, seed {seed})"
        split = pd.Series(np.where(is_test, "test", "train"), index=df.index)
    else:
        is_test = _stratified(df["label"], test_frac, seed, groups)
        split = pd.Series(np.where(is_test, "test", "train"), index=df.index)
        method = f"stratified{' by group' if group_col else ''}: {test_frac:.0%} test, seed {seed}"

    train = split.eq("train").to_numpy()
    if split.eq("val").any():
        method += "; official validation split"
        return split, method
    train_idx = np.flatnonzero(train)
    sub = df.iloc[train_idx]
    if chronological and sub["timestamp"].notna().all():
        is_val = _chronological(sub["timestamp"], val_frac)
        method += f"; validation: newest {val_frac:.0%} of train"
    else:
        sub_groups = sub[group_col] if group_col else None
        is_val = _stratified(sub["label"], val_frac, seed, sub_groups)
        method += f"; validation: stratified{' by group' if group_col else ''} {val_frac:.0%} of train, seed {seed}"
    values = split.to_numpy(dtype=object)
    values[train_idx[is_val]] = "val"
    return pd.Series(values, index=df.index), method
