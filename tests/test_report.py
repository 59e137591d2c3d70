"""The comparison report, built from this repository's committed metrics (the embedded default
and the full-data runs under reports/full)."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline import methods
from pipeline.report import effective_settings, write

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, write(ROOT, out)


def test_summary_has_every_configured_method_and_dataset(report):
    _, summary = report
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dataset in params["datasets"]:
        names = {
            name
            for method in params["train"]["methods"]
            for name in (
                [method] + list(methods.METHODS[method].variants if method in params["train"]["ablations"] else [])
            )
            if not methods.not_applicable(method, dataset, params) or name == method
        }
        assert set(summary["embedded"][dataset]) == names
    glpn = summary["embedded"]["mediaeval2016"]["glpn"]
    committed = json.loads((ROOT / "metrics/glpn/mediaeval2016.json").read_text())["test"]
    assert glpn["accuracy"] == {"mean": committed["accuracy"], "std": committed["accuracy_std"]}
    assert glpn["seeds"] == 3 and glpn["test_items"] == 125
    assert summary["embedded"]["politifact"]["glpn"] == {
        "not_applicable": "glpn needs images: politifact: it has no images"
    }
    assert not (ROOT / "metrics/glpn/politifact.json").exists()  # no stage ran for it
    assert summary["full/weibo"]["weibo"]["mmfnd"]["accuracy"]["mean"] > 0


def test_results_page_sets_papers_beside_ours_and_names_substitutes(report):
    out, _ = report
    text = (out / "results.md").read_text()
    inside = json.loads((ROOT / "reports/full/llmfake/metrics/inside.json").read_text())["test"]
    ours = " | ".join(f"{inside[k]:.3f} ± {inside[k + '_std']:.3f}" for k in ("accuracy", "macro_f1"))
    assert f"| InSide | LLMFake | 0.9247 | 0.9218 | full data (llmfake) | {ours} |" in text
    assert "## Full data: llmfake\n" in text
    assert "| LGCL + GMAE | PolitiFact | 0.919 | 0.918 | full data (politifact_upfd) |" in text
    assert "LLM smollm2-135m (transformers) stands in for Llama-3.1-8B-Instruct on vLLM" in text
    assert (
        "similarity graph of full/mediaeval2016: each edge among the 32 strongest of either endpoint "
        "(graphs.similarity.max_neighbours; the paper keeps every edge above theta) (used by gcn_lp, glpn)"
    ) in text
    for image in [line.split("(")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]:
        assert (out / image).stat().st_size > 1000, image


def test_a_sampled_full_run_is_labelled_a_sample(tmp_path):
    shutil.copy(ROOT / "params.yaml", tmp_path)
    shutil.copytree(ROOT / "metrics", tmp_path / "metrics")
    run = tmp_path / "reports/full/llmfake"
    shutil.copytree(ROOT / "reports/full/llmfake", run)
    params = yaml.safe_load((run / "params.yaml").read_text())
    params.setdefault("ingest", {}).setdefault("options", {})["llmfake"] = {"sample": 300}
    (run / "params.yaml").write_text(yaml.safe_dump(params))
    write(tmp_path, tmp_path / "out")
    text = (tmp_path / "out/results.md").read_text()
    assert "| InSide | LLMFake | 0.9247 | 0.9218 | sample of about 300 articles (llmfake) |" in text
    assert "## Full data: llmfake (a seeded sample of about 300 articles)\n" in text
    assert (
        "- llmfake in full/llmfake: a seeded sample of about 300 articles (ingest option sample; the paper uses "
        "them all) (used by inside, llm_only, logreg, mlp)"
    ) in text


def test_sweep_curves_come_from_variants_that_differ_in_one_parameter(report):
    out, _ = report
    mask = pd.read_csv(out / "sweeps/embedded/mediaeval2016/glpn_mask_rate.csv")
    assert mask["value"].tolist() == [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]
    assert mask.set_index("value").loc[0.5, "method"] == "glpn"
    top_p = pd.read_csv(out / "sweeps/embedded/mediaeval2016/glpn_pseudo_top_p.csv")
    assert top_p["method"].tolist() == ["glpn_no_pseudo", "glpn_top1", "glpn", "glpn_top10", "glpn_top25"]
    assert not (out / "sweeps/embedded/politifact").exists()  # GLPN is not applicable there: no curve


def test_settings_resolve_like_training():
    params = {"mask_rate": 0.3, "train": {"glpn": {"pseudo_top_p": 0.1, "hidden": 32}}}
    assert effective_settings("glpn", params)["mask_rate"] == 0.3  # glpn reads the top-level mask_rate
    variant = effective_settings("glpn_no_pseudo", params)
    assert variant["mask_rate"] == 0.5 and variant["pseudo_top_p"] == 0.0  # no pseudo labels is the top-p = 0 point
    assert variant["hidden"] == 32  # a variant inherits the method's section: an ablation differs in one factor
    assert effective_settings("glpn_top10", params)["pseudo_top_p"] == 0.10


def test_missing_metrics_are_named(tmp_path):
    shutil.copy(ROOT / "params.yaml", tmp_path)
    with pytest.raises(
        FileNotFoundError, match="metrics/logreg/mediaeval2016.json: no metrics for logreg on mediaeval2016"
    ):
        write(tmp_path, tmp_path / "out")
