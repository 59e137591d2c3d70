"""Metrics from predictions: accuracy, macro-F1, per-class P/R/F1, AUC, counts; mean and std
over seeds; ROC, precision-recall and confusion-matrix data for DVC plots. The decision
threshold is fixed at 0.5 (never tuned on test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
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
            CLASS_NAMES[c]: {"precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
                             "support": int(support[c])}
            for c in (0, 1)
        },
        "counts": {"n": int(len(y)), "fake": int((y == 1).sum()), "real": int((y == 0).sum()),
                   "predicted_fake": int(pred.sum())},
    }


def _mean_std(per_seed: list[dict]) -> dict:
    out = {}
    for key in HEADLINE:
        values = [m[key] for m in per_seed if m[key] is not None]
        if values:
            out[key] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return out


def evaluate(predictions: pd.DataFrame) -> dict:
    """Test metrics per seed plus mean/std; validation headline metrics for reference."""
    result = {"seeds": sorted(int(s) for s in predictions["seed"].unique())}
    for split in ("test", "val"):
        part = predictions[predictions["split"] == split]
        per_seed = [classification_metrics(g["label"], g["prob_fake"]) for _, g in part.groupby("seed")]
        if not per_seed:
            continue
        summary = per_seed[0] if split == "test" else {k: per_seed[0][k] for k in HEADLINE}
        result[split] = summary | {"over_seeds": _mean_std(per_seed)}
    return result


def plot_data(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ROC, PR and confusion data on the test split of the first seed."""
    first = predictions[(predictions["split"] == "test") & (predictions["seed"] == predictions["seed"].min())]
    y, prob = first["label"].to_numpy(), first["prob_fake"].to_numpy()
    out = {}
    if len(np.unique(y)) == 2:
        fpr, tpr, _ = roc_curve(y, prob)
        precision, recall, _ = precision_recall_curve(y, prob)
        out["roc"] = pd.DataFrame({"fpr": fpr, "tpr": tpr})
        out["precision_recall"] = pd.DataFrame({"recall": recall, "precision": precision})
    cm = confusion_matrix(y, (prob >= 0.5).astype(int), labels=[0, 1])
    out["confusion"] = pd.DataFrame(
        [{"actual": CLASS_NAMES[a], "predicted": CLASS_NAMES[p]} for a in (0, 1) for p in (0, 1) for _ in range(cm[a, p])]
    )
    return out
