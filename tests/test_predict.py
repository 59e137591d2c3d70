"""fnd predict's input parsing: every bad row is named by file, row and field."""

import json
import re
from pathlib import Path

import pytest
from PIL import Image

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
        ("b.jsonl", '{"text": "t", "image": 7}\n', "b.jsonl row 1 [image]: expected a file path, got 7"),
        ("b.csv", "text,image\none,img/a.jpg\n", "b.csv row 1 [image]: img/a.jpg does not exist (a relative path is"),
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


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_jsonl_lines_split_on_newline_only(tmp_path, separator):
    """U+2028, U+2029 and NEL are line breaks to str.splitlines() but valid inside a JSON string."""
    text = f"first line{separator}second line"
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"id": "x", "text": text}, ensure_ascii=False) + "\r\n" + json.dumps({"text": "two"}) + "\n",
        encoding="utf-8",
    )
    items = read_items(tmp_path / "b.jsonl")
    assert items["text"].tolist() == [text, "two"] and items["id"].tolist() == ["x", "item-2"]


def test_jsonl_with_a_utf8_byte_order_mark_is_read(tmp_path):
    (tmp_path / "b.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "x", "text": "caf\u00e9"}).encode() + b"\n")
    assert read_items(tmp_path / "b.jsonl")["text"].tolist() == ["caf\u00e9"]


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path)
    return path.resolve()


def test_relative_image_paths_are_read_from_the_batch_files_folder(tmp_path, monkeypatch):
    image = _image(tmp_path / "batches/img/a.png")
    (tmp_path / "batches/b.csv").write_text("id,text,image\nx1,one,img/a.png\n")
    (tmp_path / "batches/b.jsonl").write_text(json.dumps({"text": "one", "image": "img/../img/a.png"}) + "\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert read_items(tmp_path / "batches/b.csv")["image_paths"].tolist() == [[str(image)]]
    assert read_items(tmp_path / "batches/b.jsonl")["image_paths"].tolist() == [[str(image)]]
    monkeypatch.chdir(tmp_path)
    assert read_items(Path("batches/b.csv"))["image_paths"].tolist() == [[str(image)]]


def test_a_single_items_relative_image_is_read_from_the_current_directory(tmp_path, monkeypatch):
    image = _image(tmp_path / "img/a.png")
    monkeypatch.chdir(tmp_path)
    assert single_item("words", "img/a.png")["image_paths"].tolist() == [[str(image)]]
