"""LIAR adapter on a tiny real slice (tests/fixtures/liar: 13 train, 6 valid, 7 test rows)."""

import json
import shutil
from pathlib import Path

import pytest

from pipeline.data.ingest import ingest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def liar():
    return ingest("liar", FIXTURES)


def test_counts_splits_and_binary_labels(liar):
    df, report = liar
    assert report.rows_read == report.rows_kept == len(df) == 26
    assert not report.rejected
    assert report.split_method == "official test split; official validation split"
    assert report.label_counts == {"train": {"0": 8, "1": 5}, "val": {"0": 2, "1": 4}, "test": {"0": 4, "1": 3}}
    ids = {s: set(df.loc[df["split"] == s, "id"]) for s in ("train", "val", "test")}
    assert ids["val"] == {"12134", "238", "7891", "8169", "929", "9416"}
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])


def test_six_way_label_and_metadata_kept(liar):
    df, _ = liar
    rows = df.set_index("id")
    six = rows["extra"].map(lambda e: json.loads(e)["label_6way"])
    assert set(six) == {"false", "pants-fire", "barely-true", "half-true", "mostly-true", "true"}
    for label_6way, binary in {
        "false": 1,
        "pants-fire": 1,
        "barely-true": 1,
        "half-true": 0,
        "mostly-true": 0,
        "true": 0,
    }.items():
        assert set(rows.loc[six == label_6way, "label"]) == {binary}
    obama = rows.loc["324"]
    assert obama["user_id"] == "barack-obama" and obama["lang"] == "en" and obama["label"] == 0
    assert (
        obama["text"]
        == 'Hillary Clinton agrees with John McCain "by voting to give George Bush the benefit of the doubt on Iran."'
    )
    extra = json.loads(obama["extra"])
    assert extra["party"] == "democrat" and extra["state"] == "Illinois" and extra["context"] == "Denver"
    assert extra["subjects"] == ["foreign-policy"] and extra["credit_history"]["half_true_count"] == 160


def test_unbalanced_quotes_do_not_swallow_lines(liar):
    df, _ = liar
    rows = df.set_index("id")
    # real rows whose statement opens a quote that never closes; the next line is its own row
    assert rows.loc["1993", "text"] == '"Georgia has the most restrictive ballot access laws in the country.'
    assert rows.loc["3666", "label"] == 1
    assert rows.loc["1653", "text"].startswith('"As a state rep')
    assert json.loads(rows.loc["1653", "extra"])["context"] == "a speech"


def test_binary_mapping_option():
    mapping = {"false": 1, "pants-fire": 1, "barely-true": None, "half-true": None, "mostly-true": 0, "true": 0}
    df, report = ingest("liar", FIXTURES, {"binary_mapping": mapping})
    assert report.rejected == {"label excluded by mapping (barely-true)": 2, "label excluded by mapping (half-true)": 8}
    assert len(df) == 16


def test_wrong_field_count_and_unknown_label_are_counted(tmp_path):
    shutil.copytree(FIXTURES / "liar", tmp_path / "liar")
    path = tmp_path / "liar" / "train.tsv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1].rsplit("\t", 1)[0]  # 13 fields
    lines[2] = lines[2].replace("\tmostly-true\t", "\tmostly-false\t")
    path.write_text("\n".join(lines), encoding="utf-8")
    df, report = ingest("liar", tmp_path)
    assert report.rejected == {"malformed row (wrong number of fields)": 1, "label not in mapping (mostly-false)": 1}
    assert report.examples["malformed row (wrong number of fields)"] == [f"{path}:2 [13 fields, expected 14]"]
    assert report.examples["label not in mapping (mostly-false)"] == [f"{path}:3 [label]"]
    assert report.rows_read == 26 and len(df) == 24
