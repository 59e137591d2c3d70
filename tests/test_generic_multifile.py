"""Generic adapter over several files: option path as a glob pattern or a list, the virtual
column source_file, ids made unique per file, and per-file checks and image folders."""

import json

import pytest
from generic_input import write_csv, write_jsonl

from pipeline.data import generic
from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError
from pipeline.data.validate import IMAGE_OUTSIDE

COLUMNS = {"id": "id", "text": "body", "label": "verdict"}
LABELS = {"fake": 1, "real": 0}


def records(name: str, n: int = 6, **extra) -> list[dict]:
    """n rows with ids 1..n (restarting in every file), alternating fake / real."""
    return [
        {"id": str(i), "body": f"{name} story number {i} about the news", "verdict": "fake" if i % 2 else "real"}
        | extra
        for i in range(1, n + 1)
    ]


def run(root, path, columns=COLUMNS, **options):
    return ingest("mine", root, {"adapter": "generic", "path": path, "columns": columns, "labels": LABELS, **options})


def extra(df) -> list[dict]:
    return [json.loads(e) for e in df["extra"]]


def test_glob_over_files_whose_ids_restart(tmp_path):
    for pub in ("pub_c", "pub_a", "pub_b"):
        rows = records(pub, publisher_note=pub.upper())
        if pub == "pub_b":
            rows.append(rows[2] | {"body": "the same id again in one file"})
        write_csv(tmp_path / "news" / f"{pub}.csv", rows)
    (tmp_path / "news" / "README.txt").write_text("not matched")

    df, report = run(tmp_path, "news/*.csv", COLUMNS | {"event": "source_file"})

    assert report.rows_read == 19 and report.rows_kept == 18
    assert report.rejected == {"duplicate id": 1}
    assert report.examples["duplicate id"] == [f"{tmp_path / 'news' / 'pub_b.csv'}:8"]  # file and line
    assert report.source == f"{tmp_path / 'news' / '*.csv'} (3 files)"
    assert df["id"].is_unique
    assert set(df["id"]) == {f"news/{pub}.csv:{i}" for pub in ("pub_a", "pub_b", "pub_c") for i in range(1, 7)}
    by_id = df.set_index("id")
    assert by_id.loc["news/pub_b.csv:3", "event"] == "news/pub_b.csv"
    assert json.loads(by_id.loc["news/pub_c.csv:1", "extra"]) == {
        "publisher_note": "PUB_C",
        "source_file": "news/pub_c.csv",
    }
    assert {e["source_file"] for e in extra(df)} == {"news/pub_a.csv", "news/pub_b.csv", "news/pub_c.csv"}


def test_recursive_pattern_and_a_list_of_paths_and_patterns(tmp_path):
    write_jsonl(tmp_path / "rel" / "v1" / "train.jsonl", records("v1 train"))
    write_jsonl(tmp_path / "rel" / "v1" / "test.jsonl", records("v1 test"))
    write_jsonl(tmp_path / "rel" / "v2" / "deep" / "train.jsonl", records("v2 train"))

    df, report = run(tmp_path, "rel/**/*.jsonl")
    assert report.rows_read == report.rows_kept == 18
    assert {e["source_file"] for e in extra(df)} == {
        "rel/v1/test.jsonl",
        "rel/v1/train.jsonl",
        "rel/v2/deep/train.jsonl",
    }

    # a list: a pattern and a plain path (absolute) that it also matches are read once
    listed = ["rel/v1/*.jsonl", str(tmp_path / "rel" / "v1" / "train.jsonl"), "rel/v2/deep/train.jsonl"]
    df, report = run(tmp_path, listed)
    assert report.rows_read == report.rows_kept == 18 and df["id"].is_unique
    assert "rel/v2/deep/train.jsonl:4" in set(df["id"])
    assert report.source.startswith(f"{tmp_path / 'rel' / 'v1' / '*.jsonl'}, {tmp_path / 'rel' / 'v1' / 'train.jsonl'}")
    assert report.source.endswith("(3 files)")


def test_a_pattern_or_list_entry_that_matches_no_file(tmp_path):
    write_csv(tmp_path / "news" / "pub_a.csv", records("a", 12))
    with pytest.raises(IngestError, match=r"pattern 'news/\*\.tsv' \(.*\) matches no file; .*news holds pub_a\.csv"):
        run(tmp_path, "news/*.tsv")
    with pytest.raises(IngestError, match=r"entry 'news/pub_b\.csv' \(.*\) matches no file; .*holds pub_a\.csv"):
        run(tmp_path, ["news/pub_a.csv", "news/pub_b.csv"])
    with pytest.raises(IngestError, match=r"pattern 'old/\*\.csv' .* matches no file; .*old does not exist"):
        run(tmp_path, ["news/*.csv", "old/*.csv"])


def test_files_of_different_formats_are_an_error_naming_them(tmp_path):
    write_csv(tmp_path / "news" / "a.csv", records("a"))
    write_jsonl(tmp_path / "news" / "b.jsonl", records("b"))
    with pytest.raises(IngestError, match=r"different formats \(csv: news/a\.csv; jsonl: news/b\.jsonl\)"):
        run(tmp_path, "news/*")


