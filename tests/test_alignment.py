"""Cross-fitted text-image alignment (pipeline/features/alignment.py) on synthetic pairs built to
tempt a CCA into overfitting: fewer train pairs (60) than dimensions (100-d text, 120-d image),
a weak shared signal, posts sharing images."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.features.alignment import DIMS, SHRINKAGES, CCAAlignment, cross_fit, image_folds
from pipeline.features.embed import _fit_alignment, _joint_vectors

MARGIN = 0.15  # how far apart the mean same-pair cosines of the splits may be


def _posts(rng, n: int, mixing: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """n posts on n * 2 // 3 images (a third of the images have two posts): each image carries a
    4-d latent signal, of which its posts' texts carry a weak trace."""
    latent = rng.normal(size=(n * 2 // 3, 4))
    pictures = latent @ mixing[0] + rng.normal(size=(len(latent), 120))
    of = np.arange(n) % len(latent)
    return 0.2 * latent[of] @ mixing[1] + rng.normal(size=(n, 100)), pictures[of]


@pytest.fixture(scope="module")
def splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    mixing = (rng.normal(size=(4, 120)), rng.normal(size=(4, 100)))
    return {"train": _posts(rng, 60, mixing), "val": _posts(rng, 200, mixing), "test": _posts(rng, 200, mixing)}


def _cosine(text: np.ndarray, image: np.ndarray) -> float:
    return float((text * image).sum(1).mean())


def test_train_rows_look_like_unseen_rows(splits):
    (text, image), (val_text, val_image), (test_text, test_image) = splits.values()
    fit = cross_fit(text, image)
    train, val = _cosine(fit.text, fit.image), _cosine(fit.full.text(val_text), fit.full.image(val_image))
    test = _cosine(fit.full.text(test_text), fit.full.image(test_image))
    assert test > 0.3  # the weak signal is found
    assert max(train, val, test) - min(train, val, test) < MARGIN, (train, val, test)
    # the old embedding (one CCA at shrinkage 0.1, applied to the pairs it was fitted on):
    # train pairs almost coincide while unseen ones barely correlate
    old = CCAAlignment.fit(text, image, dim=128, shrinkage=0.1)
    assert _cosine(old.text(text), old.image(image)) > _cosine(old.text(test_text), old.image(test_image)) + 0.7
    # the chosen CCA, too, is far closer on its own pairs than on any held-out ones
    assert _cosine(fit.full.text(text), fit.full.image(image)) > max(train, val, test) + MARGIN


def test_the_embedding_reports_each_splits_cosine(splits):
    """_joint_vectors as embed_articles uses it: train pairs out-of-fold; val, test and a train
    post without an image from the all-pairs CCA."""
    parts = [*splits.values(), (splits["train"][0][:1], np.zeros((1, 120)))]
    text, image = np.vstack([t for t, _ in parts]), np.vstack([i for _, i in parts])
    split = np.repeat(["train", "val", "test", "train"], [len(t) for t, _ in parts])
    has_image = np.arange(len(text)) < len(text) - 1
    fit, meta = _fit_alignment(*splits["train"], dim=128)
    clip_text, clip_image, cosines = _joint_vectors(fit, text, image, has_image, split)

    assert clip_text.shape == clip_image.shape == (len(text), meta["dim"])
    np.testing.assert_array_equal(clip_text[:60], fit.text)
    np.testing.assert_array_equal(clip_text[-1], fit.full.text(text[-1:])[0])
    assert not clip_image[-1].any()
    assert list(cosines) == ["train_in_sample", "train_out_of_fold", "val", "test"]
    assert cosines["train_out_of_fold"] == pytest.approx(_cosine(fit.text, fit.image), abs=1e-4)
    assert cosines["train_in_sample"] > cosines["test"] + MARGIN > cosines["train_out_of_fold"]
    assert meta["shrinkage"] in SHRINKAGES and meta["folds"] == 5 and meta["image_groups"] == 40
    assert meta["grid_out_of_fold_retrieval_auc"][f"{meta['shrinkage']}/{meta['dim']}"] == max(
        meta["grid_out_of_fold_retrieval_auc"].values()
    )


def test_out_of_fold_vectors_are_in_the_full_fits_coordinates(splits):
    """A model trained on the train rows' vectors reads val/test rows' vectors from the full fit:
    without the Procrustes rotation a fold's components come in their own order and signs."""
    text, image = splits["train"]
    fit = cross_fit(text, image)
    rotated = unrotated = 0.0
    for f in range(fit.folds.max() + 1):
        rows, rest = fit.folds == f, fit.folds != f
        fold = CCAAlignment.fit(text[rest], image[rest], dim=fit.full.dim, shrinkage=fit.shrinkage)
        full = np.hstack([fit.full.text(text[rows]), fit.full.image(image[rows])])
        rotated += (np.hstack([fit.text[rows], fit.image[rows]]) * full).sum()
        unrotated += (np.hstack([fold.text(text[rows]), fold.image(image[rows])]) * full).sum()
        # one rotation for both modalities: the fold's own text-image cosines are kept
        own = (fold.text(text[rows]) * fold.image(image[rows])).sum(1)
        np.testing.assert_allclose((fit.text[rows] * fit.image[rows]).sum(1), own, atol=1e-5)
    # mean over rows and both modalities of the cosine with the full fit's vector of the same row
    assert rotated / (2 * len(text)) > 0.7 > 0.3 > unrotated / (2 * len(text))


def test_folds_keep_each_image_together_and_are_deterministic(splits):
    text, image = splits["train"]
    folds = image_folds(image, 5)
    _, group = np.unique(image, axis=0, return_inverse=True)
    for g in np.unique(group):
        assert len(set(folds[group.ravel() == g])) == 1
    assert sorted(np.bincount(folds)) == [12] * 5  # 20 two-post and 20 one-post images, balanced
    np.testing.assert_array_equal(image_folds(image[::-1], 5)[::-1], folds)  # row order does not matter
    first, again = cross_fit(text, image), cross_fit(text, image)
    for name in ("text", "image", "folds"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert first.scores == again.scores


def test_the_grid_stays_under_the_dim_limit(splits):
    fit = cross_fit(*splits["train"], max_dim=12)
    assert {key.split("/")[1] for key in fit.scores} == {"8", "12"}
    assert len(fit.scores) == 2 * len(SHRINKAGES) and fit.full.dim <= 12 and DIMS[0] == 8


def test_too_few_distinct_images_to_cross_fit():
    rng = np.random.default_rng(0)
    image = np.repeat(rng.normal(size=(2, 8)), 10, axis=0)
    fit, meta = _fit_alignment(rng.normal(size=(20, 6)), image, dim=128)
    assert fit is None and "2 distinct images" in meta["unavailable"]
