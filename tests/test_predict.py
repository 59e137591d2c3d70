"""fnd predict's input parsing (every bad row is named by file, row and field), its refit of the
joint alignment and its GLPN explanation."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipeline.features.embed import _fit_alignment, _joint_vectors
from pipeline.predict import Featuriser, PredictError, _neighbours, read_items, single_item
from pipeline.vectors import META_KEY, vector_column, vectors


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


def _cross_fitted_embeddings(folder: Path) -> None:
    """data/interim/x/articles.parquet and data/processed/x/embeddings.parquet under `folder`, the
    joint vectors made as the embed stage makes them: train pairs out-of-fold, the rest by the full fit."""
    rng = np.random.default_rng(0)
    n = 120
    image = rng.normal(size=(12, 24)).astype(np.float32)[rng.integers(0, 12, n)]
    text = (image[:, :16] @ rng.normal(size=(16, 20)) + rng.normal(size=(n, 20))).astype(np.float32)
    split = np.array(["train"] * 80 + ["val"] * 20 + ["test"] * 20)
    has_image = np.arange(n) % 10 != 0  # every tenth post has no image, in every split
    image[~has_image] = 0
    pairs = has_image & (split == "train")
    fit, meta = _fit_alignment(text[pairs], image[pairs], 16)
    clip_text, clip_image, meta["same_item_cosine"] = _joint_vectors(fit, text, image, has_image, split)
    ids = [f"p{i}" for i in range(n)]
    (folder / "data/interim/x").mkdir(parents=True)
    (folder / "data/processed/x").mkdir(parents=True)
    pd.DataFrame({"id": ids, "split": split}).to_parquet(folder / "data/interim/x/articles.parquet")
    table = pa.table(
        {
            "id": ids,
            "text": vector_column(list(text), 20),
            "image": vector_column(list(image), 24),
            "clip_text": vector_column(list(clip_text), fit.full.dim),
            "clip_image": vector_column(list(clip_image), fit.full.dim),
            "has_image": pa.array(has_image),
        }
    )
    meta = {"joint_alignment": meta}
    pq.write_table(
        table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}),
        folder / "data/processed/x/embeddings.parquet",
    )


def test_predict_refits_the_full_alignment_of_a_cross_fitted_embedding(tmp_path, monkeypatch):
    """The embed stage's train pairs are out-of-fold; every other row is embedded by the CCA fitted on
    all pairs with the chosen dim and shrinkage. fnd predict refits that one (new items are unseen
    rows) and checks it on those rows, not on the out-of-fold pairs; a changed file is refused."""
    monkeypatch.chdir(tmp_path)
    _cross_fitted_embeddings(tmp_path)
    features = Featuriser("x", {"embed": {"device": "cpu"}}, tmp_path)
    stored = features.embeddings
    row = np.flatnonzero(np.asarray(stored.column("has_image").to_pylist()))[-1]  # a test row with an image
    align = features.alignment
    assert np.abs(align.text(vectors(stored, "text")[[row]]) - vectors(stored, "clip_text")[[row]]).max() < 1e-5
    assert np.abs(align.image(vectors(stored, "image")[[row]]) - vectors(stored, "clip_image")[[row]]).max() < 1e-5

    path = tmp_path / "data/processed/x/embeddings.parquet"
    table = pq.read_table(path)
    clip = vectors(table, "clip_text")
    clip[row] = -clip[row]  # a stored full-fit vector the refit does not give
    column = table.schema.get_field_index("clip_text")
    pq.write_table(table.set_column(column, "clip_text", vector_column(list(clip), clip.shape[1])), path)
    with pytest.raises(PredictError, match="differs from the stored one by up to .* re-run `fnd embed x`"):
        _ = Featuriser("x", {"embed": {"device": "cpu"}}, tmp_path).alignment


def test_glpn_explanation_lists_the_most_similar_train_posts():
    """_neighbours: the row's train neighbours by descending similarity (val and test ones are not
    labelled: left out of the list, counted in the degree), at most top_k, with their labels."""
    edges = [(4, 0, 0.96), (4, 1, 0.99), (4, 2, 1.0), (4, 3, 0.97), (0, 1, 0.98)]
    src, dst, weight = (np.array(c) for c in zip(*edges))
    data = SimpleNamespace(
        ids=["a", "b", "c", "d", "new"],
        split=np.array(["train", "train", "test", "train", "test"]),
        y=np.array([1, 0, -1, 1, -1]),
        edge_index=np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]),
        edge_weight=np.concatenate([weight, weight]),
    )
    assert _neighbours(data, 4, top_k=2) == {
        "similarity_edges": 4,
        "nearest_labelled": [
            {"id": "b", "label": "real", "similarity": 0.99},
            {"id": "d", "label": "fake", "similarity": 0.97},
        ],
    }
