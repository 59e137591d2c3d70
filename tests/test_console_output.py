"""Numbers printed to the console are the means over seeds, said to be that, or carry their seed:
the train stage's line (`dvc repro`, `python -m stages.train`, `fnd train`) and `fnd metrics`.
(`dvc metrics show` sorts its columns by name, so seeds.0.test.* come before the means, test.*.)"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.evaluate import evaluate
from stages.train import summary


def _predictions() -> pd.DataFrame:
    """Two seeds on 8 test rows: seed 0 gets all right (accuracy 1.0), seed 1 half (0.5)."""
    label = np.array([0, 1] * 4)
    frames = []
    for seed, prob in ((0, label * 0.8 + 0.1), (1, np.array([0.9, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9]))):
        frames.append(
            pd.DataFrame({"id": [f"a{i}" for i in range(8)], "split": "test", "prob_fake": prob, "seed": seed}).assign(
                pred=lambda f: (f["prob_fake"] >= 0.5).astype(int), label=label
            )
        )
    return pd.concat(frames)


def _metrics(method: str = "logreg") -> dict:
    return {"method": method, "dataset": "tiny"} | evaluate(_predictions())


def test_the_train_line_is_the_mean_over_seeds_and_says_so():
    metrics = _metrics()
    assert metrics["seeds"]["0"]["test"]["accuracy"] == 1.0 and metrics["test"]["accuracy"] == 0.75
    line = summary("logreg", "tiny", metrics)
    assert line.startswith("logreg/tiny test, mean ± std over 2 seeds (0, 1): accuracy 0.7500 ± 0.2500, macro-F1 ")
    assert "AUC" in line and "1.0000" not in line  # seed 0's own accuracy is not printed as the result


def test_one_seed_and_a_missing_auc_are_labelled():
    metrics = _metrics()
    metrics["seeds"] = {"0": metrics["seeds"]["0"]}
    metrics["test"]["auc"] = None
    assert summary("m", "d", metrics).startswith("m/d test, mean ± std over 1 seed (0): accuracy")
    assert summary("m", "d", metrics).endswith("AUC n/a")
    assert summary("m", "d", {"not_applicable": "no images"}) == "m/d: not applicable: no images"


def test_the_train_stage_prints_the_labelled_mean(monkeypatch, capsys):
    from stages import train as stage

    monkeypatch.setattr(stage.config, "load_params", lambda path: {})
    monkeypatch.setattr(stage, "run", lambda name, dataset, params: _metrics())
    stage.main(["logreg", "tiny"])
    out = capsys.readouterr().out
    assert out.startswith("logreg/tiny test, mean ± std over 2 seeds (0, 1): accuracy 0.7500 ± 0.2500")


def test_fnd_metrics_prints_each_methods_seed_means(tmp_path):
    for method in ("logreg", "mlp"):
        (tmp_path / method).mkdir()
        (tmp_path / method / "tiny.json").write_text(json.dumps(_metrics(method)))
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "tiny.json").write_text('{"edges": 3}')  # not a method's metrics
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "tiny.json").write_text(
        json.dumps({"method": "inside", "dataset": "tiny", "not_applicable": "x"})
    )
    result = CliRunner().invoke(app, ["metrics", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "inside/tiny: not applicable: x",
        summary("logreg", "tiny", _metrics("logreg")),
        summary("mlp", "tiny", _metrics("mlp")),
    ]
    only = CliRunner().invoke(app, ["metrics", "--dir", str(tmp_path), "--method", "mlp"])
    assert only.output.splitlines() == [summary("mlp", "tiny", _metrics("mlp"))]
    none = CliRunner().invoke(app, ["metrics", "--dir", str(tmp_path), "--dataset", "nope"])
    assert none.exit_code == 1 and "error: no metrics in" in none.output
