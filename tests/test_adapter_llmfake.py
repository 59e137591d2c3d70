"""LLMFake adapter on a tiny real slice (tests/fixtures/llmfake).

Real rows of 6 generation files, texts cut to their first 600 characters (the same cut for
news_text and synthetic_misinformation): coaid paraphrase + rewrite (7 news ids: 4 fake
with generations, 3 real whose 'generation' is a copy of the article, two of them the
scrape-failure text '""'), gossipcop open-ended (4 ids), politifact False_Context +
rewrite (6 ids, with politifact14940 listed twice, once as fake and once as real, as in
the source) and 3 rows of politifact totally_arbitrary_generation (prompt-only layout).
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError

FIXTURES = Path(__file__).parent / "fixtures"
PREFIX = "synthetic-gpt-3.5-turbo_"
COAID_PARAPHRASE = f"llmfake/coaid/{PREFIX}coaid_paraphrase_generation_processed.csv"
COAID_REWRITE = f"llmfake/coaid/{PREFIX}coaid_rewrite_generation_processed.csv"
POLITIFACT_CONTEXT = f"llmfake/politifact/{PREFIX}politifact_information_manipulation_False_Context_processed.csv"


@pytest.fixture(scope="module")
def llmfake():
    df, report = ingest("llmfake", FIXTURES)
    df["extra"] = df["extra"].map(json.loads)
    return df, report


@pytest.fixture
def root(tmp_path):
    shutil.copytree(FIXTURES / "llmfake", tmp_path / "llmfake")
    return tmp_path


def load(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def source_labels():
    """'<subset>:<news_id>' -> label of its first row in the fixture CSVs."""
    labels = {}
    for path in sorted((FIXTURES / "llmfake").glob("*/*.csv")):
        table = load(path)
        if "news_id" in table:
            for news_id, label in zip(table["news_id"], table["label"]):
                labels.setdefault(f"{path.parent.name}:{news_id}", int(label))
    return labels


def test_counts(llmfake):
    df, report = llmfake
    assert report.rows_read == 35  # CSV records: 7+7 coaid, 4 gossipcop, 7+7+3 politifact
    assert report.rejected == {
        "generated text identical to the human text": 11,
        "duplicate id": 2,
        "duplicate id with a different label": 1,
    }
    assert report.rows_kept == len(df) == 39
    assert (df["extra"].map(lambda e: e["origin"]) == "human").sum() == 17
    assert report.flagged == {"human text identical to another article's": 1}  # coaid 1825 and 1833: '""'


def test_human_rows_keep_their_fact_check_label(llmfake):
    df, _ = llmfake
    human = df[df["extra"].map(lambda e: e["origin"]) == "human"].set_index("id")
    assert human["label"].to_dict() == source_labels()
    assert human.loc["coaid:5306", "text"] == "The coronavirus test costs $3,200."
    assert human.loc["coaid:5306", "label"] == 1 and human.loc["coaid:447", "label"] == 0
    assert set(human["event"]) == {"coaid", "gossipcop", "politifact"}
    assert human.loc["politifact:politifact370", "extra"] == {
        "origin": "human",
        "method": None,
        "subset": "politifact",
        "news_id": "politifact370",
    }


def test_generated_rows_are_fake_with_method_from_file_name(llmfake):
    df, _ = llmfake
    generated = df[df["extra"].map(lambda e: e["origin"]) == "generated"].set_index("id")
    assert len(generated) == 22 and (generated["label"] == 1).all()
    assert generated.loc["politifact:politifact370:information_manipulation_False_Context", "extra"] == {
        "origin": "generated",
        "method": "information_manipulation_False_Context",
        "subset": "politifact",
        "news_id": "politifact370",
    }
    assert generated.loc["coaid:5306:rewrite_generation", "event"] == "coaid"
    arbitrary = sorted(i for i in generated.index if i.startswith("politifact:totally_arbitrary_generation:"))
    assert arbitrary == [
        "politifact:totally_arbitrary_generation:11",
        "politifact:totally_arbitrary_generation:18",
        "politifact:totally_arbitrary_generation:6",
    ]  # CSV line numbers
    assert generated.loc[arbitrary[0], "extra"]["prompt"].startswith("Ignore previous instructions.")
    assert all("theme" not in e for e in df["extra"])  # label-leaking column left out


def test_copied_generations_are_rejected(llmfake):
    df, report = llmfake
    ids = set(df["id"])
    assert "coaid:447" in ids and "coaid:447:paraphrase_generation" not in ids  # real CoAID: article copied
    assert "politifact:politifact13515:information_manipulation_False_Context" not in ids
    assert "politifact:politifact13515:rewrite_generation" in ids


def test_repeated_news_id_reaches_ingest_as_duplicate(llmfake):
    df, report = llmfake
    # politifact14940 is in each politifact file twice (fake, then real): its human row and
    # both generated rows are counted repeats (the human row with the other label apart); the
    # first (fake) row is kept
    assert report.rejected["duplicate id"] + report.rejected["duplicate id with a different label"] == 3
    assert any(POLITIFACT_CONTEXT in e for e in report.examples["duplicate id with a different label"])
    assert df.set_index("id").loc["politifact:politifact14940", "label"] == 1


def test_group_split_keeps_article_and_rewrites_together(llmfake):
    df, report = llmfake
    assert report.split_method.startswith("stratified by group: 20% test")
    assert set(df["split"]) == {"train", "val", "test"}
    assert df["id"].is_unique
    group = df["extra"].map(lambda e: f"{e['subset']}:{e['news_id']}" if "news_id" in e else None).fillna(df["id"])
    splits_per_group = df.groupby(group)["split"].nunique()
    assert (splits_per_group == 1).all()
    assert df.groupby(group).size()["coaid:5306"] == 3  # the article, its paraphrase and its rewrite


def test_subsets_option(root):
    df, report = ingest("llmfake", root, {"subsets": ["coaid", "gossipcop"]}, val_frac=0.25)
    assert set(df["event"]) == {"coaid", "gossipcop"}
    assert report.rows_read == 18
    with pytest.raises(IngestError, match="unknown \\['weibo'\\]"):
        ingest("llmfake", root, {"subsets": ["weibo"]})


def test_unknown_label_value_is_a_counted_skip(root):
    table = load(root / POLITIFACT_CONTEXT)
    table.loc[table["news_id"] == "politifact370", "label"] = "2"
    table.to_csv(root / POLITIFACT_CONTEXT, index=False)
    df, report = ingest("llmfake", root)
    assert report.rejected["label not in mapping (2)"] == 1
    ids = set(df["id"])
    assert "politifact:politifact370" not in ids  # its human row came from that file only
    assert "politifact:politifact370:information_manipulation_False_Context" in ids  # generation still valid


def test_missing_column_names_file_and_column(root):
    load(root / COAID_REWRITE).drop(columns=["synthetic_misinformation"]).to_csv(root / COAID_REWRITE, index=False)
    with pytest.raises(
        IngestError, match=r"coaid_rewrite_generation_processed.csv: missing column\(s\) 'synthetic_misinformation'"
    ):
        ingest("llmfake", root)


def test_empty_generation_and_malformed_row(root):
    table = load(root / COAID_REWRITE)
    table.loc[table["news_id"] == "5306", "synthetic_misinformation"] = "  "
    table.to_csv(root / COAID_REWRITE, index=False)
    with open(root / COAID_REWRITE, "a") as handle:
        handle.write("9999,too few fields\n")
    df, report = ingest("llmfake", root)
    assert report.rejected["empty or whitespace text"] == 1
    assert "coaid:5306:rewrite_generation" not in set(df["id"])
    assert report.rejected["malformed row (wrong number of fields)"] == 1
    assert report.rows_read == 36


def test_non_utf8_bytes_are_noted(root):
    path = root / COAID_PARAPHRASE
    path.write_bytes(path.read_bytes().replace(b"The coronavirus test costs", b"The coronavirus t\xe9st costs"))
    df, report = ingest("llmfake", root)
    assert any("coaid_paraphrase" in n and "non-UTF-8" in n for n in report.notes)
    assert df.set_index("id").loc["coaid:5306", "text"] == "The coronavirus t\ufffdst costs $3,200."


def test_missing_subset_folder(root):
    shutil.rmtree(root / "llmfake/gossipcop")
    with pytest.raises(IngestError, match="llmfake/gossipcop: no CSV files"):
        ingest("llmfake", root)


def test_sample_option_keeps_whole_groups_and_counts_the_rest(llmfake):
    full, _ = llmfake
    df, report = ingest("llmfake", FIXTURES, {"sample": 30})
    groups = lambda frame: frame["id"].str.split(":").str[:2].str.join(":")  # noqa: E731 '<subset>:<news_id>'
    kept = set(groups(df))
    assert 30 <= len(df) < len(full)
    assert set(full.loc[groups(full).isin(kept), "id"]) == set(df["id"])  # an article comes with all its rewrites
    assert report.to_dict()["rejected_by_reason"]["left out by the ingest option sample=30"] == len(full) - len(df)
    again, _ = ingest("llmfake", FIXTURES, {"sample": 30})
    assert again["id"].tolist() == df["id"].tolist()  # seeded


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_sample_option_must_be_a_positive_count(bad):
    with pytest.raises(IngestError, match="'sample' must be a positive whole number"):
        ingest("llmfake", FIXTURES, {"sample": bad})
