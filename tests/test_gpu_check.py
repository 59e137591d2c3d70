"""The GPU check (benchmarks/gpu_check.py, scripts/gpu_check.sh): a CPU dry run end to end, and the
clear error where CUDA is missing. The real run needs a GPU machine (docs/performance.md#gpu-check)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = ("data/interim/mediaeval2016/articles.parquet", "data/processed/mediaeval2016/embeddings.parquet")


@pytest.fixture(scope="module")
def project(tmp_path_factory, request) -> Path:
    """A project folder holding logreg's inputs for MediaEval and its committed metrics: the
    repository itself when its DVC outputs are there, else the default slice ingested and embedded here."""
    if all((REPO / path).exists() for path in ARTIFACTS):
        return REPO
    articles, embeddings = request.getfixturevalue("mediaeval_default")
    root = tmp_path_factory.mktemp("gpu_check_project")
    for path in ARTIFACTS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
    articles.to_parquet(root / ARTIFACTS[0], index=False)
    pq.write_table(embeddings, root / ARTIFACTS[1])
    (root / "metrics/logreg").mkdir(parents=True)
    shutil.copy(REPO / "metrics/logreg/mediaeval2016.json", root / "metrics/logreg/mediaeval2016.json")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    return root


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / "scripts/gpu_check.sh"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable, **(env or {})},
        timeout=300,
    )


def test_cpu_dry_run_trains_against_the_committed_metrics_and_writes_the_report(project, tmp_path):
    out = tmp_path / "gpu_check.json"
    committed = {path: path.read_bytes() for path in (REPO / "metrics/logreg").glob("*.json")}
    start = time.perf_counter()
    result = _run("--device", "cpu", "--quick", "--root", str(project), "--out", str(out))
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report) == {
        "device",
        "environment",
        "tolerance",
        "methods",
        "similarity_graph",
        "ok",
        "failures",
        "seconds",
    }
    assert report["device"] == "cpu" and report["ok"] and report["failures"] == []
    row = next(r for r in report["methods"] if r["dataset"] == "mediaeval2016")
    assert row["method"] == "logreg" and row["agrees"] and row["abs_diff"] <= report["tolerance"]
    assert {"accuracy", "committed_cpu_accuracy", "seconds_per_epoch", "train_seconds"} <= set(row)
    sim = report["similarity_graph"]
    assert sim["nodes"] == 2_000 and sim["dim"] == 512 and sim["theta"] == 0.95 and sim["seconds"] > 0
    assert "| logreg | mediaeval2016 |" in result.stdout and "Similarity graph: 2,000 nodes" in result.stdout
    assert {path: path.read_bytes() for path in (REPO / "metrics/logreg").glob("*.json")} == committed
    assert seconds < 120, f"the dry run took {seconds:.0f} s"


def test_without_cuda_it_stops_with_a_clear_error(tmp_path):
    result = _run("--out", str(tmp_path / "gpu_check.json"), env={"CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 2
    assert "error: CUDA is not available" in result.stderr and "--device cpu" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "gpu_check.json").exists()
