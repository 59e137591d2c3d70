"""`fnd check` in-process on small files the tests write: what it prints, --strict, a bad mapping,
and that it writes nothing."""

from __future__ import annotations

from pathlib import Path

import yaml
from generic_input import COLUMNS, LABELS, text, write_csv
from typer.testing import CliRunner

from pipeline.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _project(tmp_path, **options) -> Path:
    """params.yaml for a dataset 'mine' of 60 rows, 10 of them one repeated text (boilerplate)."""
    records = [{"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real"} for i in range(50)]
    records += [{"id": f"b{k}", "text": "Access denied.", "label": "real"} for k in range(10)]
    (tmp_path / "data").mkdir(parents=True)
    write_csv(tmp_path / "data" / "mine.csv", records)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data_root"] = str(tmp_path / "data")
    params["datasets"] = {"mine": "."}
    params["ingest"]["options"] = {
        "mine": {"adapter": "generic", "path": "mine.csv", "columns": COLUMNS, "labels": LABELS, **options}
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_check_prints_rows_split_checks_methods_and_warnings(tmp_path):
    params = _project(tmp_path, repeated_min=5)
    result = runner.invoke(app, ["check", "mine", "--params", str(params)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "rows: read 60, kept 60, rejected 0" in lines
    assert lines[2].startswith("split: stratified: 20% test, seed 0")  # the generic default
    assert [line.split()[0] for line in lines[4:7]] == ["train", "val", "test"]
    assert "  repeated: 10 rows (policy flag)" in lines
    assert "has: images on 0 of 60 rows, timestamps on 0, propagation graphs: no" in lines
    assert "  mmfnd: not applicable: mmfnd needs images: mine: it has no images" in lines
    assert "  logreg: runs" in lines
    assert "warnings (2):" in lines  # the repeated text, and its copies in val and test
    assert lines[-2].startswith("  - duplicates: 1 val and 1 test rows (1 distinct text")
    assert lines[-1].startswith("  - repeated: 1 distinct text occurs at least 5 times (10 rows)")
    assert not (tmp_path / "data" / "interim").exists() and sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "mine.csv"
    ]


def test_strict_exits_1_on_a_warning_and_0_without(tmp_path):
    params = _project(tmp_path, repeated_min=5)
    assert runner.invoke(app, ["check", "mine", "--strict", "--params", str(params)]).exit_code == 1
    params = _project(tmp_path / "clean", repeated="drop", repeated_min=5)
    result = runner.invoke(app, ["check", "mine", "--strict", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "  rejected, text repeated 5+ times (repeated: drop): 10 (e.g. " in result.output


def test_a_bad_mapping_is_one_error_line(tmp_path):
    params = _project(tmp_path, split="group")
    result = runner.invoke(app, ["check", "mine", "--params", str(params)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "split_by" in result.output
