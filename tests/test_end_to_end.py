"""The whole chain on a tiny real slice: `dvc repro` in a scratch copy of the project, a
second `dvc repro` that does nothing, and the CLI's handling of bad requests."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(args, cwd):
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("FND_DATA_ROOT", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)  # a hang guard, not a speed target


@pytest.fixture(scope="module")
def project(tmp_path_factory, mediaeval_root):
    """A scratch git + DVC project with this repo's pipeline, reading the tiny slice."""
    work = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "dvc.yaml", work)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data_root"] = str(mediaeval_root)
    params["datasets"] = {"mediaeval2016": "mediaeval2016"}
    # Every stage is a process that imports torch: keep the matrix small here. Each method
    # and variant has its own unit tests; glpn always runs through train_glpn.
    params["train"] |= {"methods": ["logreg", "llm_only", "mmfnd"], "graph_methods": ["inside"], "seeds": [0]}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    for tree in ("pipeline", "stages", "prompts", "reports/full"):
        shutil.copytree(ROOT / tree, work / tree, ignore=shutil.ignore_patterns("__pycache__"))
    for cmd in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"], [str(BIN / "dvc"), "config", "core.analytics", "false"]):
        assert _run(cmd, work).returncode == 0
    first = _run([str(BIN / "dvc"), "repro"], work)
    assert first.returncode == 0, first.stdout + first.stderr
    return work


def test_repro_produces_metrics_for_every_stage(project):
    metrics = json.loads((project / "metrics/logreg/mediaeval2016.json").read_text())
    test = metrics["test"]
    assert test["counts"]["n"] == 20 and 0 <= test["accuracy"] <= 1 and test["auc"] is not None
    assert metrics["selection"][0]["C"] in yaml.safe_load((project / "params.yaml").read_text())["train"]["logreg"]["C_grid"]
    assert any("stands in for" in s for s in metrics["substitutes"])
    llm_only = json.loads((project / "metrics/llm_only/mediaeval2016.json").read_text())
    assert any(s.startswith("LLM smollm2-135m") for s in llm_only["substitutes"])  # only methods that read the LLM name it
    assert not any(s.startswith("LLM ") for s in metrics["substitutes"])
    report = json.loads((project / "data/interim/mediaeval2016/ingest_report.json").read_text())
    assert report["rows_kept"] == 80 and set(report["label_counts"]) == {"train", "val", "test"}
    predictions = pd.read_parquet(project / "models/logreg/mediaeval2016/predictions.parquet")
    articles = pd.read_parquet(project / "data/interim/mediaeval2016/articles.parquet")
    assert sorted(predictions["id"]) == sorted(articles["id"])
    for plot in ("roc", "precision_recall", "confusion"):
        assert (project / f"metrics/plots/logreg/mediaeval2016/{plot}.csv").stat().st_size > 0
    # The per-article graph stages ran too; MediaEval gets no LLM intents by default, so InSide says so.
    inside = json.loads((project / "metrics/inside/mediaeval2016.json").read_text())
    assert inside["not_applicable"].startswith("inside needs intents, which this dataset does not have; the LLM's intent")
    summary = json.loads((project / "reports/summary.json").read_text())["embedded"]["mediaeval2016"]
    assert summary["logreg"]["accuracy"]["mean"] == test["accuracy"] and "not_applicable" in summary["inside"]
    assert "| `logreg` | baseline |" in (project / "reports/results.md").read_text()


def test_second_repro_is_a_no_op(project):
    again = _run([str(BIN / "dvc"), "repro"], project)
    assert again.returncode == 0
    assert "Running stage" not in again.stdout
    assert "is up to date" in again.stdout or "didn't change" in again.stdout


