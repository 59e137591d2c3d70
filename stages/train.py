"""Stage train: <method> on <dataset> -> models/<method>/<dataset>/{model.pkl, predictions.parquet, train.json}."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pyarrow.parquet as pq

from pipeline import config
from pipeline.train import train


def run(method: str, dataset: str, params: dict) -> list[dict]:
    cfg = params.get("train", {})
    articles = pq.read_table(config.articles_path(dataset)).to_pandas()
    out = config.model_dir(method, dataset)
    out.mkdir(parents=True, exist_ok=True)
    predictions, records, models = [], [], {}
    for seed in cfg.get("seeds", [0]):
        model, preds, record = train(method, articles, config.embeddings_path(dataset), cfg.get(method, {}), seed)
        predictions.append(preds)
        records.append(record)
        models[seed] = model
    with open(out / "model.pkl", "wb") as fh:
        pickle.dump(models, fh)
    pd.concat(predictions).to_parquet(out / "predictions.parquet", index=False)
    (out / "train.json").write_text(json.dumps(records, indent=2) + "\n")
    return records
