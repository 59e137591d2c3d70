"""scripts/authors_epoch_selection.py: the authors' test-selected epoch beside our validation-selected
number, from training records in the layout the train stage writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scripts_loader import load_script


@pytest.fixture(scope="module")
def selection():
    return load_script("authors_epoch_selection")


def write_run(root: Path, name: str, records: list[dict], accuracy_by_seed: dict[str, float]) -> None:
    (root / "models" / name / "ds").mkdir(parents=True)
    (root / "models" / name / "ds" / "train.json").write_text(json.dumps(records))
    (root / "metrics" / name).mkdir(parents=True)
    seeds = {seed: {"test": {"accuracy": acc}} for seed, acc in accuracy_by_seed.items()}
    (root / "metrics" / name / "ds.json").write_text(json.dumps({"seeds": seeds}))


def test_the_best_test_epoch_beside_the_validation_selected_one(selection, tmp_path, monkeypatch):
    articles = pd.DataFrame({"split": ["train", "test", "val", "test", "test", "test"], "label": [0, 1, 1, 0, 1, 1]})
    (tmp_path / "data/interim/ds").mkdir(parents=True)
    articles.to_parquet(tmp_path / "data/interim/ds/articles.parquet")
    # test labels 1 0 1 1: epoch 2 of seed 0 and epoch 1 of seed 1 get every row right
    write_run(
        tmp_path,
        "glpn",
        [
            {"seed": 0, "test_predictions_by_epoch": ["0000", "1011", "1111"]},
            {"seed": 1, "test_predictions_by_epoch": ["1011", "0000"]},
        ],
        {"0": 0.25, "1": 0.5},
    )
    write_run(tmp_path, "logreg", [{"seed": 0, "selected": {"C": 1.0}}], {"0": 0.5})  # no per-epoch record
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.md"
    selection.main(["ds", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| `")]
    assert rows == ["| `glpn` | 2 | 0.375 ± 0.125 | 1.000 ± 0.000 | 1.000 ± 0.000 | +0.625 | 2 of 3, 1 of 2 |"]


def test_predictions_for_other_rows_than_the_articles_test_split_are_refused(selection, tmp_path, monkeypatch):
    articles = pd.DataFrame({"split": ["test", "test"], "label": [1, 0]})
    (tmp_path / "data/interim/ds").mkdir(parents=True)
    articles.to_parquet(tmp_path / "data/interim/ds/articles.parquet")
    write_run(tmp_path, "mmfnd", [{"seed": 0, "test_predictions_by_epoch": ["101"]}], {"0": 0.5})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="predictions for 3 test rows, the articles have 2"):
        selection.main(["ds"])