def test_each_file_is_checked_on_its_own(tmp_path):
    write_csv(tmp_path / "news" / "a.csv", records("a", title="t"))
    write_csv(tmp_path / "news" / "b.csv", records("b"))
    with pytest.raises(IngestError, match=r"news/b\.csv: missing column\(s\) 'title'"):
        run(tmp_path, "news/*.csv", COLUMNS | {"title": "title"})

    write_csv(tmp_path / "more" / "a.csv", records("a"))
    write_csv(tmp_path / "more" / "b.csv", records("b", source_file="x"))
    with pytest.raises(IngestError, match=r"more/b\.csv:2: the file has its own column 'source_file'.*rename"):
        run(tmp_path, "more/*.csv")


def test_images_relative_to_each_files_folder(tmp_path):
    data = tmp_path / "data"
    (tmp_path / "secret.jpg").write_bytes(b"outside the data root")
    for pub in ("a", "b"):
        (data / "pubs" / pub).mkdir(parents=True)
        (data / "pubs" / pub / "img.jpg").write_bytes(b"\xff\xd8 " + pub.encode())
        rows = records(pub, picture="img.jpg")
        if pub == "b":
            rows[1]["picture"] = "img.jpg; ../../../secret.jpg"
        write_csv(data / "pubs" / pub / "items.csv", rows)

    df, report = run(data, "pubs/*/items.csv", COLUMNS | {"image_paths": "picture"})
    images = df.set_index("id")["image_paths"].map(list)
    assert images["pubs/a/items.csv:1"] == ["pubs/a/img.jpg"]
    assert images["pubs/b/items.csv:1"] == images["pubs/b/items.csv:2"] == ["pubs/b/img.jpg"]
    assert report.flagged == {IMAGE_OUTSIDE: 1}
    assert report.examples[IMAGE_OUTSIDE] == [f"{data / 'pubs' / 'b' / 'items.csv'}:3 [picture]"]
    assert report.rows_kept == 12 and not report.rejected


def test_files_outside_the_data_root(tmp_path):
    (tmp_path / "data").mkdir()
    for pub in ("a", "b"):
        (tmp_path / "ext" / f"{pub}.jpg").parent.mkdir(exist_ok=True)
        (tmp_path / "ext" / f"{pub}.jpg").write_bytes(b"\xff\xd8")
        write_csv(tmp_path / "ext" / f"{pub}.csv", records(pub, picture=f"{pub}.jpg"))

    df, report = run(tmp_path / "data", str(tmp_path / "ext" / "*.csv"), COLUMNS | {"image_paths": "picture"})
    assert {e["source_file"] for e in extra(df)} == {"a.csv", "b.csv"}  # relative to the pattern's folder
    assert list(df.set_index("id").loc["b.csv:1", "image_paths"]) == [str((tmp_path / "ext" / "b.jpg").resolve())]
    assert report.rows_kept == 12 and not report.flagged
    # a recursive pattern outside the data root: images beside a file in a subfolder are kept
    # by ingest's own confinement too (the pattern's folder is an allowed root, here and at embed)
    (tmp_path / "ext" / "deep" / "c.jpg").parent.mkdir()
    (tmp_path / "ext" / "deep" / "c.jpg").write_bytes(b"\xff\xd8")
    write_csv(tmp_path / "ext" / "deep" / "c.csv", records("c", picture="c.jpg"))
    deep, deep_report = run(
        tmp_path / "data", str(tmp_path / "ext" / "**" / "*.csv"), COLUMNS | {"image_paths": "picture"}
    )
    assert list(deep.set_index("id").loc["deep/c.csv:1", "image_paths"]) == [
        str((tmp_path / "ext" / "deep" / "c.jpg").resolve())
    ]
    assert not deep_report.rejected and not deep_report.flagged
    (tmp_path / "ext" / "deep" / "c.csv").unlink()

    write_csv(tmp_path / "other" / "a.csv", records("other"))
    with pytest.raises(IngestError, match=r"would all have source_file 'a\.csv'"):
        run(tmp_path / "data", [str(tmp_path / "ext" / "a.csv"), str(tmp_path / "other" / "a.csv")])


def test_one_file_keeps_its_ids(tmp_path):
    path = write_csv(tmp_path / "mine" / "claims.csv", records("c", 12))
    plain, plain_report = run(tmp_path, "mine/claims.csv")
    assert plain_report.source == str(path)
    assert "source_file" not in extra(plain)[0]  # a single plain path reads as before

    for option in (["mine/claims.csv"], "mine/claims.*"):
        df, report = run(tmp_path, option)
        assert list(df["id"]) == list(plain["id"]) == [str(i) for i in range(1, 13)]
        assert list(df["split"]) == list(plain["split"])
        assert {e["source_file"] for e in extra(df)} == {"mine/claims.csv"}
        assert report.rows_read == report.rows_kept == 12


def test_default_split():
    assert generic.default_split({"columns": COLUMNS | {"split": "part"}}) == "column"
    assert generic.default_split({"columns": COLUMNS | {"timestamp": "when"}}) == "stratified"
    assert generic.default_split({}) == "stratified"
