"""Shared training: join articles and embeddings by id, fit a method on train with
validation-based selection, predict every split. The test split is never looked at here
except to write its predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline.features.embed import read_meta, vectors
from pipeline.models.baselines import LogRegDetector

METHODS = {"logreg": LogRegDetector}


def load_features(articles: pd.DataFrame, embeddings_file) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Rows of `articles` with their feature matrix (text, plus image and has_image when the
    dataset has any image), joined by id. An article without embeddings is an error."""
    table = pq.read_table(embeddings_file)
    position = {key: i for i, key in enumerate(table.column("id").to_pylist())}
    missing = [key for key in articles["id"] if key not in position]
    if missing:
        raise ValueError(f"{embeddings_file}: no embeddings for {len(missing)} article id(s), e.g. {missing[:3]}; re-run embed")
    rows = np.array([position[key] for key in articles["id"]])
    has_image = np.asarray(table.column("has_image").to_pylist(), dtype=bool)
    parts = [vectors(table, "text")]
    if has_image.any():
        parts += [vectors(table, "image"), has_image[:, None].astype(np.float32)]
    return articles.reset_index(drop=True), np.hstack(parts)[rows], read_meta(table)


def train(method: str, articles: pd.DataFrame, embeddings_file, method_params: dict, seed: int):
    """Returns (fitted model, predictions frame, training record)."""
    if method not in METHODS:
        raise KeyError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    articles, X, meta = load_features(articles, embeddings_file)
    y = articles["label"].to_numpy()
    split = articles["split"].to_numpy()
    tr, va = split == "train", split == "val"
    if not tr.any() or not va.any():
        raise ValueError(f"{method}: need non-empty train and val splits (got {tr.sum()} train, {va.sum()} val)")
    model = METHODS[method](seed=seed, **method_params)
    record = model.fit(X[tr], y[tr], X[va], y[va])
    prob = model.predict_proba(X)
    predictions = pd.DataFrame(
        {"id": articles["id"], "split": split, "label": y, "prob_fake": prob, "pred": (prob >= 0.5).astype(int), "seed": seed}
    )
    record |= {"seed": seed, "features": int(X.shape[1]), "substitutes": meta.get("substitutes", [])}
    return model, predictions, record
