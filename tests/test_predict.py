"""fnd predict's input parsing: every bad row is named by file, row and field."""

import json
import re

import pytest

from pipeline.predict import PredictError, read_items, single_item


def test_csv_and_jsonl_batches_become_test_items(tmp_path):
    image = tmp_path / "a.jpg"
    image.write_bytes(b"not checked here")
    (tmp_path / "batch.csv").write_text(f"id,text,image\nx1,first article,{image}\n,second article,\n")
    items = read_items(tmp_path / "batch.csv")
    assert items["id"].tolist() == ["x1", "item-2"]
    assert items["image_paths"].tolist() == [[str(image)], []]
    assert set(items["split"]) == {"test"} and set(items["label"]) == {-1} and set(items["lang"]) == {"en"}
    (tmp_path / "batch.jsonl").write_text(
        json.dumps({"text": "one", "lang": "zh"}) + "\n\n" + json.dumps({"text": "two"}) + "\n"
    )
    items = read_items(tmp_path / "batch.jsonl")
    assert items["text"].tolist() == ["one", "two"] and items["lang"].tolist() == ["zh", "en"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("b.csv", "id,text\nx1,fine\nx2,\n", "b.csv row 2 [text]: missing or empty"),
        ("b.csv", "id,text\nx1,one\nx1,two\n", "b.csv [id]: repeated ids ['x1']"),
        ("b.csv", "id,text,image\nx1,one,/nonexistent.jpg\n", "b.csv row 1 [image]: /nonexistent.jpg does not exist"),
        ("b.jsonl", '{"text": "ok"}\n{"text": \n', "b.jsonl:2: not a JSON object"),
        ("b.jsonl", '["a list"]\n', "b.jsonl row 1: expected an object with a 'text' field"),
        ("b.txt", "text\n", "b.txt: unknown input format '.txt'"),
        ("b.csv", "", "b.csv: cannot parse"),
    ],
)
def test_bad_batches_name_file_row_and_field(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(PredictError, match=re.escape(message)):
        read_items(tmp_path / name)


def test_single_item_needs_text():
    with pytest.raises(PredictError, match="--text is empty"):
        single_item("  ")
    assert single_item("words", title="T").iloc[0][["id", "title"]].tolist() == ["item-1", "T"]
