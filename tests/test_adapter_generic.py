"""Generic CSV / TSV / JSONL adapter, on files built from real LIAR rows (tests/fixtures/liar)
and real Weibo images, plus every kind of bad input."""

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from generic_input import write_csv, write_jsonl

from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError

FIXTURES = Path(__file__).parent / "fixtures"
IMAGE = FIXTURES / "weibo" / "rumor_images" / "3eacda48jw1er1c8fqye2j20by06mt8q.jpg"
HEADER = ["claim_id", "statement", "verdict", "speaker", "party", "part", "when", "picture"]
LABELS = {"false": 1, "pants-fire": 1, "barely-true": 1, "half-true": 0, "mostly-true": 0, "true": 0}
COLUMNS = {"id": "claim_id", "text": "statement", "label": "verdict", "user_id": "speaker"}


def liar_rows(n=None):
    """The first n of the 26 real LIAR rows in the fixture (train, valid, test) as dicts with
    our own column names. Ingest's stratified split needs about 20 rows, hence all 26."""
    lines = []
    for name in ("train.tsv", "valid.tsv", "test.tsv"):
        with open(FIXTURES / "liar" / name, encoding="utf-8", newline="") as fh:
            lines += list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        {"claim_id": r[0].removesuffix(".json"), "statement": r[2], "verdict": r[1], "speaker": r[4], "party": r[7]}
        for r in lines[:n]
    ]


def run(root, path, columns=COLUMNS, labels=LABELS, **options):
    return ingest(
        "my_data", root, {"adapter": "generic", "path": str(path), "columns": columns, "labels": labels, **options}
    )


# ---------------------------------------------------------------- good input


def test_csv_with_splits_times_and_images(tmp_path):
    rows = liar_rows(8)
    for i, row in enumerate(rows):
        row["part"] = ["train", "train", "train", "val", "test", "train", "test", "train"][i]
        row["when"] = f"2020-01-0{i + 1}T12:00:00+02:00"
        row["picture"] = ""
    (tmp_path / "mine" / "img").mkdir(parents=True)
    shutil.copy(IMAGE, tmp_path / "mine" / "img" / "a.jpg")
    rows[0]["picture"] = "img/a.jpg; img/gone.jpg"
    rows[1]["picture"] = "img/gone.jpg"
    write_csv(tmp_path / "mine" / "claims.csv", rows)
    columns = COLUMNS | {"split": "part", "timestamp": "when", "image_paths": "picture"}
    df, report = run(tmp_path, "mine/claims.csv", columns)

    assert report.source == str(tmp_path / "mine" / "claims.csv")
    assert report.rows_read == report.rows_kept == 8 and not report.rejected
    assert report.split_method == "official test split; official validation split"
    rows_by_id = df.set_index("id")
    assert rows_by_id.loc["2635", "label"] == 1 and rows_by_id.loc["324", "label"] == 0
    assert rows_by_id.loc["2635", "user_id"] == "dwayne-bohac" and rows_by_id.loc["2635", "lang"] == "en"
    assert json.loads(rows_by_id.loc["2635", "extra"]) == {"party": "republican"}
    assert list(rows_by_id.loc["2635", "image_paths"]) == ["mine/img/a.jpg"]
    assert report.flagged == {"image file not found": 1}  # row 2: its only image is missing
    assert rows_by_id.loc["2635", "timestamp"] == pd.Timestamp("2020-01-01 10:00", tz="UTC")
    assert df.groupby("split").size().to_dict() == {"test": 2, "train": 5, "val": 1}


def test_jsonl_with_image_list_in_an_allowed_image_root_outside_the_data_root(tmp_path):
    rows = liar_rows()
    rows[0]["pictures"] = [str(IMAGE)]  # absolute, outside the data root
    rows[0]["language"] = "en-US"
    path = write_jsonl(tmp_path / "root" / "claims.jsonl", rows)
    columns = COLUMNS | {"image_paths": "pictures", "lang": "language"}
    df, report = run(tmp_path / "root", path, columns, lang="xx", image_root=str(IMAGE.parent))
    assert report.rows_kept == 26 and not report.rejected and not report.flagged
    first = df.set_index("id").loc["2635"]
    assert list(first["image_paths"]) == [str(IMAGE.resolve())] and first["lang"] == "en-US"
    assert set(df.loc[df["id"] != "2635", "lang"]) == {"xx"}
    assert set(df["split"]) == {"train", "val", "test"}  # no split column: stratified by ingest
    assert report.split_method.startswith("stratified")


def test_tsv_from_extension_and_numeric_labels(tmp_path):
    rows = liar_rows()
    for row in rows:
        row["verdict"] = 1 if LABELS[row["verdict"]] else 0
    path = write_csv(tmp_path / "claims.tsv", rows, delimiter="\t")
    df, report = run(tmp_path, path, labels={1: 1, 0: 0})
    assert report.rows_kept == 26 and df["label"].sum() == 12


# ---------------------------------------------------------------- bad input


def test_missing_option_path():
    with pytest.raises(IngestError, match="option 'path' is required"):
        ingest("my_data", FIXTURES, {"adapter": "generic", "columns": COLUMNS, "labels": LABELS})


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match=r"nope\.csv: file not found"):
        run(tmp_path, "nope.csv")


