"""The LLM switched off per dataset (llm.veracity.datasets) and its coverage never hidden: a
dataset the LLM does not score gets no llm stage, the methods reading the LLM's scores are not
applicable there (with the reason) and every other method still trains; a method predicting
from the LLM's scores says in its metrics which share of the val and test rows the LLM scored,
warns when it scored no test row, and the report marks a test coverage below 1."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import methods, stagegraph
from pipeline.errors import ParamsError
from pipeline.models.inputs import MethodInputs, hide_test_labels
from pipeline.params_check import check_params
from pipeline.report import write

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
READERS = {name for name, entry in methods.METHODS.items() if "llm" in entry.reads}
LLM_REASON = "the LLM does not score it (list the dataset in llm.veracity.datasets)"


def llm_params(scored: list[str] | None, zero_shot: list[str] | None = None) -> dict:
    """The committed params with llm.veracity.datasets (and llm.zero_shot.datasets) set."""
    params = copy.deepcopy(PARAMS)
    params["llm"]["veracity"]["datasets"] = scored
    if zero_shot is not None:
        params["llm"]["zero_shot"]["datasets"] = zero_shot
    return params


def test_every_method_reading_the_llm_needs_it():
    assert {"llm_only", "glpn", "lgcl"} <= READERS
    for name in READERS:
        assert "llm" in methods.METHODS[name].needs, name
    assert all("llm" not in entry.needs for name, entry in methods.METHODS.items() if name not in READERS)


def test_with_the_llm_off_no_llm_stage_runs_and_every_method_not_reading_it_still_trains():
    params = llm_params([], zero_shot=[])
    check_params(params)
    stages = stagegraph.dvc_yaml(params)["stages"]
    assert not [name for name in stages if name.startswith("llm-")]
    llm_outs = {methods.artifact_path("llm", dataset) for dataset in params["datasets"]}
    for name, stage in stages.items():
        assert not llm_outs & set(stage["deps"]), f"{name} depends on the LLM's scores"
    trained = {methods.spec(name.split("-")[1]).name for name in stages if name.startswith("train-")}
    assert not trained & READERS
    for dataset in params["datasets"]:
        for method in params["train"]["methods"]:
            if method in READERS:
                assert methods.not_applicable(method, dataset, params).endswith(LLM_REASON), (method, dataset)
            elif methods.not_applicable(method, dataset, PARAMS) is None:  # it ran with the LLM on
                assert f"train-{method}-{dataset}" in stages and methods.not_applicable(method, dataset, params) is None
    # InSide's intents are a task of their own (stage llm_intents, llm.intents.datasets)
    assert "llm_intents-politifact" in stages and "train-inside-politifact" in stages
    assert "llm.veracity.datasets" in stages["report"]["params"]


def test_the_llm_scores_only_the_datasets_listed_and_the_reason_names_the_key():
    params = llm_params(["mediaeval2016"], zero_shot=[])
    stages = stagegraph.dvc_yaml(params)["stages"]
    assert "llm-mediaeval2016" in stages and "llm-politifact" not in stages
    assert "train-llm_only-mediaeval2016" in stages and "train-glpn-mediaeval2016" in stages
    assert "train-llm_only-politifact" not in stages and "train-lgcl-politifact" not in stages
    assert methods.not_applicable("llm_only", "politifact", params) == (
        "llm_only needs llm: politifact: the LLM does not score it (list the dataset in llm.veracity.datasets)"
    )
    assert methods.not_applicable("glpn", "politifact", params) == (
        "glpn needs images, llm: politifact: it has no images; the LLM does not score it "
        "(list the dataset in llm.veracity.datasets)"
    )
    assert methods.not_applicable("logreg", "politifact", params) is None
    for default in (PARAMS, llm_params(None)):  # absent or null: every dataset, as before the key
        assert all(methods.llm_scores(dataset, default) for dataset in PARAMS["datasets"])


@pytest.mark.parametrize(
    ("scored", "zero_shot", "message"),
    [
        ("politifact", None, "llm.veracity.datasets = 'politifact': must be null or a list of names"),
        (
            ["mediaeval2016"],
            ["politifact"],
            "llm.zero_shot.datasets lists politifact, which llm.veracity.datasets leaves out",
        ),
    ],
)
def test_params_check_refuses_a_bad_list_and_zero_shot_labels_for_a_dataset_the_llm_does_not_score(
    scored, zero_shot, message
):
    with pytest.raises(ParamsError, match=message):
        check_params(llm_params(scored, zero_shot))
    check_params(llm_params([]) | {"datasets": {"mediaeval2016": "mediaeval2016"}})  # politifact not in this run
    check_params(llm_params(None))


def fake_metrics(name: str, dataset: str) -> dict:
    scores = {"accuracy": 0.7, "macro_f1": 0.69, "auc": 0.75}
    return {
        "method": name,
        "dataset": dataset,
        "test": scores | {f"{key}_std": 0.0 for key in scores} | {"n": 20},
        "val": scores | {f"{key}_std": 0.0 for key in scores} | {"n": 10},
        "seeds": {"0": {"test": scores, "val": scores}},
        "substitutes": [],
    }


def test_the_report_says_why_the_methods_reading_the_llm_did_not_run(tmp_path):
    params = llm_params([], zero_shot=[])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for name, dataset in methods.trained(params):
        path = tmp_path / "metrics" / name / f"{dataset}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fake_metrics(name, dataset)))
    summary = write(tmp_path, tmp_path / "reports")
    for dataset in params["datasets"]:
        rows = summary["embedded"][dataset]
        for method in READERS & set(params["train"]["methods"]):
            assert rows[method] == {"not_applicable": methods.not_applicable(method, dataset, params)}
            assert rows[method]["not_applicable"].endswith(LLM_REASON)
        assert "accuracy" in rows["logreg"] and "accuracy" in rows["mlp"]
    page = (tmp_path / "reports/results.md").read_text()
    (reasons,) = [line for line in page.split("\n### politifact")[1].splitlines() if line.startswith("Not applicable")]
    for method in ("glpn", "lgcl", "llm_only"):  # each with its reason, which names the LLM
        assert f"`{method}`: {methods.not_applicable(method, 'politifact', params)}" in reasons
        assert LLM_REASON in methods.not_applicable(method, "politifact", params)


# ---------------------------------------------------------------- coverage

N_TRAIN, N_VAL, N_TEST = 30, 10, 20
TRAIN_PARAMS = {
    "datasets": {"politifact": "fakenewsnet"},
    "train": {"seeds": [0, 1], "device": "cpu", "methods": ["llm_only"], "llm_only": {}},
}


def inputs(test_scored: float) -> tuple[MethodInputs, pd.DataFrame]:
    """Rows whose LLM score matches the label, every val row scored and the first
    `test_scored` share of the test rows; a fake-heavy train split (prior 0.8)."""
    split = np.array(["train"] * N_TRAIN + ["val"] * N_VAL + ["test"] * N_TEST)
    labels = np.array([1] * 24 + [0] * 6 + [1, 0] * (N_VAL // 2) + [1, 0] * (N_TEST // 2))
    llm = np.where(labels == 1, 0.9, 0.1)
    test = np.flatnonzero(split == "test")
    llm[test[round(test_scored * N_TEST) :]] = np.nan
    ids = [f"a{i}" for i in range(len(split))]
    data = MethodInputs(
        ids=ids,
        split=split,
        y=hide_test_labels(split, labels),
        text=np.zeros((len(split), 4), np.float32),
        llm_prob_fake=llm,
    )
    return data, pd.DataFrame({"id": ids, "split": split, "label": labels})


def train_llm_only(tmp_path: Path, monkeypatch, test_scored: float) -> dict:
    """llm_only through the real train stage (its inputs given), then the report; the metrics file."""
    import stages.train

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(stages.train, "load_inputs", lambda dataset, reads: inputs(test_scored))
    stages.train.run("llm_only", "politifact", TRAIN_PARAMS)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(TRAIN_PARAMS))
    return json.loads((tmp_path / "metrics/llm_only/politifact.json").read_text())


def test_llm_only_scoring_no_test_row_says_so_in_its_metrics_and_the_report(tmp_path, monkeypatch):
    metrics = train_llm_only(tmp_path, monkeypatch, test_scored=0.0)
    assert metrics["test"]["llm_coverage"] == 0.0 and metrics["val"]["llm_coverage"] == 1.0
    assert metrics["test"]["accuracy"] == 0.5 and metrics["test"]["auc"] == 0.5  # every test row got the prior
    assert metrics["warning"] == (
        "llm_coverage 0: the LLM scored none of the 20 test rows and a row the LLM did not score gets the "
        "train-set fake prior: these test metrics say nothing about the LLM"
    )
    summary = write(tmp_path, tmp_path / "reports")
    row = summary["embedded"]["politifact"]["llm_only"]
    assert row["test_llm_coverage"] == 0.0 and row["warning"] == metrics["warning"]
    page = (tmp_path / "reports/results.md").read_text()
    assert "| `llm_only` | baseline | 0.500 (LLM coverage 0%) |" in page
    assert (
        "- `llm_only`: 0%; a row the LLM did not score gets the train-set fake prior: **no test row was scored, "
        "so these numbers say nothing about the LLM**." in page
    )


def test_llm_only_with_part_of_the_test_rows_scored_is_marked_with_its_coverage(tmp_path, monkeypatch):
    metrics = train_llm_only(tmp_path, monkeypatch, test_scored=0.5)
    assert metrics["test"]["llm_coverage"] == 0.5 and metrics["val"]["llm_coverage"] == 1.0
    assert "warning" not in metrics
    summary = write(tmp_path, tmp_path / "reports")
    assert summary["embedded"]["politifact"]["llm_only"]["test_llm_coverage"] == 0.5
    page = (tmp_path / "reports/results.md").read_text()
    assert "(LLM coverage 50%) |" in page
    assert "- `llm_only`: 50%; a row the LLM did not score gets the train-set fake prior." in page


def test_full_coverage_is_recorded_and_not_marked(tmp_path, monkeypatch):
    metrics = train_llm_only(tmp_path, monkeypatch, test_scored=1.0)
    assert metrics["test"]["llm_coverage"] == 1.0 and "warning" not in metrics
    write(tmp_path, tmp_path / "reports")
    page = (tmp_path / "reports/results.md").read_text()
    assert "LLM coverage" not in page


def test_glpn_reports_its_coverage_and_methods_not_predicting_from_the_llm_do_not():
    from pipeline.evaluate import add_llm_coverage, llm_coverage

    data, _ = inputs(test_scored=0.0)
    coverage = llm_coverage(methods.METHODS["glpn"], data)
    assert coverage == {"val": 1.0, "test": 0.0, "unscored": "a row the LLM did not score gets no pseudo label"}
    metrics = add_llm_coverage({"test": {"accuracy": 0.8, "n": 20}, "val": {"accuracy": 0.9, "n": 10}}, coverage)
    assert metrics["test"]["llm_coverage"] == 0.0 and "no pseudo label" in metrics["warning"]
    for name in ("logreg", "gcn_lp", "mmfnd", "lgcl"):  # lgcl uses the LLM's classes to train, not to predict
        assert llm_coverage(methods.METHODS[name], data) is None
