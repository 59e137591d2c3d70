"""Stage evaluate: predictions -> metrics/<method>/<dataset>.json and plot data for DVC."""

from __future__ import annotations

import json

import pandas as pd

from pipeline import config
from pipeline.evaluate import evaluate, plot_data

PLOTS = ("roc", "precision_recall", "confusion")


def run(method: str, dataset: str) -> dict:
    model_dir = config.model_dir(method, dataset)
    predictions = pd.read_parquet(model_dir / "predictions.parquet")
    training = json.loads((model_dir / "train.json").read_text())
    out = config.metrics_path(method, dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    plots = config.plots_dir(method, dataset)
    plots.mkdir(parents=True, exist_ok=True)
    if "not_applicable" in training[0]:
        metrics = {"method": method, "dataset": dataset, "not_applicable": training[0]["not_applicable"]}
        frames = {name: pd.DataFrame() for name in PLOTS}
    else:
        metrics = {"method": method, "dataset": dataset} | evaluate(predictions)
        metrics["selection"] = [r.get("selected", {"epoch": r.get("selected_epoch")}) for r in training]
        metrics["substitutes"] = training[0]["substitutes"]
        frames = plot_data(predictions)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    for name, frame in frames.items():
        frame.round(6).to_csv(plots / f"{name}.csv", index=False)
    return metrics
