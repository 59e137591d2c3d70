"""PHEME adapter on a tiny real slice (tests/fixtures/pheme).

11 real source tweets: germanwings-crash rumours (2 true, 2 false, 2 unverified) and
non-rumours (3), ebola-essien rumours (2 false) and the real, empty ebola-essien
non-rumour file. labels/ keeps the lines of those 11 threads plus one Charlie Hebdo
non-rumour thread (552784600502915072) whose tweet is not in the fixture.
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data import pheme as pheme_adapter
from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError, IngestReport

FIXTURES = Path(__file__).parent / "fixtures"
GW_RUMOURS = "pheme/source_tweets/germanwings-crash-all-rnr-threads.rumours.json"
GW_NON_RUMOURS = "pheme/source_tweets/germanwings-crash-all-rnr-threads.non-rumours.json"
TRUE = {"580320995266936832", "581063957684850688"}
FALSE = {"580697361799876608", "580329886532968448", "521369179392581632", "521375609206083584"}
UNVERIFIED = {"580320329203093504", "581357303405813760"}
NON_RUMOUR = {"580336204186521600", "580333827425439745", "581245152158728192"}


@pytest.fixture(scope="module")
def pheme():
    df, report = ingest("pheme", FIXTURES)
    df["extra"] = df["extra"].map(json.loads)
    return df, report


@pytest.fixture
def root(tmp_path):
    shutil.copytree(FIXTURES / "pheme", tmp_path / "pheme")
    return tmp_path


def edit_tweets(path, change):
    tweets = json.loads(path.read_text())
    change(tweets)
    path.write_text(json.dumps(tweets))


def drop_label_line(root, thread_id):
    ids = (root / "pheme/labels/thread_id.txt").read_text().split()
    codes = (root / "pheme/labels/thread_label.txt").read_text().split()
    kept = [(i, c) for i, c in zip(ids, codes) if i != thread_id]
    (root / "pheme/labels/thread_id.txt").write_text("".join(i + "\n" for i, _ in kept))
    (root / "pheme/labels/thread_label.txt").write_text("".join(c + "\n" for _, c in kept))


def set_label(root, thread_id, code):
    ids = (root / "pheme/labels/thread_id.txt").read_text().split()
    codes = (root / "pheme/labels/thread_label.txt").read_text().split()
    codes[ids.index(thread_id)] = code
    (root / "pheme/labels/thread_label.txt").write_text("".join(c + "\n" for c in codes))


def test_rumour_mapping(pheme):
    df, report = pheme
    assert report.rows_read == report.rows_kept == len(df) == 11
    assert report.rejected == {} and report.flagged == {}
    assert set(df.loc[df["label"] == 1, "id"]) == TRUE | FALSE | UNVERIFIED  # rumour of any veracity
    assert set(df.loc[df["label"] == 0, "id"]) == NON_RUMOUR
    veracity = df.set_index("id")["extra"].map(lambda e: e["veracity"])
    assert {i for i, v in veracity.items() if v == "false"} == FALSE
    assert {i for i, v in veracity.items() if v == "true"} == TRUE
    assert {i for i, v in veracity.items() if v == "non-rumour"} == NON_RUMOUR
    assert any("ebola-essien-all-rnr-threads.non-rumours.json: no tweets" in n for n in report.notes)
    assert "1 labelled thread(s) have no source tweet in source_tweets/" in report.notes


def test_tweet_fields(pheme):
    df, _ = pheme
    row = df.set_index("id").loc["521375609206083584"]
    assert row["event"] == "ebola-essien" and row["user_id"] == "1561123663" and row["lang"] == "en"
    assert row["timestamp"] == pd.Timestamp("2014-10-12 19:03:26", tz="UTC")  # Sun Oct 12 19:03:26 +0000 2014
    assert row["text"].startswith("Good news: The rumours that Michael Essien has contracted")
    assert list(row["image_paths"]) == []
    assert row["extra"] == {
        "veracity": "false",
        "rumour_file": "rumours",
        "media_urls": ["https://pbs.twimg.com/media/BzxMWlXCcAAk2nu.jpg"],
    }
    assert set(df["event"]) == {"germanwings-crash", "ebola-essien"}
    assert (df["extra"].map(lambda e: len(e["media_urls"])) > 0).sum() == 5


def test_chronological_splits(pheme):
    df, report = pheme
    assert report.split_method == "chronological: newest 20% test; validation: newest 10% of train"
    assert set(df["split"]) == {"train", "val", "test"} and df["id"].is_unique
    ts = df.groupby("split")["timestamp"]
    assert ts.min()["test"] >= ts.max()["val"] and ts.min()["val"] >= ts.max()["train"]
    assert set(df.loc[df["split"] == "test", "id"]) == {"581357303405813760", "581245152158728192"}


def test_veracity_mapping(root):
    df, report = ingest("pheme", root, {"mapping": "veracity"})
    assert set(df.loc[df["label"] == 1, "id"]) == FALSE
    assert set(df.loc[df["label"] == 0, "id"]) == TRUE
    assert report.rejected == {"label excluded by mapping (non-rumour)": 3, "label excluded by mapping (unverified)": 2}
    with pytest.raises(IngestError, match="option 'mapping': unknown 'binary'"):
        ingest("pheme", root, {"mapping": "binary"})


def test_tweet_without_thread_label_uses_the_file(root):
    drop_label_line(root, "580320995266936832")  # a true rumour
    drop_label_line(root, "581245152158728192")  # a non-rumour
    df, report = ingest("pheme", root)
    assert report.flagged["no veracity label (labelled by file name)"] == 2
    labels = df.set_index("id")["label"]
    assert labels["580320995266936832"] == 1 and labels["581245152158728192"] == 0
    assert df.set_index("id").loc["580320995266936832", "extra"] == json.dumps(
        {"media_urls": [], "rumour_file": "rumours", "veracity": None}, sort_keys=True
    )
    report = IngestReport(dataset="pheme", source=str(root))
    pheme_adapter.read(root, {"mapping": "veracity"}, report)  # 5 rows kept: too few to split, so read them only
    assert report.rejected["label excluded by mapping (rumour)"] == 1
    assert report.rejected["label excluded by mapping (non-rumour)"] == 3


def test_bad_thread_labels_are_counted_skips(root):
    set_label(root, "580697361799876608", "7")  # unknown value
    set_label(root, "580329886532968448", "0")  # non-rumour label on a tweet of the rumours file
    df, report = ingest("pheme", root)
    assert report.rejected["label not in mapping (7)"] == 1
    assert report.rejected["thread label contradicts file (non-rumour in a rumour file)"] == 1
    assert GW_RUMOURS in report.examples["label not in mapping (7)"][0]
    assert len(df) == 9


def test_label_contradicting_the_tweets_own_veracity(root):
    set_label(root, "581063957684850688", "2")  # source says true
    _, report = ingest("pheme", root)
    assert report.rejected["thread label contradicts tweet VERACITY field (false vs true)"] == 1


def test_empty_text_duplicate_and_id_less_tweets(root):
    def change(tweets):
        tweets[0]["text"] = "   "
        tweets.append(dict(tweets[1]))  # the same source tweet twice
        tweets.append({"text": "no id"})

    edit_tweets(root / GW_NON_RUMOURS, change)
    df, report = ingest("pheme", root)
    assert report.rows_read == 13
    assert report.rejected == {"empty or whitespace text": 1, "duplicate id": 1, "malformed tweet (no id_str)": 1}
    assert report.examples["malformed tweet (no id_str)"] == [f"{root / GW_NON_RUMOURS}:5 [id_str]"]
    assert len(df) == 10


def test_non_utf8_bytes_are_noted(root):
    path = root / GW_RUMOURS
    path.write_bytes(path.read_bytes().replace(b"co-pilot confirmed", b"co-pil\xf6t confirmed"))
    df, report = ingest("pheme", root)
    assert any("germanwings-crash-all-rnr-threads.rumours.json" in n and "non-UTF-8" in n for n in report.notes)
    assert "co-pil\ufffdt confirmed" in df.set_index("id").loc["581063957684850688", "text"]


def test_unusable_files_name_the_file(root):
    (root / GW_RUMOURS).write_text('[{"id_str": "1", ')
    with pytest.raises(IngestError, match="germanwings-crash-all-rnr-threads.rumours.json:1: not valid JSON"):
        ingest("pheme", root)
    (root / GW_RUMOURS).write_text('{"id_str": "1"}')
    with pytest.raises(IngestError, match="rumours.json: expected a JSON list"):
        ingest("pheme", root)


def test_label_files_must_be_parallel(root):
    with open(root / "pheme/labels/thread_label.txt", "a") as handle:
        handle.write("1\n")
    with pytest.raises(IngestError, match="thread_id.txt has 12 ids but .*thread_label.txt has 13 labels"):
        ingest("pheme", root)
    (root / "pheme/labels/thread_label.txt").unlink()
    with pytest.raises(IngestError, match="thread_label.txt: file not found"):
        ingest("pheme", root)
