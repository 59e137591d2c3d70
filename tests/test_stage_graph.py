"""The stage graph: dvc.yaml is what the registry and params.yaml generate, each stage's code
deps cover what its modules import, each train stage reads exactly its declared artifacts,
strict params, and a method added the documented way trains through the real stage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import graph_inputs
import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import methods, stagegraph
from pipeline.settings import ParamsError
from pipeline.train import load_inputs

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


def code_deps(stage: dict) -> set[str]:
    return {d for d in stage["deps"] if d.startswith(("pipeline/", "stages/"))}


def test_committed_dvc_yaml_is_the_generated_one():
    assert (ROOT / "dvc.yaml").read_text() == stagegraph.render(PARAMS), "dvc.yaml is stale: run `fnd stages`"


def test_not_applicable_pairs_get_no_stage_and_train_stages_read_exactly_their_artifacts():
    stages = stagegraph.dvc_yaml(PARAMS)["stages"]
    assert "train-glpn-politifact" not in stages and "train-mmfnd-politifact" not in stages  # no images
    assert "train-inside-mediaeval2016" not in stages  # no LLM intents for MediaEval
    for name, stage in stages.items():
        if name.startswith("train-"):
            _, trained, dataset = name.split("-")
            method = methods.spec(trained)
            artifacts = {d for d in stage["deps"] if d.startswith("data/")}
            assert artifacts == {methods.artifact_path(a, dataset) for a in method.reads}, name
            models = {d for d in code_deps(stage) if d.startswith("pipeline/models/")}
            assert f"{method.module.replace('.', '/')}.py" in models
            others = {f"{m.module.replace('.', '/')}.py" for m in methods.METHODS.values()} - {
                f"{method.module.replace('.', '/')}.py"
            }
            assert not models & others - {"pipeline/models/glpn.py"} or method.name == "gcn_lp", (
                name
            )  # gcn_lp lives in glpn.py


def test_each_ablation_variant_is_a_stage_of_its_own_so_a_stopped_run_keeps_the_finished_ones():
    """DVC deletes a stage's outputs when it starts it and records it in dvc.lock when it ends:
    with all of a method's variants in one stage, a run stopped during the last variant had to
    train them all again."""
    stages = stagegraph.dvc_yaml(PARAMS)["stages"]
    for method, dataset in (("inside", "politifact"), ("mmfnd", "mediaeval2016")):
        for variant in methods.METHODS[method].variants:
            stage = stages[f"train-{variant}-{dataset}"]
            assert stage["cmd"] == f"python -m stages.train {variant} {dataset}"
            assert stage["outs"] == [
                f"models/{variant}/{dataset}",
                {f"metrics/plots/{variant}/{dataset}": {"cache": False}},
            ]
            assert stage["metrics"] == [{f"metrics/{variant}/{dataset}.json": {"cache": False}}]
    glpn_variant = next(iter(methods.METHODS["glpn"].variants))
    assert "mask_rate" in stages["train-glpn-mediaeval2016"]["params"]
    assert "mask_rate" not in stages[f"train-{glpn_variant}-mediaeval2016"]["params"]  # a variant sets its own


def _imported_by(modules: list[str]) -> set[str]:
    """The project files a fresh interpreter loads when it imports `modules` (and runs nothing)."""
    code = "import importlib, json, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "from stages import imported_files\nprint(json.dumps(imported_files()))\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.slow  # one Python process per stage module, each importing torch
def test_each_stage_declares_every_project_file_its_modules_import():
    stages = stagegraph.dvc_yaml(PARAMS)["stages"]
    checked = {}
    for name, stage in stages.items():
        module = stage["cmd"].split()[2]
        extra = [methods.spec(stage["cmd"].split()[3]).module] if module == "stages.train" else []
        key = tuple([module, *extra])
        if key not in checked:
            checked[key] = _imported_by(list(key))
        undeclared = checked[key] - code_deps(stage)
        assert not undeclared, f"{name} imports {sorted(undeclared)} without declaring them"


def test_an_edit_to_one_model_file_reaches_only_its_methods_stages():
    stages = stagegraph.dvc_yaml(PARAMS)["stages"]
    touched = {name for name, stage in stages.items() if "pipeline/models/mmfnd.py" in stage["deps"]}
    variants = {f"train-{variant}-mediaeval2016" for variant in methods.METHODS["mmfnd"].variants}
    assert touched == {"train-mmfnd-mediaeval2016", *variants, "report"}
    llm = {name for name, stage in stages.items() if any(d.endswith("/llm.parquet") for d in stage["deps"])}
    assert llm == {
        "train-llm_only-mediaeval2016",
        "train-glpn-mediaeval2016",
        *(f"train-{variant}-mediaeval2016" for variant in methods.METHODS["glpn"].variants),
        "train-llm_only-politifact",
        "train-lgcl-politifact",
        *(f"train-{variant}-politifact" for variant in methods.METHODS["lgcl"].variants),
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, graph_data):
    """The 16 real PolitiFact articles of tests/graph_inputs.py as every artifact a train stage reads."""
    root = tmp_path_factory.mktemp("workspace")
    data, articles = graph_data, graph_inputs.build()[1]
    graph_inputs.write_artifacts(root, "politifact", data, articles)
    return root


@pytest.mark.parametrize("method", list(methods.METHODS))
def test_load_inputs_reads_every_declared_artifact_and_nothing_else(workspace, tmp_path, method):
    reads = methods.METHODS[method].reads
    for artifact in reads:  # only the declared artifacts present: loading works
        target = tmp_path / methods.artifact_path(artifact, "politifact")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(workspace / methods.artifact_path(artifact, "politifact"), target)
    load_inputs("politifact", reads, root=tmp_path)
    for artifact in reads:  # each declared artifact missing: loading fails, so it is read
        path = tmp_path / methods.artifact_path(artifact, "politifact")
        if not path.exists():
            continue
        path.rename(path.with_suffix(".away"))
        with pytest.raises(FileNotFoundError):
            load_inputs("politifact", reads, root=tmp_path)
        path.with_suffix(".away").rename(path)


def test_a_method_added_the_documented_way_trains_through_the_real_stage(workspace, monkeypatch):
    from stages import train as train_stage

    monkeypatch.setitem(
        methods.METHODS,
        "centroid",
        methods.MethodSpec(
            "centroid",
            "tiny_method:CentroidDetector",
            "a test's nearest-centroid method",
            reads=("articles", "embeddings"),
            variants={"centroid_shrunk": {"shrink": 0.5}},
        ),
    )
    monkeypatch.setitem(methods.VARIANT_OF, "centroid_shrunk", "centroid")
    params = {
        "datasets": {"politifact": "fakenewsnet"},
        "train": {"methods": ["centroid"], "ablations": ["centroid"], "seeds": [0, 1], "centroid": {"shrink": 0.1}},
    }
    graph = stagegraph.dvc_yaml(params)["stages"]
    assert {"train-centroid-politifact", "train-centroid_shrunk-politifact"} <= set(graph)
    assert "llm-politifact" not in graph  # nothing reads the LLM: no LLM stage
    monkeypatch.chdir(workspace)
    for name in ("centroid", "centroid_shrunk"):
        assert train_stage.run(name, "politifact", params)["method"] == name
    metrics = json.loads(Path("metrics/centroid/politifact.json").read_text())
    assert metrics["test"]["n"] == 3 and 0 <= metrics["test"]["accuracy"] <= 1 and set(metrics["seeds"]) == {"0", "1"}
    assert metrics["seeds"]["0"]["selected"] == {"shrink": 0.1}
    shrunk = json.loads(Path("models/centroid_shrunk/politifact/train.json").read_text())
    assert shrunk[0]["settings"] == {"shrink": 0.5}
    assert pd.read_parquet("models/centroid/politifact/predictions.parquet")["seed"].tolist().count(1) == 16


@pytest.mark.parametrize(
    "change, message",
    [
        ({"mask_rate": 1.5}, "train.glpn.mask_rate = 1.5: must be a number in [0, 1]"),
        ({"train": {"glpn": {"hiden": 32}}}, "train.glpn: unknown key(s) hiden; allowed: hidden, dropout"),
        ({"train": {"glpn": {"mask_rate": 0.3}}}, "train.glpn.mask_rate: set the top-level key mask_rate instead"),
        ({"train": {"mmfnd": {"dropout": -0.1}}}, "train.mmfnd.dropout = -0.1: must be a number in [0, 1]"),
        ({"train": {"lgcl": {"epochs": 0}}}, "train.lgcl.epochs = 0: must be an integer > 0"),
        ({"train": {"methods": ["glpn", "nosuch"]}}, "train.methods: unknown method 'nosuch'"),
    ],
)
def test_bad_params_fail_with_the_key_the_value_and_what_is_allowed(change, message):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in change.items():
        if isinstance(value, dict):
            for section, values in value.items():
                params[key][section] = values if not isinstance(values, dict) else params[key][section] | values
        else:
            params[key] = value
    with pytest.raises(
        ParamsError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")
    ):
        stagegraph.dvc_yaml(params)
        methods.settings("glpn", params)
        methods.settings("mmfnd", params)
        methods.settings("lgcl", params)


def test_the_train_stage_checks_every_setting_before_any_work(workspace, monkeypatch):
    from stages import train as train_stage

    monkeypatch.chdir(workspace)
    params = {
        "datasets": {"politifact": "fakenewsnet"},
        "train": {"methods": ["lgcl"], "lgcl": {"epochs": 30, "gama": 2}},
    }
    with pytest.raises(ParamsError, match="train.lgcl: unknown key"):
        train_stage.run("lgcl", "politifact", params)
    assert not Path("models/lgcl").exists()


def test_stage_commands_print_one_line_for_an_expected_error(tmp_path):
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"datasets": {"politifact": "fakenewsnet"}, "train": {"methods": ["mlp"]}})
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "stages.train", "mlp", "nosuchdata"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and "error: unknown dataset 'nosuchdata'" in out.stderr and "Traceback" not in out.stderr
    np.testing.assert_equal(list(tmp_path.iterdir()), [tmp_path / "params.yaml"])
