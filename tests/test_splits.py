"""Split assignment: official splits kept, chronological test is the newest, groups intact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.data.splits import make_splits


def frame(n=100, timestamps=True, split=None, groups=None):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "timestamp": pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC") if timestamps else pd.NaT,
            "split": split if split is not None else [None] * n,
            "_group": groups,
        }
    )


def test_chronological_test_and_validation_are_the_newest():
    df = frame().sample(frac=1, random_state=1)  # order must not matter
    result = make_splits(df, test_frac=0.2, val_frac=0.1, seed=0)
    split, method = result.split, result.description
    assert method.startswith("chronological")
    ts = df["timestamp"]
    assert ts[split == "test"].min() > ts[split != "test"].max()
    assert ts[split == "val"].min() > ts[split == "train"].max()
    assert (split == "test").sum() == 20 and (split == "val").sum() == 8


def test_official_test_kept_and_validation_stratified():
    official = ["train"] * 80 + ["test"] * 20
    df = frame(timestamps=False, split=official)
    result = make_splits(df, test_frac=0.5, val_frac=0.25, seed=0)
    split, method = result.split, result.description
    assert (split[80:] == "test").all() and method.startswith("official test split")
    val = df["label"][split == "val"]
    assert len(val) == 20 and abs(val.mean() - df["label"][:80].mean()) < 0.1


def test_stratified_split_is_reproducible_and_group_aware():
    groups = np.repeat(np.arange(50), 2)  # pairs of rows that must stay together
    df = frame(timestamps=False, groups=groups)
    result = make_splits(df, test_frac=0.2, val_frac=0.1, seed=7, group_col="_group")
    first, method = result.split, result.description
    again = make_splits(df, test_frac=0.2, val_frac=0.1, seed=7, group_col="_group")
    second = again.split
    assert (first == second).all() and "group" in method
    assert df.assign(split=first).groupby("_group")["split"].nunique().max() == 1


def test_untimed_rows_in_a_chronological_dataset_are_counted_in_the_method():
    df = frame()
    df.loc[:9, "timestamp"] = pd.NaT
    result = make_splits(df, test_frac=0.2, val_frac=0.1, seed=0)
    split, method = result.split, result.description
    assert "10 rows without timestamp" in method
    assert set(split) == {"train", "val", "test"}


def test_too_few_groups_is_a_clear_error():
    df = frame(n=6, timestamps=False, groups=[0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="cannot split 3 groups"):
        make_splits(df, test_frac=0.2, val_frac=0.1, seed=0, group_col="_group")
