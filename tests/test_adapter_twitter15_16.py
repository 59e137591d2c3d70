"""Twitter15/16 adapter on a tiny real slice (tests/fixtures/twitter15_16: 20 labels per
subset, 3 tweets in both subsets, tree files cut to their first 20 lines)."""

import json
import shutil
from pathlib import Path

import pytest

from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = {"640118021101604864", "640182854928961536", "648993731169939456"}


@pytest.fixture(scope="module")
def rumour():
    return ingest("twitter15_16", FIXTURES)


def test_rumour_mapping_counts_and_ids(rumour):
    df, report = rumour
    assert report.rows_read == report.rows_kept == len(df) == 40
    assert not report.rejected and not report.flagged
    assert df["label"].value_counts().to_dict() == {1: 32, 0: 8}  # false/true/unverified = rumour
    assert df["id"].is_unique
    assert {f"twitter15:{t}" for t in SHARED} | {f"twitter16:{t}" for t in SHARED} <= set(df["id"])
    assert (df["text"] == "").all() and set(df["event"]) == {"twitter15", "twitter16"}


def test_extra_records_tree(rumour):
    df, _ = rumour
    extras = df.set_index("id")["extra"].map(json.loads)
    first = extras["twitter15:640118021101604864"]
    assert first == {
        "subset": "twitter15",
        "label_4way": "unverified",
        "tree_file": "twitter15_16/twitter15/tree/640118021101604864.txt",
        "tree_edges": 19,  # 20 lines kept in the fixture, minus the ROOT line
        "has_tree": True,
    }
    for e in extras:
        assert (FIXTURES / e["tree_file"]).is_file()
    for label_4way, label in {"false": 1, "true": 1, "unverified": 1, "non-rumor": 0}.items():
        assert set(df.loc[extras.map(lambda e: e["label_4way"]).to_numpy() == label_4way, "label"]) == {label}


def test_stratified_split_keeps_shared_tweets_together(rumour):
    df, report = rumour
    assert report.split_method.startswith("stratified")
    assert set(df["split"]) == {"train", "val", "test"}
    for tweet_id in SHARED:
        assert df.loc[df["id"].str.endswith(tweet_id), "split"].nunique() == 1


def test_veracity_mapping():
    df, report = ingest("twitter15_16", FIXTURES, {"mapping": "veracity"})
    assert report.rejected == {"label excluded by mapping (non-rumor)": 8, "label excluded by mapping (unverified)": 8}
    assert df["label"].value_counts().to_dict() == {1: 12, 0: 12}
    extras = df["extra"].map(json.loads)
    assert all((e["label_4way"] == "false") == (label == 1) for e, label in zip(extras, df["label"]))


def test_unknown_mapping_is_an_error():
    with pytest.raises(IngestError, match="mapping='binary'"):
        ingest("twitter15_16", FIXTURES, {"mapping": "binary"})


def test_missing_tree_and_bad_label_line(tmp_path):
    shutil.copytree(FIXTURES / "twitter15_16", tmp_path / "twitter15_16")
    (tmp_path / "twitter15_16" / "twitter16" / "tree" / "640118021101604864.txt").unlink()
    label_file = tmp_path / "twitter15_16" / "twitter15" / "label.txt"
    label_file.write_text(label_file.read_text() + "false 123\n")
    df, report = ingest("twitter15_16", tmp_path)
    assert report.rejected == {"malformed label line (not 'label:tweet_id')": 1}
    assert report.examples["malformed label line (not 'label:tweet_id')"] == [f"{label_file}:21"]
    assert report.flagged == {"no tree file": 1}
    row = json.loads(df.set_index("id").loc["twitter16:640118021101604864", "extra"])
    assert row["has_tree"] is False and row["tree_edges"] == 0
