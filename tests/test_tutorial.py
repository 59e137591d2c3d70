"""docs/tutorial.md as written: its params blocks merged into this repo's params.yaml in order,
its `fnd check` outputs compared line by line with the real ones, and its commands run in a
scratch git + DVC project on the files tests/tutorial_data.py writes. Slow (a `dvc repro` that
embeds and trains)."""

from __future__ import annotations

import json
import re

import pytest
import scratch_project
import tutorial_data
import yaml

from pipeline.methods import METHODS

ROOT = scratch_project.ROOT
BIN = scratch_project.BIN
TUTORIAL = ROOT / "docs" / "tutorial.md"
pytestmark = pytest.mark.slow


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", TUTORIAL.read_text(), flags=re.S | re.M)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) and key != "datasets" else value
    return out


def _run(args, cwd) -> str:
    return scratch_project.ok(args, cwd, timeout=1800)


def _shown_lines_are_printed(shown: str, printed: str) -> None:
    """Every line the tutorial shows is a line of the real output (a line cut at '…' its start)."""
    lines = printed.splitlines()
    for line in shown.strip("\n").splitlines():
        if line.endswith(" …"):
            assert any(p.startswith(line[:-2]) for p in lines), f"not printed: {line}\n---\n{printed}"
        else:
            assert line in lines, f"not printed: {line}\n---\n{printed}"


def test_the_tutorial_runs_as_written(tmp_path):
    data_root = tmp_path / "news"
    tutorial_data.write(data_root)
    project = scratch_project.new_project(tmp_path / "project")

    params_blocks, outputs = _blocks("yaml"), _blocks("text")[2:]  # the first two show the files
    commands = [line for block in _blocks("bash") for line in block.splitlines() if line.strip()]
    assert len(params_blocks) == 3 and len(outputs) == 2
    assert commands == ["fnd check newsroom", "fnd stages", "dvc repro", "fnd metrics"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())

    def apply(block: str) -> None:
        nonlocal params
        params = _merge(params, yaml.safe_load(block))
        params["data_root"] = str(data_root)  # the tutorial's /home/me/news
        (project / "params.yaml").write_text(yaml.safe_dump(params))

    apply(params_blocks[0])  # 2. describe the data
    _shown_lines_are_printed(outputs[0], _run([str(BIN / "fnd"), "check", "newsroom"], project))
    apply(params_blocks[1])  # 4. fix the split and the boilerplate
    _shown_lines_are_printed(outputs[1], _run([str(BIN / "fnd"), "check", "newsroom"], project))
    apply(params_blocks[2])  # 5. train without an LLM
    _run([str(BIN / "fnd"), "stages"], project)
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert not [s for s in stages if s.startswith("llm")]
    trained = {"logreg", "mlp", "gcn_lp", "mmfnd"}
    variants = set(METHODS["mmfnd"].variants)  # params.yaml's train.ablations lists MMFND: a stage per variant
    assert {s for s in stages if s.startswith("train-")} == {f"train-{m}-newsroom" for m in trained | variants}
    _run([str(BIN / "dvc"), "repro"], project)
    printed = _run([str(BIN / "fnd"), "metrics"], project)

    for method in sorted(trained):
        metrics = json.loads((project / f"metrics/{method}/newsroom.json").read_text())
        assert metrics["test"]["n"] == 42 and 0 <= metrics["test"]["accuracy"] <= 1
        assert f"{method}/newsroom test, mean ± std over 3 seeds (0, 1, 2): accuracy" in printed
    report = json.loads((project / "data/interim/newsroom/ingest_report.json").read_text())
    assert report["split_policy"]["split_by"] == "publisher" and report["rows_kept"] == 156
    assert any(w.startswith("shortcut risk") for w in report["warnings"])
    summary = json.loads((project / "reports/summary.json").read_text())["embedded"]["newsroom"]
    for method in ("llm_only", "glpn", "lgcl"):
        assert (
            "the LLM does not score it (list the dataset in llm.veracity.datasets)" in summary[method]["not_applicable"]
        )
    assert "intents" in summary["inside"]["not_applicable"]
