"""The split policy (ingest options split / split_by): each method as documented, its errors,
the adapter's default, the label-shift warning, and the built-in datasets' splits unchanged.

Each test writes its own CSV into tmp_path and reads it with the generic adapter; the
built-in test reads the committed slices under data/raw."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from generic_input import COLUMNS, run, text, write_csv

from pipeline.data import generic
from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError, to_table
from pipeline.data.splits import make_splits
from pipeline.errors import ParamsError
from pipeline.params_check import check_params

ROOT = Path(__file__).resolve().parents[1]


def time_shifted(tmp_path, n=100, fake=30) -> Path:
    """n rows, the `fake` fake ones all newer than every real one (the class is newer)."""
    records = []
    for i in range(n):
        is_fake = i >= n - fake
        day = pd.Timestamp("2019-01-01") + pd.Timedelta(days=i)
        records.append(
            {"id": f"r{i}", "text": text(i), "label": "fake" if is_fake else "real", "when": str(day.date())}
        )
    return write_csv(tmp_path / "timed.csv", records)


def label_shift_warnings(report) -> list[str]:
    return [w for w in report.warnings if w.startswith("label shift")]


# ---------------------------------------------------------------- chronological vs stratified


def test_chronological_split_of_a_newer_class_warns_of_label_shift(tmp_path):
    path = time_shifted(tmp_path)
    df, report = run(tmp_path, path, COLUMNS | {"timestamp": "when"}, split="chronological")
    assert report.split_policy == {"split": "chronological", "split_by": None, "chosen_by": "option"}
    assert report.split_method == "chronological: newest 20% test; validation: newest 10% of train"
    test = df[df["split"] == "test"]
    assert (test["label"] == 1).all()  # the newest 20 rows are all fake
    (warning,) = [w for w in label_shift_warnings(report) if w.startswith("label shift: test")]
    assert warning.startswith("label shift: test is 100% fake against ")
    assert "(chronological: newest 20% test)" in warning  # the cause
    assert "use split: stratified, or split: group, split_by: <source column>" in warning  # the remedy
    assert "ingest.options.x.label_shift_margin" in warning
    assert report.checks["label_shift"]["shifted"] == ["test"]  # val's 8 rows are too few to judge
    assert report.to_dict()["warnings"] == report.warnings


def test_stratified_split_of_the_same_data_ignores_time_and_does_not_warn(tmp_path):
    path = time_shifted(tmp_path)
    df, report = run(tmp_path, path, COLUMNS | {"timestamp": "when"}, split="stratified")
    assert report.split_policy == {"split": "stratified", "split_by": None, "chosen_by": "option"}
    assert report.split_method == "stratified: 20% test, seed 0; validation: stratified 10% of train, seed 0"
    assert not label_shift_warnings(report)
    shares = df.groupby("split")["label"].mean()
    assert (shares - shares["train"]).abs().max() <= 0.1
    assert report.checks["label_shift"]["shifted"] == []


def test_label_shift_margin_option(tmp_path):
    path = time_shifted(tmp_path, n=100, fake=40)
    _, default = run(tmp_path, path, COLUMNS | {"timestamp": "when"}, split="chronological")
    assert label_shift_warnings(default)  # the same data warns at the default margin
    _, wide = run(tmp_path, path, COLUMNS | {"timestamp": "when"}, split="chronological", label_shift_margin=1)
    assert not label_shift_warnings(wide) and wide.checks["label_shift"]["margin"] == 1


def test_chronological_without_any_timestamp_is_an_error(tmp_path):
    records = [{"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real"} for i in range(40)]
    path = write_csv(tmp_path / "a.csv", records)
    with pytest.raises(IngestError, match="x: split: chronological needs timestamps, and none of the 40 rows has one"):
        run(tmp_path, path, split="chronological")


def test_untimed_rows_of_a_chronological_split_are_counted(tmp_path):
    path = time_shifted(tmp_path)
    lines = path.read_text().splitlines()
    lines[1:11] = [",".join(line.split(",")[:3] + [""]) for line in lines[1:11]]
    path.write_text("\n".join(lines) + "\n")
    _, report = run(tmp_path, path, COLUMNS | {"timestamp": "when"}, split="chronological")
    assert "(10 rows without timestamp: stratified, seed 0)" in report.split_method
    assert report.split_policy == {"split": "chronological", "split_by": None, "chosen_by": "option"}


# ---------------------------------------------------------------- group


def publishers(tmp_path, n=200, groups=20, empty=6) -> Path:
    """n rows from `groups` publishers (a source column the mapping leaves in extra); the
    first `empty` rows have no publisher."""
    rng = np.random.default_rng(1)
    records = [
        {
            "id": f"p{i}",
            "text": text(i),
            "label": "fake" if rng.random() < 0.4 else "real",
            "publisher": "" if i < empty else f"site{i % groups}.example",
        }
        for i in range(n)
    ]
    return write_csv(tmp_path / "pubs.csv", records)


def test_group_split_never_puts_one_publisher_in_two_splits(tmp_path):
    path = publishers(tmp_path)
    df, report = run(tmp_path, path, split="group", split_by="publisher")
    publisher = df["extra"].map(lambda e: json.loads(e)["publisher"])
    named = df[publisher != ""]
    assert named.groupby(publisher[publisher != ""])["split"].nunique().max() == 1
    assert set(df["split"]) == {"train", "val", "test"}
    assert report.split_policy == {
        "split": "group",
        "split_by": "publisher",
        "chosen_by": "option",
        "groups": 26,
        "rows_without_group": 6,
    }
    assert report.split_method.startswith(
        "group by publisher: 20% test, seed 0 (26 groups; 6 rows with empty publisher: one group each)"
    )
    assert "; validation: group by publisher 10% of train, seed 0" in report.split_method


def test_group_split_by_a_canonical_column(tmp_path):
    path = publishers(tmp_path, empty=0)
    df, report = run(tmp_path, path, COLUMNS | {"event": "publisher"}, split="group", split_by="event")
    assert df.groupby("event")["split"].nunique().max() == 1
    assert report.split_policy["groups"] == 20 and report.split_policy["rows_without_group"] == 0


def test_group_split_keeps_the_adapters_groups_too():
    """An LLMFake-like article and its rewrites (_group) and a publisher (split_by): rows linked
    by either stay in one split."""
    n = 120
    rng = np.random.default_rng(2)
    groups = [f"article{i // 2}" for i in range(n)]  # pairs inside one publisher ...
    groups[3] = groups[4] = "cross1"  # ... and two that join publishers pub0 + pub1, pub2 + pub3
    groups[11] = groups[12] = "cross2"
    df = pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "timestamp": pd.NaT,
            "split": None,
            "event": [f"pub{i // 4}" for i in range(n)],
            "extra": "{}",
            "_group": groups,
        }
    )
    result = make_splits(df, test_frac=0.2, val_frac=0.1, seed=0, group_col="_group", method="group", split_by="event")
    split = result.split
    assert df.assign(split=split).groupby("event")["split"].nunique().max() == 1
    assert df.assign(split=split).groupby("_group")["split"].nunique().max() == 1
    joined = df.assign(split=split).groupby("event")["split"].first()
    assert joined["pub0"] == joined["pub1"] and joined["pub2"] == joined["pub3"]
    assert "(28 groups; joined with the adapter's groups)" in result.description


def test_unknown_split_by_lists_the_available_columns(tmp_path):
    path = publishers(tmp_path)
    with pytest.raises(IngestError) as err:
        run(tmp_path, path, split="group", split_by="outlet")
    message = str(err.value)
    assert message.startswith("x: split_by 'outlet' is neither a canonical column nor a key of the rows' extra")
    assert "available: canonical lang, text; extra publisher" in message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"split": "random"}, "split = 'random': must be one of stratified, chronological, group, column"),
        ({"split": "group"}, "split: group needs split_by: <column>"),
        ({"split_by": "publisher"}, "split_by = 'publisher' is only used with split: group"),
        ({"split": "stratified", "split_by": "publisher"}, "is only used with split: group"),
        ({"label_shift_margin": 0}, r"label_shift_margin = 0: must be a number in \(0, 1\]"),
        ({"duplicates": "remove"}, "duplicates = 'remove': must be one of flag, drop, keep"),
        ({"conflicts": True}, "conflicts = True: must be one of flag, drop, keep"),
        ({"repeated_min": 1}, "repeated_min = 1: must be a whole number >= 2"),
    ],
)
def test_bad_policy_options_are_clear_errors(tmp_path, options, message):
    path = publishers(tmp_path)
    with pytest.raises(IngestError, match=message):
        run(tmp_path, path, **options)


# ---------------------------------------------------------------- column, and the default


def test_column_split_needs_test_rows(tmp_path):
    records = [
        {"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real", "part": "val" if i < 5 else "train"}
        for i in range(40)
    ]
    path = write_csv(tmp_path / "a.csv", records)
    with pytest.raises(
        IngestError, match="split: column needs test rows in the data's own split column, found train 35"
    ):
        run(tmp_path, path, COLUMNS | {"split": "part"}, split="column")
    with pytest.raises(IngestError, match="found no split values"):
        run(tmp_path, path, split="column")


def test_column_split_keeps_the_data_split_and_others_ignore_it(tmp_path):
    records = [
        {"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real", "part": "test" if i < 10 else "train"}
        for i in range(60)
    ]
    path = write_csv(tmp_path / "a.csv", records)
    df, report = run(tmp_path, path, COLUMNS | {"split": "part"}, split="column")
    assert (df.set_index("id").loc[[str(i) for i in range(10)], "split"] == "test").all()
    assert report.split_method == "official test split; validation: stratified 10% of train, seed 0"
    assert report.split_policy["split"] == "column"
    df, report = run(tmp_path, path, COLUMNS | {"split": "part"}, split="stratified")
    assert report.notes == ["the data's own split column is not used: split: stratified"]
    assert (df["split"] == "test").sum() == 12


def test_default_is_the_adapters_default_split_else_auto(tmp_path, monkeypatch):
    path = time_shifted(tmp_path)
    columns = COLUMNS | {"timestamp": "when"}
    monkeypatch.setattr(generic, "default_split", lambda options: "stratified", raising=False)
    _, report = run(tmp_path, path, columns)
    assert report.split_policy == {"split": "stratified", "split_by": None, "chosen_by": "generic adapter default"}
    monkeypatch.delattr(generic, "default_split", raising=False)
    _, report = run(tmp_path, path, columns)  # auto: timestamps, so chronological, as before policies
    assert report.split_policy == {"split": "chronological", "split_by": None, "chosen_by": "auto"}
    assert report.split_method == "chronological: newest 20% test; validation: newest 10% of train"


# ---------------------------------------------------------------- built-in datasets unchanged


@pytest.mark.parametrize(
    ("dataset", "policy"),
    [
        ("mediaeval2016", {"split": "column", "split_by": None, "chosen_by": "auto"}),
        ("politifact", {"split": "chronological", "split_by": None, "chosen_by": "auto"}),
    ],
)
def test_builtin_datasets_keep_their_split(dataset, policy):
    """The default policies give the committed slices' articles.parquet byte for byte: the md5
    dvc.lock records for it (so no pulled DVC output is needed), and the report's counts."""
    df, report = ingest(dataset, ROOT / "data" / "raw", {})
    assert report.split_policy == policy
    committed = json.loads((ROOT / "data" / "interim" / dataset / "ingest_report.json").read_text())
    for key in ("rows_read", "rows_kept", "rows_rejected", "rejected_by_reason", "split_method", "label_counts"):
        assert report.to_dict()[key] == committed[key], key
    buffer = io.BytesIO()
    pq.write_table(to_table(df), buffer)  # as the ingest stage writes it
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    outs = {out["path"]: out["md5"] for out in lock["stages"][f"ingest-{dataset}"]["outs"]}
    assert hashlib.md5(buffer.getvalue()).hexdigest() == outs[f"data/interim/{dataset}/articles.parquet"]


