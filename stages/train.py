"""Stage train: <method> on <dataset> -> models/<method>/<dataset>/{model.pkl, predictions.parquet, train.json}.

A dataset lacking what a method needs (images for MMFND, a similarity graph for GLPN-LLM)
gets an empty predictions file and a train.json saying why; evaluate reports it as such."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.train import GRAPH_METHODS, NotApplicable, attach_graphs, load_inputs, resolve_method, train


def run(method: str, dataset: str, params: dict) -> list[dict]:
    cfg = params.get("train", {})
    base, settings = resolve_method(method, cfg)
    if method == "glpn":
        settings.setdefault("mask_rate", params.get("mask_rate", 0.5))
    articles = pq.read_table(config.articles_path(dataset)).to_pandas()
    similarity = config.graphs_dir(dataset) / "similarity.pt"
    graph_method = base in GRAPH_METHODS  # reads the per-article graphs, not the similarity graph
    data, _ = load_inputs(articles, config.embeddings_path(dataset), similarity if similarity.exists() and not graph_method else None,
                          config.llm_path(dataset) if config.llm_path(dataset).exists() else None)
    if graph_method:
        data = attach_graphs(data, config.graphs_dir(dataset), config.intents_path(dataset), config.semantics_path(dataset))
    device = str(resolve_device(cfg.get("device", "auto")))
    out = config.model_dir(method, dataset)
    out.mkdir(parents=True, exist_ok=True)
    predictions, records, models = [], [], {}
    try:
        for seed in cfg.get("seeds", [0]):
            model, preds, record = train(base, data, settings, seed, device)
            predictions.append(preds.assign(label=articles["label"].to_numpy()))
            records.append(record | {"method": base, "settings": settings})
            models[seed] = model
    except NotApplicable as reason:
        predictions = [pd.DataFrame(columns=["id", "split", "prob_fake", "pred", "seed", "label"])]
        records = [{"not_applicable": str(reason), "method": base}]
    with open(out / "model.pkl", "wb") as fh:
        pickle.dump(models, fh)
    pd.concat(predictions).to_parquet(out / "predictions.parquet", index=False)
    (out / "train.json").write_text(json.dumps(records, indent=2) + "\n")
    return records