def test_missing_columns(tmp_path):
    path = write_csv(tmp_path / "claims.csv", liar_rows())
    with pytest.raises(IngestError, match=r"claims\.csv: missing column\(s\) 'title_col'"):
        run(tmp_path, path, COLUMNS | {"title": "title_col"})


def test_columns_option_without_label(tmp_path):
    path = write_csv(tmp_path / "claims.csv", liar_rows())
    with pytest.raises(IngestError, match=r"missing: \['label'\]"):
        run(tmp_path, path, {"id": "claim_id", "text": "statement"})


def test_unknown_label_values(tmp_path):
    path = write_csv(tmp_path / "claims.csv", liar_rows())
    df, report = run(tmp_path, path, labels={"false": 1, "pants-fire": 1, "true": 0, "mostly-true": 0})
    assert report.rejected == {"label not in mapping (half-true)": 8, "label not in mapping (barely-true)": 2}
    assert report.examples["label not in mapping (half-true)"][0] == f"{path}:3 [verdict]"
    assert len(df) == 16 and set(df["label"]) == {0, 1}


def test_bad_split_values(tmp_path):
    rows = liar_rows()
    for row in rows:
        row["part"] = "test" if row["claim_id"] == "2635" else "train"
    rows[1]["part"] = "dev"
    path = write_csv(tmp_path / "claims.csv", rows)
    df, report = run(tmp_path, path, COLUMNS | {"split": "part"})
    assert report.rejected == {"split not train/val/test (dev)": 1}
    assert report.examples["split not train/val/test (dev)"] == [f"{path}:3 [part]"]
    assert len(df) == 25


def test_duplicate_ids(tmp_path):
    rows = liar_rows()
    rows[5]["claim_id"] = rows[0]["claim_id"]
    rows[6]["claim_id"] = rows[1]["claim_id"]
    rows[6]["verdict"] = rows[1]["verdict"]  # the same label: a plain repeat
    assert rows[5]["verdict"] != rows[0]["verdict"]  # the other label: counted apart
    path = write_csv(tmp_path / "claims.csv", rows)
    df, report = run(tmp_path, path)
    assert report.rejected == {"duplicate id": 1, "duplicate id with a different label": 1}
    assert report.examples["duplicate id"] == [f"{path}:8"]
    assert report.examples["duplicate id with a different label"] == [f"{path}:7"]
    assert df["id"].is_unique and len(df) == 24


def test_empty_whitespace_text_and_empty_id(tmp_path):
    rows = liar_rows()
    rows[2]["statement"] = ""
    rows[3]["statement"] = " \t "
    rows[4]["claim_id"] = "  "
    path = write_csv(tmp_path / "claims.csv", rows)
    df, report = run(tmp_path, path)
    assert report.rejected == {"empty or whitespace text": 2, "empty id": 1}
    assert report.examples["empty or whitespace text"] == [f"{path}:4 [text]", f"{path}:5 [text]"]
    assert report.examples["empty id"] == [f"{path}:6 [claim_id]"]
    assert len(df) == 23


def test_non_utf8_bytes(tmp_path):
    path = write_csv(tmp_path / "claims.csv", liar_rows())
    data = path.read_bytes().replace(b"Annies List", "Ann\xe9es List".encode("latin-1"))
    path.write_bytes(data)
    df, report = run(tmp_path, path)
    assert len(df) == 26
    assert any("1 line(s) with non-UTF-8 bytes" in n and str(path) in n for n in report.notes)
    assert "Ann\ufffdes List" in df.set_index("id").loc["2635", "text"]


def test_malformed_csv_rows(tmp_path):
    path = write_csv(tmp_path / "claims.csv", liar_rows())
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] += ",an extra field"
    path.write_text("\n".join(lines), encoding="utf-8")
    df, report = run(tmp_path, path)
    assert report.rejected == {"malformed row (wrong number of fields)": 1}
    assert report.examples["malformed row (wrong number of fields)"] == [f"{path}:3 [6 fields, expected 5]"]
    assert report.rows_read == 26 and len(df) == 25


def test_malformed_jsonl_lines(tmp_path):
    path = write_jsonl(tmp_path / "claims.jsonl", liar_rows())
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1][:40]  # truncated object
    lines[3] = '["a list", "not an object"]'
    path.write_text("\n".join(lines), encoding="utf-8")
    df, report = run(tmp_path, path)
    assert report.rejected == {"malformed JSON line": 2}
    assert report.examples["malformed JSON line"][1] == f"{path}:4 [not an object]"
    assert len(df) == 24


def test_jsonl_keeps_unicode_line_separator_inside_strings(tmp_path):
    rows = liar_rows()
    rows[0]["statement"] += "\u2028second line"
    path = write_jsonl(tmp_path / "claims.jsonl", rows)
    df, report = run(tmp_path, path)
    assert not report.rejected and len(df) == 26
    assert df.set_index("id").loc["2635", "text"].endswith("\u2028second line")


def test_header_only_is_an_empty_dataset(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(",".join(HEADER[:5]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"no rows kept from .*claims\.csv \(read 0"):
        run(tmp_path, path)
