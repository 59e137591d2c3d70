"""scripts/full_run.sh with COPY_ONLY=1: what an interrupted full-data run finished is copied into
reports/full/<dataset>/, and a method that run did not train keeps no earlier run's file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, content: str = "{}") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def _copy_only(repo: Path, work: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"COPY_ONLY": "1", "WORK": str(work), "DATA_ROOT": str(repo)}  # a copy reads no data
    return subprocess.run(
        ["bash", "scripts/full_run.sh", "politifact", "fakenewsnet"], cwd=repo, env=env, capture_output=True, text=True
    )


def _workspace(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts/full_run.sh", repo / "scripts/full_run.sh")
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
