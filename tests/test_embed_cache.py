"""The content-addressed embedding cache: a re-split encodes nothing and gives the same bytes, a
changed encoder setting or image file misses, a kill keeps what was committed, a corrupt file
is a clear error."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from PIL import Image, ImageOps

from pipeline.data.ingest import ingest
from pipeline.features import registry
from pipeline.features.cache import FILE_NAME, EmbeddingCache, EmbeddingCacheError
from pipeline.features.embed import embed_articles
from pipeline.features.encoders import CNNImageEncoder, HFTextEncoder
from pipeline.vectors import vectors
from stages import embed as embed_stage

ROWS = 16  # each with an image
IMAGES = 6  # distinct image files among them


@pytest.fixture(scope="module")
def rows(mediaeval_root):
    df, _ = ingest("mediaeval2016", mediaeval_root)
    rows = df.iloc[:ROWS].reset_index(drop=True)
    assert len({paths[0] for paths in rows["image_paths"]}) == IMAGES
    return rows


@pytest.fixture
def encoded(monkeypatch) -> dict[str, int]:
    """Items handed to the text and image encoders, counted (the encoders still run)."""
    counts = {"text": 0, "image": 0}

    def counting(cls, modality):
        original = cls.batches

        def batches(self, items, *args, **kwargs):
            counts[modality] += len(items)
            return original(self, items, *args, **kwargs)

        monkeypatch.setattr(cls, "batches", batches)

    counting(HFTextEncoder, "text")
    counting(CNNImageEncoder, "image")
    return counts


def _embed(rows, root, cache_dir, **kwargs):
    with EmbeddingCache(cache_dir) as cache:
        table = embed_articles(rows, root, cache=cache, progress=False, **kwargs)
    return table, cache.report()


def test_a_re_split_through_the_stage_encodes_nothing_and_writes_the_same_bytes(
    rows, mediaeval_root, encoded, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    params = {"data_root": str(mediaeval_root), "datasets": {"mediaeval2016": "mediaeval2016"}, "embed": {}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    articles = tmp_path / "data/interim/mediaeval2016/articles.parquet"
    articles.parent.mkdir(parents=True)
    out = tmp_path / "data/processed/mediaeval2016"

    rows.to_parquet(articles)
    embed_stage.run("mediaeval2016", params)
    report = json.loads((out / "embed_report.json").read_text())
    assert report["cache"]["file"] == f".cache/embeddings/{FILE_NAME}"
    assert report["cache"]["text"] == {"hits": 0, "misses": ROWS}
    assert report["cache"]["image"] == {"hits": 0, "misses": IMAGES}
    assert encoded == {"text": ROWS, "image": IMAGES}
    first = pq.read_table(out / "embeddings.parquet")

    resplit = rows.copy()
    resplit["split"] = resplit["split"].map({"train": "test", "val": "train", "test": "train"})
    resplit.to_parquet(articles)
    embed_stage.run("mediaeval2016", params)
    report = json.loads((out / "embed_report.json").read_text())
    assert report["cache"]["text"] == {"hits": ROWS, "misses": 0}
    assert report["cache"]["image"] == {"hits": IMAGES, "misses": 0}
    assert encoded == {"text": ROWS, "image": IMAGES}  # nothing more was encoded
    second = pq.read_table(out / "embeddings.parquet")
    for column in ("text", "image"):
        assert vectors(second, column).tobytes() == vectors(first, column).tobytes()
    # and the bytes of a run without any cache
    uncached = embed_articles(resplit, mediaeval_root, progress=False)
    assert second.equals(uncached) and second.schema.metadata == uncached.schema.metadata


@pytest.mark.parametrize("changed", ["text", "image"])
def test_a_changed_encoder_setting_misses(rows, mediaeval_root, encoded, tmp_path, monkeypatch, changed):
    before, _ = _embed(rows, mediaeval_root, tmp_path)
    load = {"text": registry.text_encoder, "image": registry.image_encoder}[changed]

    def changed_setting(name, device):
        enc, info = load(name, device)
        if changed == "text":
            enc.max_length = 32
        else:
            enc.preprocess.transforms[0].size = 240  # Resize(256) -> Resize(240)
        return enc, info

    monkeypatch.setattr(registry, f"{changed}_encoder", changed_setting)
    after, report = _embed(rows, mediaeval_root, tmp_path)
    other = {"text": "image", "image": "text"}[changed]
    n = {"text": ROWS, "image": IMAGES}
    assert report[changed] == {"hits": 0, "misses": n[changed]}
    assert report[other] == {"hits": n[other], "misses": 0}
    assert encoded == {changed: 2 * n[changed], other: n[other]}
    assert not np.array_equal(vectors(after, changed), vectors(before, changed))
    assert vectors(after, other).tobytes() == vectors(before, other).tobytes()


def test_an_image_file_changed_on_disk_misses(rows, mediaeval_root, encoded, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(mediaeval_root / "mediaeval2016", root / "mediaeval2016")
    before, _ = _embed(rows, root, tmp_path / "cache")
    row = int(np.flatnonzero(before.column("has_image").to_numpy(zero_copy_only=False))[0])
    path = root / rows["image_paths"][row][0]
    with Image.open(path) as img:
        ImageOps.mirror(img.convert("RGB")).save(path, format=img.format)

    after, report = _embed(rows, root, tmp_path / "cache")
    assert report["image"] == {"hits": IMAGES - 1, "misses": 1}
    assert report["text"] == {"hits": ROWS, "misses": 0}
    assert encoded == {"text": ROWS, "image": IMAGES + 1}
    changed = [r for r in range(ROWS) if rows["image_paths"][r][:1] == rows["image_paths"][row][:1]]
    image_before, image_after = vectors(before, "image"), vectors(after, "image")
    assert not np.array_equal(image_after[changed], image_before[changed])
    others = np.setdiff1d(np.arange(ROWS), changed)
    assert image_after[others].tobytes() == image_before[others].tobytes()
    # the new file's vector: encoded alone, where a run without the cache batches it with others
    # (batch composition moves CNN and text vectors in the last bits)
    uncached = vectors(embed_articles(rows, root, progress=False), "image")
    np.testing.assert_allclose(image_after, uncached, rtol=0, atol=1e-5)


def test_a_killed_run_keeps_the_batches_it_committed(rows, mediaeval_root, tmp_path, monkeypatch):
    """Every finished batch is committed once commit_seconds have passed (0 here): another
    connection sees them while the run goes on, and a rerun after a crash encodes only the rest."""
    original = HFTextEncoder.batches
    seen = []

    def crashing(self, items, *args, **kwargs):
        for done, batch in enumerate(original(self, items, *args, **kwargs)):
            with sqlite3.connect(tmp_path / FILE_NAME) as db:
                seen.append(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
            if done == 2:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(HFTextEncoder, "batches", crashing)
    with EmbeddingCache(tmp_path, commit_seconds=0) as cache, pytest.raises(KeyboardInterrupt):
        embed_articles(rows, mediaeval_root, cache=cache, batch_size=4, progress=False)
    assert seen == [0, 4, 8]
    monkeypatch.setattr(HFTextEncoder, "batches", original)
    _, report = _embed(rows, mediaeval_root, tmp_path)
    assert report["text"] == {"hits": 8, "misses": ROWS - 8}


def test_a_corrupt_cache_file_is_a_clear_error(rows, mediaeval_root, tmp_path):
    (tmp_path / FILE_NAME).write_bytes(b"this is not an SQLite database" * 100)
    message = f"{re.escape(str(tmp_path / FILE_NAME))} is corrupt or unreadable.*delete it"
    with pytest.raises(EmbeddingCacheError, match=message):
        EmbeddingCache(tmp_path)

    (tmp_path / FILE_NAME).unlink()
    _embed(rows.iloc[:2], mediaeval_root, tmp_path)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE vectors SET vector = x'00000000'")
    with pytest.raises(EmbeddingCacheError, match="corrupt or unreadable.*not a float32 vector of 384 values"):
        _embed(rows.iloc[:2], mediaeval_root, tmp_path)


def test_an_encoder_identity_is_its_settings_not_its_state():
    """Encoding leaves truncation state in a fast tokenizer; the identity (hence the keys) must
    not move with it."""
    encoder, _ = registry.text_encoder("minilm", torch.device("cpu"))
    before = encoder.identity()
    encoder.encode(["word " * 400, "short"], batch_size=2, progress=False)
    assert encoder.identity() == before
    encoder.max_length = 128
    assert encoder.identity() != before
