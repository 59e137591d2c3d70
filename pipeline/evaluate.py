"""Metrics from predictions: accuracy, macro-F1, per-class P/R/F1, AUC, counts per seed; the
mean and std over seeds as the headline; ROC and precision-recall data for DVC plots. The
decision threshold is fixed at 0.5 (never tuned on test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

CLASS_NAMES = {0: "real", 1: "fake"}
HEADLINE = ("accuracy", "macro_f1", "auc")


def classification_metrics(y: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict:
    y = np.asarray(y, dtype=int)
    pred = (np.asarray(prob) >= threshold).astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    both_classes = len(np.unique(y)) == 2
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=[0, 1], average="macro", zero_division=0)),
        "auc": float(roc_auc_score(y, prob)) if both_classes else None,
        "per_class": {
            CLASS_NAMES[c]: {
                "precision": float(precision[c]),
                "recall": float(recall[c]),
                "f1": float(f1[c]),
                "support": int(support[c]),
            }
            for c in (0, 1)
        },
        "counts": {
            "n": int(len(y)),
            "fake": int((y == 1).sum()),
            "real": int((y == 0).sum()),
            "predicted_fake": int(pred.sum()),
        },
    }


def _mean_std(per_seed: list[dict]) -> dict:
    """Each headline metric's mean over seeds, with its std beside it."""
    out = {}
    for key in HEADLINE:
        values = [m[key] for m in per_seed if m[key] is not None]
        if values:
            out |= {key: float(np.mean(values)), f"{key}_std": float(np.std(values))}
    return out


def evaluate(predictions: pd.DataFrame) -> dict:
    """`test` and `val`: each headline metric's mean over seeds with its std beside it, and
    the split's size; `seeds`: every seed's own metrics under its seed."""
    per_seed = {}
    for seed, group in predictions.groupby("seed"):
        entry = {}
        for split in ("test", "val"):
            part = group[group["split"] == split]
            if len(part):
                metrics = classification_metrics(part["label"], part["prob_fake"])
                entry[split] = metrics if split == "test" else {k: metrics[k] for k in HEADLINE}
        per_seed[str(int(seed))] = entry
    result = {}
    for split in ("test", "val"):
        values = [entry[split] for entry in per_seed.values() if split in entry]
        if values:
            result[split] = _mean_std(values) | {"n": int((predictions["split"] == split).sum() // len(per_seed))}
    return result | {"seeds": per_seed}


def llm_coverage(method, data) -> dict | None:
    """For a method whose prediction of a row uses the LLM's score of that row (its registry
    entry names what an unscored row gets, `unscored`): the share of the val and test rows the
    LLM scored, and that text; None for any other method."""
    if getattr(method, "unscored", None) is None or data.llm_prob_fake is None:
        return None
    scored = ~np.isnan(np.asarray(data.llm_prob_fake, dtype=np.float64))
    shares = {split: float(scored[data.mask(split)].mean()) for split in ("val", "test") if data.mask(split).any()}
    return shares | {"unscored": method.unscored}


def add_llm_coverage(metrics: dict, coverage: dict | None) -> dict:
    """`llm_coverage` beside the val and test metrics; a `warning` when the LLM scored no test
    row, as the test numbers then say nothing about the LLM."""
    if not coverage:
        return metrics
    for split in ("val", "test"):
        if split in metrics and split in coverage:
            metrics[split]["llm_coverage"] = coverage[split]
    if coverage.get("test") == 0 and "test" in metrics:
        metrics["warning"] = (
            f"llm_coverage 0: the LLM scored none of the {metrics['test']['n']} test rows and "
            f"{coverage['unscored']}: these test metrics say nothing about the LLM"
        )
    return metrics


def plot_data(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ROC and precision-recall data on the test split of the first seed (empty with one class)."""
    first = predictions[(predictions["split"] == "test") & (predictions["seed"] == predictions["seed"].min())]
    y, prob = first["label"].to_numpy(), first["prob_fake"].to_numpy()
    if len(np.unique(y)) < 2:
        return {
            "roc": pd.DataFrame(columns=["fpr", "tpr"]),
            "precision_recall": pd.DataFrame(columns=["recall", "precision"]),
        }
    fpr, tpr, _ = roc_curve(y, prob)
    precision, recall, _ = precision_recall_curve(y, prob)
    return {
        "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
        "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}),
    }
