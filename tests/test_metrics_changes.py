"""`fnd metrics-changes` on a tiny git + DVC repo made here (no pipeline run): two commits with
different metrics, a revision without metrics, a revision that does not exist, and no git at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scratch_project

from pipeline.metrics_changes import Row, headline_rows, markdown

BIN = scratch_project.BIN


def _run(args, cwd):
    return scratch_project.run(args, cwd, timeout=300)


def _ok(args, cwd):
    return scratch_project.ok(args, cwd, timeout=300)


def _metrics(accuracy: float, auc: float) -> dict:
    test = {"accuracy": accuracy, "accuracy_std": 0.0, "macro_f1": 0.5, "auc": auc, "n": 20}
    return {"method": "logreg", "test": test, "val": test, "seeds": {"0": {"test": test}}}


def _commit(repo: Path, message: str, metrics: dict | None = None) -> None:
    for path, content in (metrics or {}).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(json.dumps(content))
    scratch_project.commit(repo, message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """Commits: 1 no DVC, no metrics; 2 dvc.yaml and metrics; 3 logreg moved, mlp not; 4 nothing moved."""
    repo = tmp_path_factory.mktemp("metrics_repo")
    _ok(["git", "init", "-q"], repo)
    _commit(repo, "no metrics yet", {"README.md": "a repo"})
    _ok([str(BIN / "dvc"), "init", "-q"], repo)
    (repo / "dvc.yaml").write_text(
        "metrics:\n- metrics/logreg/ds.json\n- metrics/mlp/ds.json\n- metrics/graphs/ds/similarity.json\n"
    )
    first = {"metrics/logreg/ds.json": _metrics(0.6, 0.7), "metrics/mlp/ds.json": _metrics(0.55, 0.6)}
    _commit(repo, "metrics", first | {"metrics/graphs/ds/similarity.json": {"test": {"accuracy": 1}}})
    moved = {"metrics/logreg/ds.json": _metrics(0.65, 0.7), "metrics/graphs/ds/similarity.json": {"edges": 3}}
    _commit(repo, "logreg moved", moved)
    _commit(repo, "nothing moved", {"NOTES.md": "notes"})
    return repo


def _changes(repo: Path, *args):
    return _run([str(BIN / "fnd"), "metrics-changes", *args], repo)


def test_a_moved_metric_is_one_row_with_old_new_and_change(repo):
    out = _changes(repo, "--rev", "HEAD~2")
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| logreg")]
    assert rows == ["| logreg | ds | accuracy | 0.6000 | 0.6500 | +0.0500 |"]  # not the seeds', not val's
    assert "| mlp" not in out.stdout and "graphs" not in out.stdout
    assert "1 headline metrics" in out.stdout and "| method | dataset | metric | old | new | change |" in out.stdout


def test_nothing_moved_says_so(repo):
    out = _changes(repo)  # --rev HEAD~1
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Metrics changes since HEAD~1: no headline metric changed."


def test_a_rev_without_metrics_lists_them_as_new(repo):
    out = _changes(repo, "--rev", "HEAD~3")
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(("| logreg", "| mlp"))]
    assert len(rows) == 6 and all(row.endswith("| – | " + row.split(" | ")[4] + " | new |") for row in rows)
    assert "| mlp | ds | auc | – | 0.6000 | new |" in rows


def test_a_rev_that_does_not_exist_is_said_and_passes(repo):
    out = _changes(repo, "--rev", "HEAD~4")  # before the first commit
    assert out.returncode == 0, out.stderr
    assert "HEAD~4 does not exist" in out.stdout and "nothing to compare" in out.stdout


def test_outside_a_git_repo_it_is_a_one_line_error(tmp_path):
    out = _changes(tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: `git rev-parse HEAD~1` failed") and len(out.stderr.strip().splitlines()) == 1


def test_headline_rows_reads_only_test_headline_metrics_of_method_files():
    diff = {
        "metrics/glpn/ds.json": {
            "test.auc": {"old": 0.5, "new": 0.75, "diff": 0.25},
            "test.n": {"old": 10, "new": 12},
            "val.auc": {"old": 0.5, "new": 0.6},
            "test.macro_f1": {"old": 0.5, "new": None},
        },
        "reports/summary.json": {"embedded.ds.glpn.auc.mean": {"old": 0.5, "new": 0.75}},
    }
    rows = headline_rows(diff)
    assert rows == [Row("glpn", "ds", "macro_f1", 0.5, None), Row("glpn", "ds", "auc", 0.5, 0.75)]
    assert [r.change for r in rows] == ["removed", "+0.2500"]
    assert "| glpn | ds | macro_f1 | 0.5000 | – | removed |" in markdown(rows, "v1")
