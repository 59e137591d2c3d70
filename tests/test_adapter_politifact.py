"""PolitiFact adapter on a tiny real slice (tests/fixtures/fakenewsnet).

19 real article files (9 fake/, 10 real/; bulky scraping fields the adapter ignores were
dropped), among them politifact14920 which the source has under both fake/ and real/, two
empty texts (politifact15017, politifact182) and politifact9107 whose publish_date is year 1.
The UPFD mapping pickle keeps the real node entries of the 8 fixture ids that are UPFD graphs
plus 5 Twitter user nodes; ids/politifact_{fake,real}.csv keep those ids' real rows.
"""

import json
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data import politifact as politifact_adapter
from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError, IngestReport

FIXTURES = Path(__file__).parent / "fixtures"
CONTENT = "fakenewsnet/politifact_content"
FAKE = {
    "politifact13589",
    "politifact14293",
    "politifact14947",
    "politifact15096",
    "politifact15429",
    "politifact15532",
    "politifact15534",
}
REAL = {
    "politifact12627",
    "politifact212",
    "politifact2208",
    "politifact2298",
    "politifact245",
    "politifact5276",
    "politifact8557",
    "politifact9107",
}
IN_UPFD = {
    "politifact14947",
    "politifact15096",
    "politifact15532",
    "politifact15534",
    "politifact12627",
    "politifact245",
    "politifact8557",
    "politifact2298",
}


@pytest.fixture(scope="module")
def politifact():
    return ingest("politifact", FIXTURES)


@pytest.fixture
def root(tmp_path):
    shutil.copytree(FIXTURES / "fakenewsnet", tmp_path / "fakenewsnet")
    return tmp_path


def article_file(root, folder, id):
    return root / CONTENT / folder / id / "news content.json"


def test_counts_ids_and_labels(politifact):
    df, report = politifact
    assert report.rows_read == 19
    assert report.rejected == {
        "empty or whitespace text": 2,
        "id in both fake/ and real/ (conflicting labels)": 2,
    }
    assert report.rows_kept == len(df) == 15
    assert set(df.loc[df["label"] == 1, "id"]) == FAKE  # fake/ -> 1
    assert set(df.loc[df["label"] == 0, "id"]) == REAL  # real/ -> 0
    assert "politifact14920" not in set(df["id"])
    assert any("fake/politifact14920" in e for e in report.examples["id in both fake/ and real/ (conflicting labels)"])
    assert (df["lang"] == "en").all() and (df["image_paths"].map(len) == 0).all()
    row = df.set_index("id").loc["politifact245"]
    assert row["title"] == "Missing Teen-Ager Found in New Jersey"
    assert row["text"].startswith("A Connecticut teen-ager who was missing for six days")
    assert row["timestamp"] == pd.Timestamp("1996-07-13 05:00", tz="UTC")  # publish_date 837234000.0
    # the source often holds a scraped error page instead of the article: kept as-is
    assert df.set_index("id").loc["politifact12627", "title"] == "Are you a robot?"


def test_upfd_and_tweet_joins(politifact):
    df, _ = politifact
    extra = df.set_index("id")["extra"].map(json.loads)
    assert {i for i, e in extra.items() if e["in_upfd"]} == IN_UPFD
    assert extra["politifact14947"]["tweet_ids"] == 26
    assert extra["politifact2298"]["tweet_ids"] == 4
    assert extra["politifact5276"]["tweet_ids"] is None  # not in ids/politifact_real.csv
    assert extra["politifact9107"]["authors"] == ["Phillip M. Bailey"]


def test_dates_and_duplicate_text_flags(politifact):
    df, report = politifact
    ts = df.set_index("id")["timestamp"]
    assert pd.isna(ts["politifact9107"])  # publish_date in year 1
    assert report.flagged["implausible publish_date before 1900 (kept as null)"] == 1
    assert ts.notna().sum() == 6
    # 14293, 15532 and 15534 all scraped the same 'enable JavaScript' page
    assert report.flagged["text identical to another article's"] == 2


def test_chronological_splits(politifact):
    df, report = politifact
    assert report.split_method.startswith("chronological: newest 20% test")
    assert set(df["split"]) == {"train", "val", "test"}
    assert df["id"].is_unique  # each article in exactly one split
    timed = df[df["timestamp"].notna()]
    assert timed.loc[timed["timestamp"].idxmax(), "id"] == "politifact14947"
    assert (
        timed.loc[timed["split"] == "test", "timestamp"].min() >= timed.loc[timed["split"] != "test", "timestamp"].max()
    )


def test_malformed_json_is_a_counted_skip(root):
    article_file(root, "fake", "politifact15096").write_text('{"text": "cut off')
    df, report = ingest("politifact", root)
    assert report.rejected["malformed JSON file"] == 1
    assert "fake/politifact15096/news content.json" in report.examples["malformed JSON file"][0]
    assert "politifact15096" not in set(df["id"]) and len(df) == 14


def test_missing_content_file_is_a_counted_skip(root):
    article_file(root, "real", "politifact212").unlink()
    df, report = ingest("politifact", root)
    assert report.rejected["no news content.json"] == 1
    assert report.examples["no news content.json"][0].endswith("real/politifact212")


def test_non_utf8_bytes_are_noted_and_kept(root):
    path = article_file(root, "real", "politifact245")
    path.write_bytes(path.read_bytes().replace(b"A Connecticut", b"A Conn\xe9cticut"))
    df, report = ingest("politifact", root)
    assert any("politifact245" in n and "non-UTF-8" in n for n in report.notes)
    assert df.set_index("id").loc["politifact245", "text"].startswith("A Conn\ufffdcticut")


def test_missing_upfd_mapping_names_the_file(root):
    (root / "fakenewsnet/upfd_politifact/pol_id_twitter_mapping.pkl").unlink()
    with pytest.raises(IngestError, match="pol_id_twitter_mapping.pkl: file not found"):
        ingest("politifact", root)


def test_upfd_mapping_that_is_not_a_dict(root):
    with open(root / "fakenewsnet/upfd_politifact/pol_id_twitter_mapping.pkl", "wb") as handle:
        pickle.dump(["politifact245"], handle)
    with pytest.raises(IngestError, match="expected a dict"):
        ingest("politifact", root)


def test_missing_tweet_ids_column_names_file_and_column(root):
    path = root / "fakenewsnet/ids/politifact_fake.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    with pytest.raises(IngestError, match=r"politifact_fake.csv: missing column\(s\) 'tweet_ids'"):
        ingest("politifact", root)


def test_missing_label_folder(root):
    shutil.rmtree(root / CONTENT / "real")
    with pytest.raises(IngestError, match="politifact_content/real: folder not found"):
        ingest("politifact", root)


def test_upfd_only_keeps_the_articles_with_a_propagation_graph():
    report = IngestReport(dataset="politifact", source=str(FIXTURES))
    rows = politifact_adapter.read(FIXTURES, {"upfd_only": True}, report)
    kept = {row["id"] for row in rows if row["text"]}
    assert kept == IN_UPFD
    skipped = report.rejected["no UPFD propagation graph (option upfd_only)"]
    assert skipped == len(politifact_adapter.read(FIXTURES, {}, IngestReport(dataset="politifact", source=""))) - len(
        rows
    )
    assert skipped > 0
