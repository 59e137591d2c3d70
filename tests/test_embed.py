"""Embedding on real posts and images: shapes, determinism, the no-image mask, alignment."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pytest
import torch
from PIL import Image

from pipeline.data.ingest import ingest
from pipeline.features import registry
from pipeline.features.alignment import CCAAlignment
from pipeline.features.embed import _fit_alignment, embed_articles
from pipeline.features.encoders import HFTextEncoder
from pipeline.features.images import CORRUPT, MISSING, NO_IMAGE, OK, OUTSIDE, TOO_LARGE, load_image
from pipeline.settings import ParamsError
from pipeline.vectors import read_meta, vectors

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def articles(mediaeval_root):
    df, _ = ingest("mediaeval2016", mediaeval_root)
    return df


@pytest.fixture(scope="module")
def table(articles, mediaeval_root):
    return embed_articles(articles, mediaeval_root, progress=False)


def test_shapes_and_keys(table, articles):
    assert table.column("id").to_pylist() == articles["id"].tolist()
    meta = read_meta(table)
    assert vectors(table, "text").shape == (len(articles), 384)
    assert vectors(table, "image").shape == (len(articles), 1280)
    dim = meta["dims"]["clip"]
    assert 0 < dim <= 128
    assert vectors(table, "clip_text").shape == vectors(table, "clip_image").shape == (len(articles), dim)
    norms = np.linalg.norm(vectors(table, "text"), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_substitutes_are_labelled(table):
    meta = read_meta(table)
    assert meta["encoders"]["joint"]["substitute_for"].startswith("CLIP ViT-B/32")
    assert meta["joint_alignment"]["fitted_on_train_pairs"] > 0
    assert any("minilm stands in for" in s for s in meta["substitutes"])


def test_deterministic(articles, mediaeval_root, table):
    again = embed_articles(articles.iloc[:12], mediaeval_root, progress=False)
    for column in ("text", "image"):
        np.testing.assert_array_equal(vectors(again, column), vectors(table, column)[:12])


def test_text_embedding_is_semantic(table, articles):
    """Two posts about the same image are closer than posts about different events."""
    text = vectors(table, "text")
    events = articles["event"].to_numpy()
    sims = text @ text.T
    same = sims[events[:, None] == events[None, :]].mean()
    other = sims[events[:, None] != events[None, :]].mean()
    assert same > other + 0.05


def test_missing_and_corrupt_images_become_a_mask(articles, mediaeval_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(mediaeval_root, root)
    rows = articles.iloc[:4].copy()
    good = rows["image_paths"].iloc[0][0]
    corrupt = root / "mediaeval2016/images_train/corrupt.jpg"
    corrupt.write_bytes(b"not a jpeg at all")
    rows["image_paths"] = [
        [good],
        ["mediaeval2016/images_train/gone.jpg"],
        ["mediaeval2016/images_train/corrupt.jpg"],
        [],
    ]
    out = embed_articles(rows, root, progress=False)
    assert out.column("image_status").to_pylist() == [OK, MISSING, CORRUPT, NO_IMAGE]
    assert out.column("has_image").to_pylist() == [True, False, False, False]
    image = vectors(out, "image")
    assert np.abs(image[1:]).sum() == 0 and np.abs(image[0]).sum() > 0


def test_load_image_statuses(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG truncated")
    assert load_image(tmp_path / "nope.jpg") == (None, MISSING)
    assert load_image(bad) == (None, CORRUPT)


def test_a_decompression_bomb_is_a_status_not_a_crash(tmp_path):
    """A 20000 x 20000 PNG is a few hundred kB on disk and 400 megapixels in memory."""
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 1_000_000
    assert load_image(bomb) == (None, TOO_LARGE)


def test_images_outside_the_allowed_roots_are_not_opened(articles, mediaeval_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(mediaeval_root, root)
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    (root / "mediaeval2016/link.png").symlink_to(outside)
    rows = articles.iloc[:4].copy()
    good = rows["image_paths"].iloc[0][0]
    rows["image_paths"] = [[good], ["../secret.png"], [str(outside)], ["mediaeval2016/link.png"]]
    out = embed_articles(rows, root, image_roots=(root / "mediaeval2016",), progress=False)
    assert out.column("image_status").to_pylist() == [OK, OUTSIDE, OUTSIDE, OUTSIDE]
    assert read_meta(out)["image_status"] == {OK: 1, OUTSIDE: 3}


def test_truncation_counts_only_texts_longer_than_the_window():
    """Padding a batch to its longest text must not count the short texts; a text that exactly
    fills the window is not cut."""
    encoder, _ = registry.text_encoder("minilm", CPU)
    encoder.max_length = 16
    exact = " ".join(["word"] * 14)  # 14 tokens + [CLS] + [SEP] = 16
    assert len(encoder.tokenizer(exact)["input_ids"]) == 16
    texts = ["short", exact, "long " * 400, "also short"]
    flags = [flag for _, _, batch_flags in encoder.batches(texts, batch_size=4, progress=False) for flag in batch_flags]
    assert sum(flags) == 1


def test_alignment_keeps_only_components_with_shared_signal():
    # 200 posts share 20 images (as the MediaEval slice's 295 train pairs share 53): the
    # cross-covariance has rank 19, and directions past it would be rounding noise.
    rng = np.random.default_rng(0)
    image_of = rng.integers(0, 20, size=200)
    images = rng.normal(size=(20, 50))
    text = images[image_of] @ rng.normal(size=(50, 30)) + 0.5 * rng.normal(size=(200, 30))
    image = images[image_of]
    align = CCAAlignment.fit(text, image, dim=128)
    assert align.text(text).shape == (200, 19)
    nudged = CCAAlignment.fit(text, image + 1e-7 * rng.normal(size=image.shape), dim=128)
    sims = align.text(text) @ align.image(image).T
    assert np.abs(nudged.text(text) @ nudged.image(image).T - sims).max() < 1e-4
    # one image for every post: nothing to align, reported instead of fitted
    align, meta = _fit_alignment(text, np.repeat(images[:1], 200, axis=0), dim=128)
    assert align is None and "no direction" in meta["unavailable"]


def test_alignment_recovers_a_shared_signal():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(200, 4))
    text = shared @ rng.normal(size=(4, 30)) + 0.1 * rng.normal(size=(200, 30))
    image = shared @ rng.normal(size=(4, 50)) + 0.1 * rng.normal(size=(200, 50))
    align = CCAAlignment.fit(text[:150], image[:150], dim=4)
    assert align.correlations.min() > 0.9
    # held-out pairs: each text is closest to its own image
    sims = align.text(text[150:]) @ align.image(image[150:]).T
    assert (sims.argmax(1) == np.arange(50)).mean() > 0.8


def test_too_few_pairs_leaves_joint_vectors_null(articles, mediaeval_root):
    rows = articles.iloc[:6].copy()
    rows["split"] = "test"  # no train pairs at all
    out = embed_articles(rows, mediaeval_root, progress=False)
    assert out.column("clip_text").null_count == 6
    assert "unavailable" in read_meta(out)["joint_alignment"]


def test_unknown_encoder_names_are_clear_errors():
    with pytest.raises(ParamsError, match="unknown text encoder"):
        registry.text_encoder("bert-large-nonsense", CPU)
    with pytest.raises(registry.EncoderLoadError, match="No model hub is reachable"):
        registry.text_encoder("hf:/nonexistent/model/dir", CPU)


@pytest.mark.parametrize("names", [{"image": "resnet-nonsense"}, {"joint": "clip"}])
def test_a_wrong_encoder_name_fails_before_any_text_is_encoded(articles, mediaeval_root, monkeypatch, names):
    def encode(*args, **kwargs):
        raise AssertionError("texts were encoded before the encoder names were checked")

    monkeypatch.setattr(HFTextEncoder, "encode", encode)
    with pytest.raises(ParamsError, match="unknown (image|joint) encoder"):
        embed_articles(articles, mediaeval_root, progress=False, **names)


def test_vectors_fill_nulls_with_zeros():
    table = pa.table({"v": pa.array([None, [1.0, 2.0]], pa.list_(pa.float32(), 2))})
    np.testing.assert_array_equal(vectors(table, "v"), [[0, 0], [1, 2]])
