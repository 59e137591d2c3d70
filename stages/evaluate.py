"""Stage evaluate: predictions -> metrics/<method>/<dataset>.json and plot data for DVC."""

from __future__ import annotations

import json

import pandas as pd

from pipeline import config
from pipeline.evaluate import evaluate, plot_data


def run(method: str, dataset: str) -> dict:
    model_dir = config.model_dir(method, dataset)
    predictions = pd.read_parquet(model_dir / "predictions.parquet")
    training = json.loads((model_dir / "train.json").read_text())
    metrics = {"method": method, "dataset": dataset} | evaluate(predictions)
    metrics["selection"] = [r["selected"] for r in training]
    metrics["substitutes"] = training[0]["substitutes"]
    out = config.metrics_path(method, dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    plots = config.plots_dir(method, dataset)
    plots.mkdir(parents=True, exist_ok=True)
    for name, frame in plot_data(predictions).items():
        frame.round(6).to_csv(plots / f"{name}.csv", index=False)
    return metrics
