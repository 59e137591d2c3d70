"""How good are the LLM annotations? Measured on the validation split only."""

from __future__ import annotations

import numpy as np
import pandas as pd


def expected_calibration_error(y: np.ndarray, prob_fake: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by bin size."""
    pred = (prob_fake >= 0.5).astype(int)
    confidence = np.maximum(prob_fake, 1 - prob_fake)
    edges = np.linspace(0.5, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            error += in_bin.mean() * abs((pred[in_bin] == y[in_bin]).mean() - confidence[in_bin].mean())
    return float(error)


def veracity_quality(y: np.ndarray, prob_fake: np.ndarray, top_fraction: float = 0.05) -> dict:
    scored = ~np.isnan(prob_fake)
    y, prob = y[scored], prob_fake[scored]
    out = {"n": int(len(scored)), "scored": int(scored.sum())}
    if not len(y):
        return out
    pred = (prob >= 0.5).astype(int)
    confidence = np.maximum(prob, 1 - prob)
    top = np.argsort(-confidence, kind="stable")[: max(1, int(round(top_fraction * len(y))))]
    return out | {
        "accuracy": round(float((pred == y).mean()), 4),
        f"top_{round(top_fraction * 100)}pct_accuracy": round(float((pred[top] == y[top]).mean()), 4),
        f"top_{round(top_fraction * 100)}pct_n": int(len(top)),
        "predicted_fake_share": round(float(pred.mean()), 4),
        "brier": round(float(np.mean((prob - y) ** 2)), 4),
        "ece_10_bins": round(expected_calibration_error(y, prob), 4),
        "mean_confidence": round(float(confidence.mean()), 4),
    }


def zero_shot_quality(y: np.ndarray, label: pd.Series) -> dict:
    classified = label.notna().to_numpy()
    out = {"n": int(len(classified)), "classified": int(classified.sum())}
    if classified.any():
        pred = label[classified].astype(int).to_numpy()
        out |= {
            "accuracy": round(float((pred == y[classified]).mean()), 4),
            "predicted_fake_share": round(float(pred.mean()), 4),
        }
    return out


def validation_quality(articles: pd.DataFrame, table: pd.DataFrame, top_fraction: float = 0.05) -> dict:
    val = (articles["split"] == "val").to_numpy()
    y = articles["label"].to_numpy()[val]
    out = {"split": "val"}
    if "veracity_prob_fake" in table:
        out["veracity"] = veracity_quality(y, table["veracity_prob_fake"].to_numpy()[val], top_fraction)
    if "zero_shot_label" in table:
        out["zero_shot"] = zero_shot_quality(y, table["zero_shot_label"][val].reset_index(drop=True))
    return out
