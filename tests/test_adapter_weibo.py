"""Weibo adapter on a tiny real slice (tests/fixtures/weibo: 29 posts, 4 images)."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data.ingest import ingest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def weibo():
    return ingest("weibo", FIXTURES)


def test_counts_and_labels(weibo):
    df, report = weibo
    assert report.rows_read == 29
    assert report.rejected == {"empty or whitespace text": 2}  # two real empty test_rumor posts
    assert report.rows_kept == len(df) == 27
    assert report.label_counts == {
        "train": {"0": 6, "1": 5},
        "val": {"0": 2, "1": 3},
        "test": {"0": 6, "1": 5},
    }
    rumor = df[df["id"] == "3511947309647762"].iloc[0]  # first post of train_rumor.txt
    assert rumor["label"] == 1 and rumor["lang"] == "zh" and rumor["user_id"] == "2803550292"
    assert df.loc[df["id"] == "3929882201725464", "label"].item() == 0  # first post of train_nonrumor.txt


def test_official_splits_and_validation_ids(weibo):
    df, report = weibo
    assert report.split_method == "official test split; official validation split"
    ids = {s: set(df.loc[df["split"] == s, "id"]) for s in ("train", "val", "test")}
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    assert ids["val"] == {
        "3553661986467439",
        "3511592958286097",
        "3882404240219603",
        "3900281836091121",
        "3929701917251857",
    }
    assert "3708671865257353" in ids["test"]  # in validate_id.pickle but an official test post: stays test


def test_beijing_time_to_utc(weibo):
    df, _ = weibo
    ts = df.set_index("id")["timestamp"]
    assert ts["3511947309647762"] == pd.Timestamp("2012-11-13 08:55", tz="UTC")  # "2012-11-13 16:55" Beijing
    assert ts["3929882201725464"] == pd.Timestamp(1452440393000, unit="ms", tz="UTC")  # epoch ms in nonrumor files
    assert df["timestamp"].notna().all()


def test_images(weibo):
    df, report = weibo
    paths = df.set_index("id")["image_paths"]
    assert list(paths["3830363103253576"]) == ["weibo/rumor_images/3eacda48jw1er1c8fqye2j20by06mt8q.jpg"]
    assert list(paths["3913512630314462"]) == [
        "weibo/nonrumor_images/644471aegw1eyehmrn04wj20c806fgll.jpg"
    ]  # 1 of 9 URLs
    for p in df["image_paths"].explode().dropna():
        assert (FIXTURES / p).is_file()
    assert (df["image_paths"].map(len) > 0).sum() == 5
    assert report.flagged["no image file"] == 24
    extra = json.loads(df.set_index("id").loc["3913512630314462", "extra"])
    assert len(extra["image_urls"]) == 9 and extra["user_name"] is None  # 9 URLs, 2 files in the full data


def test_malformed_meta_line_is_counted_and_reader_resyncs(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(FIXTURES / "weibo", root / "weibo")
    path = root / "weibo" / "tweets" / "train_rumor.txt"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"|", b" ", 2)  # second post's meta line: 13 fields
    path.write_bytes(b"\n".join(lines))
    df, report = ingest("weibo", root)
    assert report.rejected["malformed meta line (not 15 '|' fields)"] == 1
    assert report.examples["malformed meta line (not 15 '|' fields)"] == [f"{path}:4 [13 fields]"]
    assert report.rows_read == 29 and len(df) == 26
    assert "3899073935617462" not in set(df["id"])  # the broken post
    assert "3584521306131914" in set(df["id"])  # the post right after it is kept


def test_missing_image_url_line_is_counted_and_reader_resyncs(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(FIXTURES / "weibo", root / "weibo")
    path = root / "weibo" / "tweets" / "train_rumor.txt"
    lines = path.read_bytes().split(b"\n")
    del lines[1]  # first post loses its image-URL line
    path.write_bytes(b"\n".join(lines))
    df, report = ingest("weibo", root)
    reason = "malformed post (no image-URL line ending with 'null')"
    assert report.rejected[reason] == 1 and report.examples[reason] == [f"{path}:2"]
    assert "3511947309647762" not in set(df["id"])
    assert "3899073935617462" in set(df["id"]) and len(df) == 26
