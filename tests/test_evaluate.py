"""Metrics against scikit-learn, seed aggregation, and plot data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from pipeline.evaluate import classification_metrics, evaluate, plot_data


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    prob = np.clip(0.35 * y + rng.uniform(0, 0.65, 200), 0, 1)
    return y, prob


def test_classification_metrics_match_sklearn(scored):
    y, prob = scored
    pred = (prob >= 0.5).astype(int)
    m = classification_metrics(y, prob)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["auc"] == pytest.approx(roc_auc_score(y, prob))
    assert m["per_class"]["fake"]["precision"] == pytest.approx(precision_score(y, pred, pos_label=1))
    assert m["per_class"]["real"]["recall"] == pytest.approx(recall_score(y, pred, pos_label=0))
    assert m["per_class"]["fake"]["support"] == int(y.sum())
    assert m["counts"] == {
        "n": 200,
        "fake": int(y.sum()),
        "real": int(200 - y.sum()),
        "predicted_fake": int(pred.sum()),
    }


def test_single_class_has_no_auc():
    m = classification_metrics(np.ones(5, int), np.full(5, 0.9))
    assert m["auc"] is None and m["accuracy"] == 1.0


def test_evaluate_headline_is_the_mean_over_seeds_with_each_seed_under_its_seed(scored):
    y, prob = scored
    frames = []
    for seed, shift in ((0, 0.0), (1, 0.25)):
        frames.append(
            pd.DataFrame(
                {"id": range(200), "split": "test", "label": y, "prob_fake": np.clip(prob + shift, 0, 1), "seed": seed}
            )
        )
    result = evaluate(pd.concat(frames))
    accs = [classification_metrics(y, np.clip(prob + s, 0, 1))["accuracy"] for s in (0.0, 0.25)]
    assert accs[0] != accs[1]
    assert result["test"]["accuracy"] == pytest.approx(np.mean(accs))  # the mean, not seed 0
    assert result["test"]["accuracy_std"] == pytest.approx(np.std(accs))
    assert result["test"]["n"] == 200
    assert sorted(result["seeds"]) == ["0", "1"]
    assert result["seeds"]["1"]["test"]["accuracy"] == pytest.approx(accs[1])
    assert result["seeds"]["0"]["test"]["counts"]["n"] == 200
    assert "val" not in result  # no validation rows given


def test_plot_data(scored):
    y, prob = scored
    preds = pd.DataFrame({"id": range(200), "split": "test", "label": y, "prob_fake": prob, "seed": 0})
    plots = plot_data(preds)
    assert set(plots) == {"roc", "precision_recall"}
    assert plots["roc"]["fpr"].is_monotonic_increasing
    assert plots["precision_recall"]["recall"].is_monotonic_decreasing
