"""scripts/full_run.sh with COPY_ONLY=1: what an interrupted full-data run finished is copied into
reports/full/<dataset>/, and a method that run did not train keeps no earlier run's file; with
STAGES=…, only those stages' results join the committed run, if they read the same data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, content: str = "{}") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def _copy_only(repo: Path, work: Path, **extra: str) -> subprocess.CompletedProcess:
    # a copy reads no data, so a DATA_ROOT that does not exist must not stop it
    env = os.environ | {"COPY_ONLY": "1", "WORK": str(work), "DATA_ROOT": str(repo / "no/such/data")} | extra
    return subprocess.run(
        ["bash", "scripts/full_run.sh", "politifact", "fakenewsnet"], cwd=repo, env=env, capture_output=True, text=True
    )


def _workspace(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for script in ("full_run.sh", "full_run_merge.py"):
        shutil.copy(REPO / "scripts" / script, repo / "scripts" / script)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return repo


def test_copy_only_copies_the_finished_variants_and_drops_an_earlier_runs_methods(tmp_path):
    repo = _workspace(tmp_path)
    _write(repo / "reports/full/politifact/metrics/inside_no_window.json", '{"from": "earlier run"}')
    _write(repo / "reports/full/politifact/train/inside_no_window.json")
    work = tmp_path / "scratch"
    _write(work / "params.yaml", "datasets: {politifact: fakenewsnet}\n")
    _write(work / "dvc.lock", "schema: '2.0'\n")
    for report in (
        "data/interim/politifact/ingest_report.json",
        "data/processed/politifact/embed_report.json",
        "data/processed/politifact/llm_report.json",
        "data/processed/politifact/intents_report.json",
    ):
        _write(work / report)
    _write(work / "metrics/inside/politifact.json", '{"test": {"accuracy": 0.8}}')
    _write(work / "metrics/inside_no_entity/politifact.json", '{"test": {"accuracy": 0.7}}')  # cut off after this one
    _write(work / "metrics/graphs/politifact/article_graphs.json")
    _write(work / "metrics/inside/weibo.json")  # another dataset's: not copied
    _write(work / "models/inside/politifact/train.json", '{"epochs": 12}')

    result = _copy_only(repo, work)

    assert result.returncode == 0, result.stderr
    out = repo / "reports/full/politifact"
    assert sorted(p.name for p in (out / "metrics").iterdir()) == ["inside.json", "inside_no_entity.json"]
    assert json.loads((out / "metrics/inside_no_entity.json").read_text()) == {"test": {"accuracy": 0.7}}
    assert sorted(p.name for p in (out / "train").iterdir()) == ["inside.json"]
    assert (out / "article_graphs.json").exists() and (out / "intents_report.json").exists()
    assert (out / "params.yaml").read_text() == "datasets: {politifact: fakenewsnet}\n"


def test_copy_only_without_a_run_says_so(tmp_path):
    repo = _workspace(tmp_path)
    result = _copy_only(repo, tmp_path / "missing")
    assert result.returncode == 1
    assert f"COPY_ONLY: no run in {tmp_path / 'missing'}" in result.stderr
    assert not (repo / "reports").exists()


def _stage(data_md5: str, code_md5: str = "c1") -> dict:
    return {
        "cmd": "python -m stages.train inside_no_alignment politifact",
        "deps": [
            {"path": "data/processed/politifact/intent_embeddings.parquet", "hash": "md5", "md5": data_md5},
            {"path": "pipeline/models/inside.py", "hash": "md5", "md5": code_md5},
        ],
    }


def _stages_run(tmp_path: Path, data_md5: str) -> tuple[Path, Path]:
    """A committed full run with InSide and w/o Entity, and a scratch run that trained w/o DPGA alone."""
    repo = _workspace(tmp_path)
    out = repo / "reports/full/politifact"
    _write(out / "metrics/inside.json", '{"test": {"accuracy": 0.8}}')
    _write(out / "metrics/inside_no_entity.json", '{"test": {"accuracy": 0.7}}')
    _write(out / "metrics/inside_no_alignment.json", '{"from": "earlier code"}')
    committed = {
        "schema": "2.0",
        "stages": {
            # a stage the full run did not run, kept from the embedded slice the run was cloned from
            "ablations-inside-politifact": _stage("slice"),
            "intent_embeddings-politifact": {
                "outs": [{"path": "data/processed/politifact/intent_embeddings.parquet", "md5": "aaa"}]
            },
            "train-inside_no_alignment-politifact": _stage("aaa", code_md5="c0"),
        },
    }
    _write(out / "dvc.lock", yaml.safe_dump(committed))
    work = tmp_path / "scratch"
    scratch_lock = {"schema": "2.0", "stages": {"train-inside_no_alignment-politifact": _stage(data_md5)}}
    _write(work / "dvc.lock", yaml.safe_dump(scratch_lock))
    _write(work / "metrics/inside_no_alignment/politifact.json", '{"test": {"accuracy": 0.75}}')
    _write(work / "models/inside_no_alignment/politifact/train.json", '{"epochs": 9}')
    return repo, work


def test_stages_adds_the_stage_to_the_committed_run_and_keeps_its_other_methods(tmp_path):
    repo, work = _stages_run(tmp_path, data_md5="aaa")

    result = _copy_only(repo, work, STAGES="train-inside_no_alignment-politifact")

    assert result.returncode == 0, result.stderr
    out = repo / "reports/full/politifact"
    assert sorted(p.name for p in (out / "metrics").iterdir()) == [
        "inside.json",
        "inside_no_alignment.json",
        "inside_no_entity.json",
    ]
    assert json.loads((out / "metrics/inside_no_alignment.json").read_text()) == {"test": {"accuracy": 0.75}}
    assert json.loads((out / "train/inside_no_alignment.json").read_text()) == {"epochs": 9}
    lock = yaml.safe_load((out / "dvc.lock").read_text())
    assert lock["stages"]["train-inside_no_alignment-politifact"] == _stage("aaa")
    assert "intent_embeddings-politifact" in lock["stages"]


def test_stages_refuses_a_stage_that_read_other_data_than_the_committed_run(tmp_path):
    repo, work = _stages_run(tmp_path, data_md5="bbb")
    out = repo / "reports/full/politifact"
    lock_before = (out / "dvc.lock").read_text()

    result = _copy_only(repo, work, STAGES="train-inside_no_alignment-politifact")

    assert result.returncode == 1
    assert "data/processed/politifact/intent_embeddings.parquet: bbb here, aaa in the committed run" in result.stderr
    assert json.loads((out / "metrics/inside_no_alignment.json").read_text()) == {"from": "earlier code"}
    assert (out / "dvc.lock").read_text() == lock_before