# ---------------------------------------------------------------- params.yaml


def test_params_check_validates_the_policy_options():
    good = {"ingest": {"options": {"mine": {"split": "group", "split_by": "publisher", "duplicates": "drop"}}}}
    check_params(good)
    for options, message in [
        ({"split": "newest"}, "ingest.options.mine.split = 'newest': must be stratified, chronological, group or col"),
        ({"split": "group"}, "ingest.options.mine: split: group needs split_by"),
        ({"split_by": "publisher"}, "split_by is used only with split: group"),
        ({"label_shift_margin": 1.5}, r"ingest.options.mine.label_shift_margin = 1.5: must be a number in \(0, 1\]"),
        ({"repeated": "warn"}, "ingest.options.mine.repeated = 'warn': must be flag, drop or keep"),
        ({"repeated_min": 1}, "ingest.options.mine.repeated_min = 1: must be an integer >= 2"),
    ]:
        with pytest.raises(ParamsError, match=message):
            check_params({"ingest": {"options": {"mine": options}}})


def test_label_shift_names_the_whole_cause_of_a_group_split(tmp_path):
    # a group description has '; ' inside its brackets; the warning must quote it whole
    records = [
        {"id": str(i), "text": text(i), "label": "fake" if i % 20 < 7 else "real", "publisher": f"p{i % 20}"}
        for i in range(60)
    ]
    records += [{"id": f"e{k}", "text": text(100 + k), "label": "fake", "publisher": ""} for k in range(10)]
    _, report = run(
        tmp_path, write_csv(tmp_path / "p.csv", records), split="group", split_by="publisher", label_shift_margin=0.001
    )
    test_cause = report.split_method.split("; validation")[0]
    assert test_cause.endswith("(30 groups; 10 rows with empty publisher: one group each)")
    (warning,) = [w for w in report.warnings if w.startswith("label shift: test")]
    assert f"({test_cause}): accuracy on test" in warning