def test_train_param_change_reruns_only_training(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["logreg"]["C_grid"] = [0.1]
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    out = _run([str(BIN / "dvc"), "repro"], project)
    assert out.returncode == 0, out.stderr
    ran = {line.split("'")[1] for line in out.stdout.splitlines() if line.startswith("Running stage")}
    assert ran == {"train@logreg-mediaeval2016", "evaluate@logreg-mediaeval2016", "report"}  # report reads every metric


def test_mask_rate_sweep_point_reruns_only_glpn(project):
    for cmd in (["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "base"]):
        assert _run(cmd, project).returncode == 0  # dvc exp run needs a commit to branch from
    out = _run([str(BIN / "dvc"), "exp", "run", "-S", "mask_rate=0.3"], project)
    assert out.returncode == 0, out.stdout + out.stderr
    ran = {line.split("'")[1] for line in out.stdout.splitlines() if line.startswith("Running stage")}
    assert ran == {"train_glpn@mediaeval2016", "evaluate_glpn@mediaeval2016", "report"}
    record = json.loads((project / "models/glpn/mediaeval2016/train.json").read_text())[0]
    assert record["params"]["mask_rate"] == 0.3


def test_queued_sweep_runs_one_experiment_per_value(project):
    dvc = str(BIN / "dvc")
    queued = _run([dvc, "exp", "run", "--queue", "-S", "mask_rate=0.1,0.7"], project)
    assert queued.returncode == 0 and queued.stdout.count("Queued experiment") == 2, queued.stdout + queued.stderr
    assert _run([dvc, "queue", "start"], project).returncode == 0
    deadline = time.monotonic() + 900  # a hang guard
    while time.monotonic() < deadline:
        status = _run([dvc, "queue", "status"], project).stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        time.sleep(3)
    assert status.count("Success") == 2, status
    shown = _run([dvc, "exp", "show", "--csv", "--drop", ".*", "--keep", "^(Experiment|mask_rate)$"], project)
    rows = pd.read_csv(io.StringIO(shown.stdout))
    assert {0.1, 0.7} <= set(rows.dropna(subset=["Experiment"])["mask_rate"])  # beside the earlier 0.3 point


def test_theta_change_reruns_the_graph_and_training_only(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["graphs"]["similarity"]["theta"] = 0.9
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    out = _run([str(BIN / "dvc"), "repro"], project)
    assert out.returncode == 0, out.stderr
    ran = {line.split("'")[1] for line in out.stdout.splitlines() if line.startswith("Running stage")}
    assert "similarity_graph@mediaeval2016" in ran and "train_glpn@mediaeval2016" in ran
    upstream = ("ingest", "embed", "llm", "semantics", "graphs@")
    assert not [stage for stage in ran if stage.startswith(upstream)]
    stats = json.loads((project / "metrics/graphs/mediaeval2016/similarity.json").read_text())
    assert stats["theta"] == 0.9 and stats["built"]


def _commit(project, message):
    for cmd in (["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", message]):
        assert _run(cmd, project).returncode == 0


def _gate(project, *args):
    return _run([str(BIN / "fnd"), "gate", *args], project)


def test_metrics_gate_fails_until_moved_metrics_are_committed(project):
    _commit(project, "results")
    clean = _gate(project)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 moved, 0 beyond the tolerance" in clean.stdout and "PASS" in clean.stdout

    (project / "NOTES.md").write_text("an unrelated change\n")
    unrelated = _gate(project)
    assert unrelated.returncode == 0 and "PASS" in unrelated.stdout

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["mmfnd"]["hidden"] = 32
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    deliberate = _gate(project)
    assert deliberate.returncode == 1
    assert "| metrics/mmfnd/mediaeval2016.json | test." in deliberate.stdout and "**beyond**" in deliberate.stdout
    assert "FAIL" in deliberate.stdout

    _commit(project, "mmfnd hidden 32: new metrics")
    assert _gate(project).returncode == 0


def test_metrics_gate_fails_when_a_skipped_stage_is_stale(project):
    _commit(project, "results")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["inside"]["hidden"] = 64
    params["llm"]["intents"]["max_new_tokens"] = 32
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    out = _gate(project)  # the default skips InSide and its LLM intents
    assert out.returncode == 1
    assert "**stale** `train_graph@inside-mediaeval2016`" in out.stdout and "param train.inside (modified)" in out.stdout
    assert "**stale** `llm_intents@mediaeval2016`" in out.stdout and "param llm.intents (modified)" in out.stdout
    # nothing skipped runs, and the llm stage (veracity, zero-shot) does not read the intents' params
    assert "Running stage 'train_graph@inside" not in out.stdout and "Running stage 'llm" not in out.stdout
    _commit(project, "inside hidden 64, not re-run")
    assert _gate(project).returncode == 1  # committing params without results is still stale


def _predict(project, *args):
    out = _run([str(BIN / "fnd"), "predict", *args], project)
    return out.returncode, [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")], out.stderr


def test_predict_scores_a_known_post_as_the_trained_models_did(project, mediaeval_root):
    articles = pd.read_parquet(project / "data/interim/mediaeval2016/articles.parquet")
    post = articles[(articles["split"] == "train") & articles["image_paths"].map(len).gt(0)].iloc[0]
    batch = project / "new.jsonl"
    batch.write_text(json.dumps({"id": "copy", "text": post["text"], "image": str(mediaeval_root / post["image_paths"][0])}) + "\n")

    code, [mmfnd], err = _predict(project, "mmfnd", "mediaeval2016", "--input", str(batch))
    assert code == 0, err
    stored = pd.read_parquet(project / "models/mmfnd/mediaeval2016/predictions.parquet").set_index(["id", "seed"])
    assert mmfnd["prob_fake_by_seed"]["0"] == pytest.approx(stored.loc[(post["id"], 0), "prob_fake"], abs=1e-4)  # inductive: same input, same score
    assert set(mmfnd["explanation"]["attention"]) == {"text", "image", "cross_modal"}
    assert mmfnd["label"] == ("fake" if mmfnd["prob_fake"] >= 0.5 else "real")

    code, [glpn], err = _predict(project, "glpn", "mediaeval2016", "--input", str(batch), "--top-k", "3")
    assert code == 0, err
    nearest = glpn["explanation"]["nearest_labelled"]
    assert 0 < len(nearest) <= 3 and glpn["explanation"]["similarity_edges"] >= len(nearest)
    assert nearest[0]["similarity"] == pytest.approx(1.0, abs=1e-4)  # its own copy is a labelled train post
    assert any(n["id"] == post["id"] and n["label"] == ("fake" if post["label"] == 1 else "real") for n in nearest)


@pytest.mark.parametrize("args, message", [
    (["inside", "mediaeval2016", "--text", "a post"], "inside was not trained on mediaeval2016: inside needs intents"),
    (["lgcl", "mediaeval2016", "--text", "a post"], "lgcl: LGCL scores an article by its news propagation graph"),
    (["mlp", "mediaeval2016", "--text", "a post"], "models/mlp/mediaeval2016/model.pkl: no trained mlp for mediaeval2016"),
    (["logreg", "mediaeval2016", "--text", "a post", "--image", "/nonexistent.jpg"], "--text row 1 [image]: /nonexistent.jpg does not exist"),
])
def test_predict_refuses_clearly(project, args, message):
    out = _run([str(BIN / "fnd"), "predict", *args], project)
    assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr


runner = CliRunner()


def test_cli_lists_every_adapter():
    result = runner.invoke(app, ["datasets", "--data-root", str(ROOT / "data/raw"), "--params", str(ROOT / "params.yaml")])
    assert result.exit_code == 0
    for name in ("mediaeval2016", "politifact", "llmfake", "pheme", "weibo", "liar", "twitter15_16", "generic"):
        assert name in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["ingest", "nosuchdata"], "unknown dataset adapter 'nosuchdata'"),
        (["ingest", "mediaeval2016", "--data-root", "/nonexistent"], "/nonexistent/mediaeval2016 does not exist"),
        (["ingest"], "name at least one dataset"),
        (["train", "nosuchmethod", "mediaeval2016"], "unknown method 'nosuchmethod'"),
    ],
)
def test_cli_errors_are_one_clear_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "params.yaml", tmp_path)
    (tmp_path / "data/interim/mediaeval2016").mkdir(parents=True)
    pd.DataFrame({"id": ["1"], "split": ["train"], "label": [1]}).to_parquet(tmp_path / "data/interim/mediaeval2016/articles.parquet")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
