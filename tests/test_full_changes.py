"""scripts/full_changes.py: a full-data re-run beside the committed run it replaces."""

from __future__ import annotations

import json
import subprocess

import pytest
from scripts_loader import load_script


@pytest.fixture(scope="module")
def full_changes():
    return load_script("full_changes")


def metrics(accuracy: float, accuracy_std: float, macro_f1: float = 0.5, macro_f1_std: float = 0.01) -> dict:
    return {
        "test": {"accuracy": accuracy, "accuracy_std": accuracy_std, "macro_f1": macro_f1, "macro_f1_std": macro_f1_std}
    }


def git(root, *args: str) -> None:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    subprocess.run(command, cwd=root, check=True, capture_output=True)


def test_old_and_new_side_by_side_with_changes_outside_the_seed_spread_marked(full_changes, tmp_path, monkeypatch):
    folder = tmp_path / "reports/full/mediaeval2016/metrics"
    folder.mkdir(parents=True)
    (folder / "glpn.json").write_text(json.dumps(metrics(0.60, 0.01)))
    (folder / "logreg.json").write_text(json.dumps(metrics(0.80, 0.02)))
    (folder / "mmfnd_no_ple.json").write_text(json.dumps({"not_applicable": "old layout"}))
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "old run")
    # the re-run: glpn moved beyond both stds, logreg within them; a new ablation, one gone
    (folder / "glpn.json").write_text(json.dumps(metrics(0.70, 0.02)))
    (folder / "logreg.json").write_text(json.dumps(metrics(0.81, 0.02)))
    (folder / "mmfnd_no_fusion.json").write_text(json.dumps(metrics(0.75, 0.03)))
    (folder / "mmfnd_no_ple.json").unlink()
    monkeypatch.chdir(tmp_path)

    full_changes.main(["mediaeval2016", "--out", "changes.md"])

    rows = {line.split(" | ")[0]: line for line in (tmp_path / "changes.md").read_text().splitlines() if "`" in line}
    assert "| 0.600 ± 0.010 | 0.700 ± 0.020 | +0.100* |" in rows["| `glpn`"]
    assert rows["| `glpn`"].endswith("| 0.888 / 0.890 |")  # the paper's Twitter numbers
    assert "| 0.800 ± 0.020 | 0.810 ± 0.020 | +0.010 |" in rows["| `logreg`"]
    assert "| – | 0.750 ± 0.030 | – |" in rows["| `mmfnd_no_fusion`"]
    assert "| – | – | – |" in rows["| `mmfnd_no_ple`"]


def test_a_run_without_metrics_is_a_clear_error(full_changes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="reports/full/weibo/metrics: no metrics files"):
        full_changes.main(["weibo"])
