"""MediaEval 2016 adapter on the embedded default slice (real posts and images)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError

DEFAULT = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def mediaeval():
    return ingest("mediaeval2016", DEFAULT)


def test_official_splits_labels_and_images(mediaeval):
    df, report = mediaeval
    assert report.rows_read == report.rows_kept == len(df) == 456
    assert report.split_method.startswith("official test split; validation: stratified by group")
    test = df[df["split"] == "test"]
    assert len(test) == 125 and test["event"].str.startswith("attacks_paris").any()  # test events are other events
    assert set(df["label"]) == {0, 1}
    with_image = df[df["image_paths"].map(len) > 0]
    assert all((DEFAULT / p).is_file() for paths in with_image["image_paths"] for p in paths)
    assert report.flagged["no image file"] == (df["image_paths"].map(len) == 0).sum() == 6
    assert df["timestamp"].notna().all()


def test_posts_of_one_image_stay_in_one_split(mediaeval):
    df, _ = mediaeval
    first_image = df["image_paths"].map(lambda p: p[0] if len(p) else None)
    assert df[first_image.notna()].groupby(first_image)["split"].nunique().max() == 1


def _copy(tmp_path) -> Path:
    shutil.copytree(DEFAULT / "mediaeval2016", tmp_path / "mediaeval2016")
    return tmp_path / "mediaeval2016" / "train_posts_clean.csv"


def test_broken_rows_are_counted(tmp_path):
    path = _copy(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header, first = lines[0], lines[1]
    post_id = first.split(",")[0]
    lines += [
        first,  # duplicate id
        "999,some text,1,boston_fake_03,user,Wed Apr 17 18:57:37 +0000 2013,satire",  # unknown label
        "998,   ,1,boston_fake_03,user,Wed Apr 17 18:57:37 +0000 2013,fake",  # whitespace text
        "997,too few fields",  # malformed row
        "996,bad time,1,boston_fake_03,user,yesterday,fake",  # unparseable timestamp, kept
    ]
    path.write_text("\n".join([header] + lines[1:]) + "\n", encoding="utf-8")
    df, report = ingest("mediaeval2016", tmp_path)
    assert report.rejected["duplicate id"] == 1
    assert report.rejected["label not in mapping (satire)"] == 1
    assert report.rejected["empty or whitespace text"] == 1
    assert report.rejected["malformed row (wrong number of fields)"] == 1
    assert report.flagged["unparseable timestamp (kept as null)"] == 1
    assert (df["id"] == post_id).sum() == 1 and "996" in set(df["id"])
    assert any("train_posts_clean.csv:" in e for e in report.examples["duplicate id"])


def test_missing_column_names_the_file(tmp_path):
    path = _copy(tmp_path)
    text = path.read_text(encoding="utf-8").replace("post_text", "tweet_text", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError, match=r"train_posts_clean.csv: missing column\(s\) 'post_text'"):
        ingest("mediaeval2016", tmp_path)
