"""Hostile input for ingest (generic adapter): every row is kept, counted or refused loudly.

Each test writes its own files into tmp_path. The accounting rule pinned throughout:
rows_read == rows_kept + rows rejected, and rows_read matches an independent count of the
file's records; anything else is an IngestError naming file, line and field."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import sys
import types

import pandas as pd
import pytest

from pipeline.data import registry
from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError, IngestReport, article, to_table
from pipeline.data.splits import make_splits
from pipeline.errors import FndError

HEADER = ["id", "text", "label", "source", "score"]
COLUMNS = {"id": "id", "text": "text", "label": "label"}
LABELS = {"fake": 1, "real": 0}
OUTSIDE = "image path outside the data folder"


def rows(n: int = 40, fake: int | None = None, commas: bool = True) -> list[dict]:
    """n claims, odd ids fake and even ids real (or the first `fake` ones fake); with `commas`
    every third text has commas, so a CSV writer quotes it."""
    if fake is None:
        labels = ["fake" if i % 2 else "real" for i in range(1, n + 1)]
    else:
        labels = ["fake"] * fake + ["real"] * (n - fake)
    return [
        {
            "id": str(i),
            "text": f"Claim number {i} says prices rose, rents rose"
            if commas and i % 3 == 0
            else f"Claim number {i} about tax",
            "label": labels[i - 1],
            "source": f"site{i % 4}",
            "score": str(i % 7),
        }
        for i in range(1, n + 1)
    ]


def csv_text(records: list[dict], header=HEADER) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def run(tmp_path, path, columns=COLUMNS, labels=LABELS, **options):
    return ingest(
        "x", tmp_path, {"adapter": "generic", "path": str(path), "columns": columns, "labels": labels, **options}
    )


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def rejected(report: IngestReport) -> int:
    return sum(report.rejected.values())


def edit_lines(text: str, edits: dict[int, str]) -> str:
    """Replace physical lines (1-based, the header is line 1)."""
    lines = text.split("\n")
    for number, line in edits.items():
        lines[number - 1] = line
    return "\n".join(lines)


# ---------------------------------------------------------------- 1. rows lost without a count


def test_unbalanced_quote_that_merges_ten_rows_is_an_error(tmp_path):
    # line 6 opens a quote that a stray quote on line 16 closes: before, lines 7-16 became
    # part of row 5's text ("read 30, kept 30, rejected 0" from 40 rows)
    text = edit_lines(
        csv_text(rows(commas=False)),
        {6: '5,"Claim number 5 is,fake,site1,5', 16: '15,Claim 15 ends here",fake,site3,1'},
    )
    path = write(tmp_path, "claims.csv", text)
    with pytest.raises(IngestError) as err:
        run(tmp_path, path)
    assert str(err.value) == (
        f"{path}:6: rows at lines 7-16 merged into one record starting at line 6: an unbalanced quote at line 6 "
        '[column text]?; fix the quoting (a quote inside a quoted field is written twice: "") or convert the '
        "file to JSONL"
    )


def test_quote_opening_in_a_middle_row_names_the_line_where_it_opens(tmp_path):
    # the merged record has the wrong number of fields: before, one 'malformed row' reject
    # pointing at line 15 and 9 rows gone without a count
    text = edit_lines(csv_text(rows(commas=False)), {6: '5,"Claim number 5 is,fake,site1,5', 15: '14,Claim 14",real,s'})
    path = write(tmp_path, "claims.csv", text)
    with pytest.raises(
        IngestError, match=r"claims\.csv:6: rows at lines 7-14 merged into one record starting at line 6"
    ):
        run(tmp_path, path)


def test_opening_quote_that_never_closes_is_an_error_at_its_line(tmp_path):
    # before: 29 rows swallowed into row 11, then "cannot split 10 rows"
    text = edit_lines(csv_text(rows(commas=False)), {12: '11,"Claim number 11 about tax,fake,site3,4'})
    path = write(tmp_path, "claims.csv", text)
    with pytest.raises(IngestError) as err:
        run(tmp_path, path)
    message = str(err.value)
    assert message.startswith(f"{path}:12: CSV quoting error at line 41 (unexpected end of data) in the record ")
    assert "an unbalanced quote at line 12 [column text]? Lines 13-41 were read as part of that record" in message


def test_stray_quote_before_quoted_fields_is_an_error_naming_both_lines(tmp_path):
    text = edit_lines(csv_text(rows()), {5: '4,"Claim number 4 about tax,real,site0,4'})
    path = write(tmp_path, "claims.csv", text)
    with pytest.raises(IngestError, match=r"claims\.csv:5: CSV quoting error at line 7 \(',' expected after '\"'\)"):
        run(tmp_path, path)


def test_quoting_error_within_one_line(tmp_path):
    text = edit_lines(csv_text(rows()), {3: '2,"Claim" number 2,real,site2,2'})
    path = write(tmp_path, "claims.csv", text)
    with pytest.raises(IngestError, match=r"claims\.csv:3: CSV quoting error \(',' expected after '\"'\); fix"):
        run(tmp_path, path)


def test_legit_multi_line_texts_are_kept(tmp_path):
    records = rows()
    # inner lines that split into five fields by their commas, but are text, not rows
    records[4]["text"] = "Breaking:\nPrices rose, rents rose, wages fell, jobs went, and more\n\nend of story"
    records[9]["text"] = 'He said "no",\nthen left'
    path = write(tmp_path, "claims.csv", csv_text(records))
    df, report = run(tmp_path, path)
    assert report.rows_read == report.rows_kept == 40 and not report.rejected
    by_id = df.set_index("id")["text"]
    assert by_id["5"].startswith("Breaking:\nPrices rose") and by_id["10"] == 'He said "no",\nthen left'


def test_wrong_field_count_on_a_multi_line_record_is_a_reject_at_its_first_line(tmp_path):
    records = rows()
    records[4]["text"] = "first line\nsecond line"
    text = csv_text(records).replace('second line",fake,', 'second line",fake,extra,')
    path = write(tmp_path, "claims.csv", text)
    df, report = run(tmp_path, path)
    assert report.rejected == {"malformed row (wrong number of fields)": 1}
    assert report.examples["malformed row (wrong number of fields)"] == [
        f"{path}:6 [6 fields, expected 5; record runs to line 7]"
    ]
    assert report.rows_read == 40 and report.rows_kept == 39


def test_header_that_runs_on_and_repeated_columns_are_errors(tmp_path):
    path = write(tmp_path, "a.csv", 'id,"text,label\n1,a,fake\n2,b,real\n')
    with pytest.raises(IngestError, match=r"a\.csv:1: CSV quoting error at line 3 \(unexpected end of data\)"):
        run(tmp_path, path)
    path = write(tmp_path, "b.csv", 'id,"te\nxt",label\n1,a,fake\n')
    with pytest.raises(IngestError, match=r"b\.csv:1: the header runs on to line 2"):
        run(tmp_path, path)
    path = write(tmp_path, "c.csv", "id,text,label,text\n1,a,fake,b\n")
    with pytest.raises(IngestError, match=r"c\.csv:1: column name\(s\) 'text' appear more than once"):
        run(tmp_path, path)


def test_missing_csv_column_is_named_even_when_no_row_parses(tmp_path):
    path = write(tmp_path, "claims.csv", "id,text\n1,a,b,c\n")
    with pytest.raises(IngestError, match=r"claims\.csv: missing column\(s\) 'label'"):
        run(tmp_path, path)


ACCOUNTING_CASES = {
    "clean csv": lambda: ("a.csv", csv_text(rows(commas=False)), {}),
    "malformed rows, duplicates, empty text, unmapped labels": lambda: (
        "a.csv",
        edit_lines(
            csv_text(rows(commas=False)), {3: "2,too,many,fields,here,now", 4: "1,dup,fake,s,1", 5: "4, ,real,s,1"}
        )
        + "41,x,unsure,s,1\n42,y,,s,1\n\n\n",
        {},
    ),
    "jsonl with bad lines": lambda: (
        "a.jsonl",
        jsonl(rows()) + '{"id": "99"\n[1, 2]\n{"id": "98", "text": {"a": 1}, "label": "fake"}\n',
        {},
    ),
    "sample": lambda: ("a.csv", csv_text(rows(commas=False)), {"sample": 20}),
    "excluded label": lambda: ("a.csv", csv_text(rows(commas=False) + [dict(rows(1)[0], id="77", label="satire")]), {}),
}


@pytest.mark.parametrize("case", ACCOUNTING_CASES)
def test_every_row_read_is_kept_or_counted(tmp_path, case):
    name, content, options = ACCOUNTING_CASES[case]()
    path = write(tmp_path, name, content)
    labels = LABELS | {"satire": None}
    df, report = run(tmp_path, path, labels=labels, **options)
    assert report.rows_read == report.rows_kept + rejected(report) == len(df) + rejected(report)
    assert report.rows_read == independent_count(name, content.encode("utf-8"))
    assert bool(report.rejected) == (case != "clean csv")


def test_ingest_refuses_an_adapter_that_drops_rows_without_a_count(tmp_path, monkeypatch):
    def read(data_root, options, report):
        report.rows_read += 41  # one more record than the rows it gives or counts
        return [article(id=str(i), text="t", label=i % 2) | {"_loc": f"f:{i}"} for i in range(40)]

    leaky = types.SimpleNamespace(NAME="leaky", FOLDER="", NEEDS="", TEXT_REQUIRED=True, read=read)
    monkeypatch.setattr(registry, "get", lambda name: leaky)
    with pytest.raises(AssertionError, match="read 41 records of .* but gave 40 rows and 0 counted rejects"):
        ingest("leaky", tmp_path)


# ---------------------------------------------------------------- 2. JSONL checked per row


def test_jsonl_missing_optional_field_in_first_line_is_null(tmp_path):
    records = rows()
    for r in records[1:]:
        r["title"] = f"Title {r['id']}"
    path = write(tmp_path, "a.jsonl", jsonl(records))
    df, report = run(tmp_path, path, COLUMNS | {"title": "title"})
    assert report.rows_kept == 40 and not report.rejected
    titles = df.set_index("id")["title"]
    assert pd.isna(titles["1"]) and titles["2"] == "Title 2"


def test_jsonl_row_missing_a_required_field_is_a_counted_reject(tmp_path):
    records = rows()
    del records[0]["text"]
    del records[6]["label"]
    path = write(tmp_path, "a.jsonl", jsonl(records))
    df, report = run(tmp_path, path)
    assert report.rejected == {"missing field text": 1, "missing field label": 1}
    assert report.examples["missing field text"] == [f"{path}:1 [text]"]
    assert report.examples["missing field label"] == [f"{path}:7 [label]"]
    assert report.rows_read == 40 and len(df) == 38


def test_jsonl_object_or_list_where_text_is_expected_is_a_counted_reject(tmp_path):
    records = rows()
    records[2]["text"] = {"body": "nested"}
    records[3]["label"] = ["fake"]
    records[4]["pics"] = {"a": "b.jpg"}
    records[5]["pics"] = ["a.jpg", 3]
    path = write(tmp_path, "a.jsonl", jsonl(records))
    df, report = run(tmp_path, path, COLUMNS | {"image_paths": "pics"})
    assert report.rejected == {
        "text is a JSON object, not text or a number": 1,
        "label is a JSON list, not text or a number": 1,
        "pics is a JSON object, not a path or a list of paths": 1,
        "pics is a JSON list, not a path or a list of paths": 1,
    }
    assert report.examples["text is a JSON object, not text or a number"] == [f"{path}:3 [text]"]
    assert len(df) == 36


def test_jsonl_mapped_field_in_no_object_is_an_error(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl(rows()))
    with pytest.raises(IngestError, match=r"a\.jsonl: mapped field\(s\) 'titel' in none of the 40 JSON objects"):
        run(tmp_path, path, COLUMNS | {"title": "titel"})


def test_jsonl_values_python_cannot_hold_are_counted_rejects(tmp_path):
    lines = jsonl(rows()).split("\n")
    lines[0] = '{"id": "1", "text": "half a pair \\ud800", "label": "fake"}'
    lines[1] = '{"id": "2", "text": "big", "label": "real", "n": ' + "9" * 5000 + "}"
    lines[2] = '{"id": "3", "text": "deep", "label": "fake", "n": ' + "[" * 100000 + "]" * 100000 + "}"
    path = write(tmp_path, "a.jsonl", "\n".join(lines))
    df, report = run(tmp_path, path)
    assert report.rejected == {"malformed JSON line": 3}
    assert report.examples["malformed JSON line"] == [
        f"{path}:1 [a \\u escape that is half of a surrogate pair (not text)]",
        f"{path}:2 [Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits]",
        f"{path}:3 [nested too deeply]",
    ]
    to_table(df)  # what is kept can be stored


# ---------------------------------------------------------------- 3. encoding


def latin1_file(tmp_path):
    records = rows()
    records[0]["text"] = "Le café est fermé"
    return write(tmp_path, "a.csv", csv_text(records).encode("latin-1"))


def test_encoding_option_reads_latin1(tmp_path):
    path = latin1_file(tmp_path)
    df, report = run(tmp_path, path, encoding="latin-1")
    assert df.set_index("id").loc["1", "text"] == "Le café est fermé" and not report.notes


def test_default_utf8_on_latin1_says_to_set_encoding(tmp_path):
    path = latin1_file(tmp_path)
    df, report = run(tmp_path, path)
    assert df.set_index("id").loc["1", "text"] == "Le caf\ufffd est ferm\ufffd"
    assert report.notes == [
        f"{path}: 1 line(s) with non-UTF-8 bytes decoded with U+FFFD replacement (first at lines [2]); "
        "if the file is not utf-8, set the option 'encoding' (e.g. latin-1)"
    ]


def test_utf8_bom_still_accepted(tmp_path):
    path = write(tmp_path, "a.csv", b"\xef\xbb\xbf" + csv_text(rows()).encode("utf-8"))
    df, report = run(tmp_path, path)
    assert report.rows_kept == 40 and not report.notes


@pytest.mark.parametrize("encoding", ["latin-9x", "base64", 5])
def test_unknown_encoding_is_an_error_naming_the_option(tmp_path, encoding):
    path = latin1_file(tmp_path)
    with pytest.raises(IngestError, match="generic: option 'encoding' is .*, not a known text encoding"):
        run(tmp_path, path, encoding=encoding)


# ---------------------------------------------------------------- 4. image paths outside the data


def image_rows(tmp_path, pictures: dict[int, str]):
    records = rows()
    for r in records:
        r["picture"] = ""
    for i, value in pictures.items():
        records[i - 1]["picture"] = value
    data = tmp_path / "data"
    (data / "mine" / "img").mkdir(parents=True)
    (data / "mine" / "img" / "ok.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "secret.jpg").write_bytes(b"outside the data root")
    path = write(data, "mine/claims.csv", csv_text(records, HEADER + ["picture"]))
    return data, path


def test_image_paths_outside_the_data_folder_are_dropped_and_flagged(tmp_path):
    data, path = image_rows(
        tmp_path,
        {
            1: "img/ok.jpg; ../../../../../../../../etc/passwd",
            2: "/etc/hostname",
            3: "../../secret.jpg",
            4: "img/link.jpg",
            5: "img/ok.jpg",
        },
    )
    os.symlink(tmp_path / "secret.jpg", data / "mine" / "img" / "link.jpg")
    df, report = run(data, path, COLUMNS | {"image_paths": "picture"})
    images = df.set_index("id")["image_paths"].map(list)
    assert images["1"] == ["mine/img/ok.jpg"] and images["5"] == ["mine/img/ok.jpg"]
    assert images["2"] == images["3"] == images["4"] == []
    assert report.flagged == {OUTSIDE: 4}
    assert report.examples[OUTSIDE] == [f"{path}:{n} [picture]" for n in (2, 3, 4, 5)]
    assert report.rows_kept == 40 and not report.rejected


def test_image_root_option_allows_a_folder_outside_the_data_root(tmp_path):
    data, path = image_rows(tmp_path, {1: "../../secret.jpg"})
    df, report = run(data, path, COLUMNS | {"image_paths": "picture"}, image_root="..")
    assert list(df.set_index("id").loc["1", "image_paths"]) == [str((tmp_path / "secret.jpg").resolve())]
    assert not report.flagged
    with pytest.raises(IngestError, match=r"generic: option 'image_root' \(.*nowhere\) is not a folder"):
        run(data, path, COLUMNS | {"image_paths": "picture"}, image_root="nowhere")


def test_ingest_drops_outside_image_paths_from_any_adapter(tmp_path, monkeypatch):
    (tmp_path / "data" / "set").mkdir(parents=True)
    (tmp_path / "data" / "set" / "in.jpg").write_bytes(b"x")
    (tmp_path / "out.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "out.jpg", tmp_path / "data" / "set" / "link.jpg")
    paths = {0: ["set/in.jpg", "../out.jpg"], 1: ["/etc/passwd"], 2: ["set/link.jpg"], 3: ["set/in.jpg"]}

    def read(data_root, options, report):
        report.rows_read += 40
        return [
            article(id=str(i), text="t", label=i % 2, image_paths=paths.get(i, [])) | {"_loc": f"f:{i}"}
            for i in range(40)
        ]

    adapter = types.SimpleNamespace(NAME="imgs", FOLDER="set", NEEDS="", TEXT_REQUIRED=True, read=read)
    monkeypatch.setattr(registry, "get", lambda name: adapter)
    df, report = ingest("imgs", tmp_path / "data")
    images = df.set_index("id")["image_paths"].map(list)
    assert images["0"] == ["set/in.jpg"] and images["3"] == ["set/in.jpg"]
    assert images["1"] == images["2"] == []
    assert report.flagged == {OUTSIDE: 3} and report.examples[OUTSIDE] == [f"f:{i} [image_paths]" for i in range(3)]


# ---------------------------------------------------------------- 5. settings that make no sense


def test_one_class_dataset_is_refused_at_ingest(tmp_path):
    records = rows(12)
    for r in records:
        r["label"] = "fake"
    path = write(tmp_path, "a.csv", csv_text(records))
    with pytest.raises(IngestError, match=r"x: all 12 kept rows of .*a\.csv have label fake; a detector needs both"):
        run(tmp_path, path)


def test_twelve_balanced_rows_split(tmp_path):
    path = write(tmp_path, "a.csv", csv_text(rows(12)))
    df, report = run(tmp_path, path)
    sizes = df["split"].value_counts().to_dict()
    assert sizes == {"train": 8, "test": 3, "val": 1}
    assert set(df.loc[df["split"] == "train", "label"]) == {0, 1}
    assert report.label_counts["train"] == {"0": 4, "1": 4}


@pytest.mark.parametrize("fake", [2, 3])
def test_four_rows_are_the_minimum(tmp_path, fake):
    path = write(tmp_path, "a.csv", csv_text(rows(4, fake=fake)))
    df, _ = run(tmp_path, path)
    assert df["split"].value_counts().to_dict() == {"train": 2, "val": 1, "test": 1}
    assert set(df.loc[df["split"] == "train", "label"]) == {0, 1}


def test_three_rows_are_too_few(tmp_path):
    path = write(tmp_path, "a.csv", csv_text(rows(3)))
    with pytest.raises(IngestError) as err:
        run(tmp_path, path)
    assert str(err.value) == (
        f"x: 3 kept rows of {path} are too few to split: ingest needs at least one row in each of train, val "
        "and test, and both labels (fake and real) in train, so at least 4 rows"
    )


def test_split_that_leaves_train_one_class_is_refused(tmp_path):
    records = rows(10, fake=3)  # the three fake rows are the newest: test and val
    for i, r in enumerate(records):
        r["when"] = f"2020-01-{20 - i:02d}"
    path = write(tmp_path, "a.csv", csv_text(records, HEADER + ["when"]))
    with pytest.raises(IngestError) as err:
        run(tmp_path, path, COLUMNS | {"timestamp": "when"}, split="chronological")
    assert "gives train 7, val 1, test 2 rows (train: only real); ingest needs at least one row in each" in str(
        err.value
    )


def test_small_stratified_split_keeps_both_labels_in_train():
    df = pd.DataFrame({"label": [1, 0, 0, 0, 0, 0], "timestamp": pd.NaT, "split": None})
    split = make_splits(df, test_frac=0.2, val_frac=0.1, seed=0).split
    assert split[0] == "train" and set(split) == {"train", "val", "test"}


# ---------------------------------------------------------------- 6. fuzz


def independent_count(name: str, raw: bytes) -> int | None:
    """Records in a file by a rule simpler than the readers': JSONL, one per non-blank line;
    CSV without quote characters, one per non-blank physical line after the header."""
    text = raw.decode("utf-8-sig", errors="replace")
    if name.endswith(".jsonl"):
        return sum(1 for line in text.split("\n") if line.strip())
    if '"' in text:
        return None
    return sum(1 for line in io.StringIO(text, newline="").readlines()[1:] if line.strip())


def fuzz_fixture(fmt: str) -> bytes:
    records = rows(16)
    records[3]["text"] = 'She said "no", twice'
    records[7]["text"] = "Café, naïve – ok"
    if fmt == "csv":
        return csv_text(records).encode("utf-8")
    return jsonl(records).encode("utf-8")


def mutate(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One random mutation; returns (mutant, its name)."""
    pos = rng.randrange(len(raw) + 1)
    lines = raw.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    kind = rng.choice(
        [
            "quote+",
            "quote-",
            "delim",
            "newline",
            "cr",
            "nul",
            "bytes",
            "truncate",
            "dup",
            "swap",
            "drop",
            "utf8",
            "brace",
        ]
    )
    if kind == "quote+":
        return raw[:pos] + b'"' + raw[pos:], kind
    if kind == "quote-":
        quotes = [k for k, c in enumerate(raw) if c == ord('"')]
        return (raw[: quotes[pos % len(quotes)]] + raw[quotes[pos % len(quotes)] + 1 :] if quotes else raw), kind
    if kind in ("delim", "newline", "cr", "nul", "brace"):
        char = {"delim": b",", "newline": b"\n", "cr": b"\r", "nul": b"\x00", "brace": b"{"}[kind]
        return raw[:pos] + char + raw[pos:], kind
    if kind == "bytes":
        return raw[:pos] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + raw[pos:], kind
    if kind == "truncate":
        return raw[:pos], kind
    if kind == "dup":
        return b"\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :]), kind
    if kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines), kind
    if kind == "drop":
        return b"\n".join(lines[:i] + lines[i + 1 :]), kind
    return raw[:pos] + rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80"]) + raw[pos:], kind


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_fuzzed_files_are_ingested_or_refused_never_crash(tmp_path, fmt):
    rng = random.Random(20240601)
    fixture = fuzz_fixture(fmt)
    outcomes = {"ingested": 0, "refused": 0}
    for n in range(400):
        raw, names = fixture, []
        for _ in range(rng.choice([1, 1, 2, 3])):
            raw, name = mutate(raw, rng)
            names.append(name)
        path = write(tmp_path, f"m{n}.{fmt}", raw)
        try:
            df, report = run(tmp_path, path)
        except FndError:
            outcomes["refused"] += 1
            continue
        except Exception as err:  # pragma: no cover - the failure report
            raise AssertionError(f"mutant {n} ({names}) of {fmt}: {type(err).__name__}: {err}\n{raw!r}") from err
        outcomes["ingested"] += 1
        context = f"mutant {n} ({names}): {raw!r}"
        assert report.rows_read == report.rows_kept + rejected(report) == len(df) + rejected(report), context
        expected = independent_count(path.name, raw)
        if fmt == "csv" and names in (["quote+"], ["quote-"]):
            # one quote more or less in a file without multi-line texts: a record that spans
            # lines would be rows merged, so every non-blank line is still one record
            expected = sum(1 for line in raw.decode("utf-8", "replace").split("\n")[1:] if line.strip())
        if expected is not None:
            assert report.rows_read == expected, context
    assert outcomes["ingested"] > 30 and outcomes["refused"] > 0, outcomes
    print(f"{fmt}: {outcomes}", file=sys.stderr)
