"""scripts/lgcl_protocols.py: LGCL's recorded protocols as tables, from a real (tiny) LGCL fit."""

from __future__ import annotations

import json

import pytest
from scripts_loader import load_script

from pipeline.models.lgcl import LGCLDetector

SMALL = dict(hidden=16, heads=2, layers=1, epochs=1, gmae_hidden=16, gmae_epochs=1, cv_folds=3)


@pytest.fixture(scope="module")
def protocols():
    return load_script("lgcl_protocols")


def test_a_row_per_training_share_with_the_papers_beside(protocols, graph_data, tmp_path):
    settings = SMALL | {"label_fractions": [0.2, 0.6], "label_fraction_folds": 3}
    records = [LGCLDetector(seed=seed, **settings).fit(graph_data) | {"seed": seed} for seed in (0, 1)]
    path = tmp_path / "train.json"
    path.write_text(json.dumps(records))
    out = tmp_path / "protocols.md"
    protocols.main([str(path), "--out", str(out)])
    text = out.read_text()
    assert "3-fold over" in text and "2 seed(s) (0, 1)" in text
    share_rows = [line for line in text.splitlines() if line.startswith(("| 20% |", "| 60% |"))]
    assert len(share_rows) == 2 and share_rows[0].endswith("| 0.875 / 0.867 |")


def test_a_record_from_before_the_protocols_is_a_clear_error(protocols, tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps([{"seed": 0, "cross_validation": {"folds": 5, "C": 0.01}}]))
    with pytest.raises(SystemExit, match=r"seed\(s\) 0 hold no nested cross-validation"):
        protocols.main([str(path)])
