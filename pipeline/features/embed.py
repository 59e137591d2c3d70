"""Articles -> per-id vectors: text, image, and the joint text-image pair (clip_text, clip_image).

The text fed to encoders is the title and the body joined by a newline (the body alone when
there is no title). Each row's image is its first image file that loads; rows without one
(no path, missing file, corrupt file) get a zero vector, has_image = False and the reason
in image_status. Identical image files shared by many posts are encoded once.

With an EmbeddingCache (pipeline/features/cache.py) every per-item encoder output (text,
image, clip_text, clip_image) is looked up by content first and only the misses are encoded;
the output is the same bytes with or without it.

The 'aligned' joint vectors come from a CCA on this split's train (text, image) pairs,
cross-fitted (pipeline/features/alignment.py): each train pair is embedded by a CCA fitted on
the other folds of pairs (grouped by image) and rotated into the coordinates of the CCA fitted
on all of them, which embeds every other row (val, test, train posts without an image). A
CCA applied to its own pairs puts each text almost on its image, which unseen pairs never
show, so train rows would not look like test rows to the models. The shrinkage and dim are
chosen on the out-of-fold pairs (align_dim is the largest dim tried). joint_alignment in the
metadata gives the choice, the grid's scores, the folds and the mean text-image cosine of a
post's own pair per split ('train_in_sample': the all-pairs CCA on its own pairs, for contrast).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.device import resolve_device
from pipeline.features import registry
from pipeline.features.alignment import CrossFit, cross_fit
from pipeline.features.cache import EmbeddingCache, encode_cached, file_digest, sha256
from pipeline.features.images import NO_IMAGE, OK, load_image
from pipeline.vectors import META_KEY, vector_column

MIN_ALIGNMENT_PAIRS = 10


def _fit_alignment(text: np.ndarray, image: np.ndarray, dim: int) -> tuple[CrossFit | None, dict]:
    """The cross-fitted CCA on the train pairs and its metadata, or None and the reason it cannot be fitted."""
    if len(text) < MIN_ALIGNMENT_PAIRS:
        return None, {
            "unavailable": f"only {len(text)} train text-image pairs (< {MIN_ALIGNMENT_PAIRS}); "
            "clip_text/clip_image are null"
        }
    try:
        fit = cross_fit(text, image, max_dim=dim)
    except ValueError as err:
        return None, {"unavailable": f"{err}; clip_text/clip_image are null"}
    return fit, {
        "fitted_on_train_pairs": len(text),
        "dim": fit.full.dim,
        "shrinkage": fit.shrinkage,
        "top_canonical_correlations": [round(float(c), 4) for c in fit.full.correlations[:5]],
        "folds": int(fit.folds.max() + 1),
        "image_groups": len(np.unique(image, axis=0)),
        "grid_out_of_fold_retrieval_auc": fit.scores,
    }


def _joint_vectors(fit: CrossFit, text: np.ndarray, image: np.ndarray, has_image: np.ndarray, split: np.ndarray):
    """(clip_text, clip_image, mean cosine of each post's own text and image per split): train
    pairs out-of-fold, every other row from the CCA fitted on all pairs."""
    clip_text = fit.full.text(text)
    clip_image = np.where(has_image[:, None], fit.full.image(image), 0).astype(np.float32)

    def mean_cosine(rows: np.ndarray) -> float:
        return round(float((clip_text[rows] * clip_image[rows]).sum(1).mean()), 4)

    pairs = has_image & (split == "train")
    cosines = {"train_in_sample": mean_cosine(pairs)}
    clip_text[pairs], clip_image[pairs] = fit.text, fit.image
    cosines["train_out_of_fold"] = mean_cosine(pairs)
    for name in ("val", "test"):
        if (rows := has_image & (split == name)).any():
            cosines[name] = mean_cosine(rows)
    return clip_text, clip_image, cosines


def encoder_input(df: pd.DataFrame) -> list[str]:
    titles = df["title"].fillna("").str.strip()
    return [f"{t}\n{b}" if t else b for t, b in zip(titles, df["text"].fillna(""))]


def image_file(rel: str, data_root: Path) -> Path:
    return Path(rel) if Path(rel).is_absolute() else data_root / rel


def load_row_images(
    df: pd.DataFrame, data_root: Path, allowed_roots: tuple[Path, ...] | None = None
) -> tuple[list[str | None], list[str], dict]:
    """For each row: the relative path of its first loadable image (or None) and a status;
    plus {path: PIL image} for every distinct loadable file. With `allowed_roots`, a path
    outside them is not opened (status 'path outside the data folder')."""
    loaded: dict[str, object] = {}
    status_of: dict[str, str] = {}
    chosen, statuses = [], []
    for paths in df["image_paths"]:
        pick, status = None, NO_IMAGE
        for rel in list(paths if paths is not None else []):
            if rel not in status_of:
                image, status_of[rel] = load_image(image_file(rel, data_root), allowed_roots)
                if image is not None:
                    loaded[rel] = image
            status = status_of[rel]
            if status == OK:
                pick = rel
                break
        chosen.append(pick)
        statuses.append(status)
    return chosen, statuses, loaded


def _rows(matrix: np.ndarray | None, n: int):
    return [None] * n if matrix is None else list(matrix)


def embed_articles(
    df: pd.DataFrame,
    data_root: Path,
    *,
    text: str = registry.DEFAULTS["text"],
    image: str = registry.DEFAULTS["image"],
    joint: str = registry.DEFAULTS["joint"],
    device: str = "auto",
    batch_size: int = 16,
    image_batch_size: int = 4,
    align_dim: int = 128,
    image_roots: tuple[Path, ...] | None = None,
    cache: EmbeddingCache | None = None,
    progress: bool = True,
) -> pa.Table:
    """Encode every article; returns a table keyed by id with metadata under META_KEY.
    Image files are opened only under `image_roots` (default: `data_root`). With `cache`, its
    `stats` say per modality how many items came from it and how many were encoded."""
    dev = resolve_device(device)
    texts = encoder_input(df)
    text_digests = [sha256(t) for t in texts]
    n = len(df)

    # every encoder is loaded before any encoding, so a wrong name fails in seconds
    text_enc, text_info = registry.text_encoder(text, dev)
    image_enc, image_info = registry.image_encoder(image, dev)
    joint_enc, joint_info = registry.joint_encoder(joint, dev)

    keys: dict[str, str] = {}  # encoder name -> its part of the cache keys (weights hashed once)

    def encoded(modality: str, enc, info, items: list, digests: list[str], batches):
        if cache is not None and info.name not in keys:
            keys[info.name] = cache.register(info.name, enc.identity())
        key = keys.get(info.name)
        return encode_cached(items, digests, batches, enc.dim, modality=modality, cache=cache, encoder=key)

    text_vecs, truncated = encoded(
        "text", text_enc, text_info, texts, text_digests, lambda xs: text_enc.batches(xs, batch_size, progress)
    )
    chosen, statuses, loaded = load_row_images(df, Path(data_root), image_roots or (Path(data_root),))
    distinct = sorted(loaded)
    images = [loaded[p] for p in distinct]
    image_digests = [file_digest(image_file(p, Path(data_root))) for p in distinct]
    distinct_vecs, _ = encoded(
        "image",
        image_enc,
        image_info,
        images,
        image_digests,
        lambda xs: image_enc.batches(xs, image_batch_size, progress),
    )
    position = {p: i for i, p in enumerate(distinct)}
    has_image = np.array([c is not None for c in chosen])
    image_vecs = np.zeros((n, image_enc.dim), np.float32)
    for row, path in enumerate(chosen):
        if path is not None:
            image_vecs[row] = distinct_vecs[position[path]]

    joint_meta: dict = {}
    clip_text = clip_image = None
    if joint_enc is not None:
        clip_text, _ = encoded(
            "clip_text",
            joint_enc,
            joint_info,
            texts,
            text_digests,
            lambda xs: joint_enc.text_batches(xs, batch_size, progress),
        )
        clip_distinct, _ = encoded(
            "clip_image",
            joint_enc,
            joint_info,
            images,
            image_digests,
            lambda xs: joint_enc.image_batches(xs, image_batch_size, progress),
        )
        clip_image = np.zeros((n, clip_text.shape[1]), np.float32)
        for row, path in enumerate(chosen):
            if path is not None:
                clip_image[row] = clip_distinct[position[path]]
    else:
        split = df["split"].to_numpy()
        pairs = has_image & (split == "train")
        fit, joint_meta = _fit_alignment(text_vecs[pairs], image_vecs[pairs], align_dim)
        if fit is not None:
            clip_text, clip_image, joint_meta["same_item_cosine"] = _joint_vectors(
                fit, text_vecs, image_vecs, has_image, split
            )
    joint_dim = 0 if clip_text is None else clip_text.shape[1]

    meta = {
        "encoders": {"text": text_info.to_dict(), "image": image_info.to_dict(), "joint": joint_info.to_dict()},
        "substitutes": [
            f"{i.name} stands in for {i.substitute_for}"
            for i in (text_info, image_info, joint_info)
            if i.substitute_for
        ],
        "joint_alignment": joint_meta,
        "dims": {"text": text_enc.dim, "image": image_enc.dim, "clip": joint_dim},
        "rows": n,
        "distinct_image_files_encoded": len(distinct),
        "image_status": dict(Counter(statuses)),
        "texts_truncated_to_max_length": int(truncated.sum()),
        "device": dev.type,
    }
    table = pa.table(
        {
            "id": pa.array(df["id"], pa.string()),
            "text": vector_column(list(text_vecs), text_enc.dim),
            "image": vector_column(list(image_vecs), image_enc.dim),
            "clip_text": vector_column(_rows(clip_text, n), joint_dim),
            "clip_image": vector_column(_rows(clip_image, n), joint_dim),
            "has_image": pa.array(has_image, pa.bool_()),
            "image_status": pa.array(statuses, pa.string()),
        }
    )
    return table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
