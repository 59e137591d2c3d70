"""The oracle-noise diagnostic (scripts/oracle_noise.py): its simulated LLM has the accuracy
asked for, a confidence independent of correctness, and scores test rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scripts_loader import load_script

from pipeline.models.glpn import pseudo_labels
from pipeline.models.inputs import MethodInputs, hide_test_labels


@pytest.fixture(scope="module")
def oracle_noise():
    return load_script("oracle_noise")


def inputs(n_test: int, seed: int = 0) -> tuple[MethodInputs, np.ndarray]:
    """Inputs with 20 train, 10 val and `n_test` test rows (text vectors only), and the true labels."""
    rng = np.random.default_rng(seed)
    split = np.array(["train"] * 20 + ["val"] * 10 + ["test"] * n_test)
    truth = rng.integers(0, 2, len(split))
    data = MethodInputs(
        ids=[str(i) for i in range(len(split))],
        split=split,
        y=hide_test_labels(split, truth),
        text=rng.normal(size=(len(split), 4)).astype(np.float32),
    )
    return data, truth


def simulated_labels(prob: np.ndarray) -> np.ndarray:
    return (prob > 0.5).astype(int)  # GLPN's reading of P(fake) (pseudo_labels)


@pytest.mark.parametrize("accuracy, agreement", [(1.0, 1.0), (0.0, 0.0)])
def test_extreme_accuracies_keep_or_flip_every_label(oracle_noise, accuracy, agreement):
    data, truth = inputs(300)
    prob = oracle_noise.simulate_llm(data, truth, accuracy, np.random.default_rng(1))
    test = data.mask("test")
    assert (simulated_labels(prob[test]) == truth[test]).mean() == agreement


def test_agreement_matches_accuracy_and_confidence_is_independent(oracle_noise):
    data, truth = inputs(2000)
    prob = oracle_noise.simulate_llm(data, truth, 0.7, np.random.default_rng(2))
    test = data.mask("test")
    correct = simulated_labels(prob[test]) == truth[test]
    assert abs(correct.mean() - 0.7) < 0.05
    confidence = np.maximum(prob[test], 1.0 - prob[test])
    assert ((confidence >= 0.5) & (confidence < 1.0)).all()
    assert abs(confidence[correct].mean() - confidence[~correct].mean()) < 0.05


def test_only_test_rows_are_scored(oracle_noise):
    data, truth = inputs(100)
    prob = oracle_noise.simulate_llm(data, truth, 0.8, np.random.default_rng(3))
    assert np.isnan(prob[~data.mask("test")]).all()
    assert not np.isnan(prob[data.mask("test")]).any()
    data.llm_prob_fake = prob
    chosen = pseudo_labels(data, 0.05)
    assert len(chosen) == 5 and all(data.split[row] == "test" for row in chosen)


def test_same_seed_same_draw(oracle_noise):
    data, truth = inputs(50)
    first, second = (oracle_noise.simulate_llm(data, truth, 0.6, np.random.default_rng([0, 600])) for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_report_opens_with_the_caveat(oracle_noise):
    frame = pd.DataFrame(
        [
            {"llm": llm, "a": a, "seed": seed, "method": m, "test_accuracy": 0.5 + seed / 10, "pseudo_labels": p}
            | {"pseudo_label_accuracy": 0.5, "dataset": "toy"}
            for seed in (0, 1)
            for llm, a, m, p in (
                ("no", np.nan, "gcn_lp", 0),
                ("real", np.nan, "glpn", 3),
                ("simulated", 0.7, "glpn", 3),
            )
        ]
    )
    report = oracle_noise.table(frame)
    assert report.splitlines()[0] == oracle_noise.HEADER and "not results" in oracle_noise.HEADER
    assert "| 0.7 | 0.5500 ± 0.0500 | 0.5000 ± 0.0000 | 0.5500 ± 0.0500 | 0.5500 ± 0.0500 |" in report


@pytest.mark.parametrize("accuracy", [0.0, 0.7, 1.0])
def test_lgcl_classes_cover_every_split_at_the_accuracy_asked(oracle_noise, accuracy):
    """LGCL reads every article's zero-shot class, so the simulation gives every row one."""
    data, truth = inputs(2000)
    classes = oracle_noise.simulate_classes(truth, accuracy, np.random.default_rng(4))
    assert set(np.unique(classes)) <= {0, 1} and len(classes) == len(data)  # a class on every row, any split
    assert abs((classes == truth).mean() - accuracy) < 0.05


def test_each_fit_is_kept_as_it_finishes_and_not_fitted_again(oracle_noise, tmp_path):
    out = tmp_path / "oracle_noise_lgcl_toy.csv"
    first = oracle_noise.Ledger(out, "toy")
    first.add({"llm": "no", "a": np.nan, "seed": 0, "test_accuracy": 0.6})
    first.add({"llm": "simulated", "a": 0.7, "seed": 0, "test_accuracy": 0.65})
    assert out.read_text().splitlines()[0] == f"# {oracle_noise.HEADER}"  # on disk before the run ends

    resumed = oracle_noise.Ledger(out, "toy")  # a later run, after an interruption
    assert resumed.has("no", np.nan, 0) and resumed.has("simulated", 0.7, 0)
    assert (
        not resumed.has("simulated", 0.8, 0) and not resumed.has("no", np.nan, 1) and not resumed.has("real", np.nan, 0)
    )
    resumed.add({"llm": "no", "a": np.nan, "seed": 1, "test_accuracy": 0.5})
    frame = pd.read_csv(out, comment="#")
    assert list(frame["seed"]) == [0, 0, 1] and list(frame["test_accuracy"]) == [0.6, 0.65, 0.5]
    with pytest.raises(SystemExit, match="holds fits of \\['toy'\\], not other"):
        oracle_noise.Ledger(out, "other")
    with pytest.raises(SystemExit, match="written by another --method"):
        resumed.add({"llm": "no", "a": np.nan, "seed": 2, "method": "gcn_lp"})
