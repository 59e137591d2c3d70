"""The CLI in-process (no DVC project): it lists every adapter; expected failures are one clear line,
a bug keeps its traceback, and --debug / $FND_DEBUG show the traceback of expected failures too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import DEBUG_ENV, MissingFile
from stages import fail_clearly

ROOT = Path(__file__).resolve().parents[1]

runner = CliRunner()


def test_cli_lists_every_adapter():
    result = runner.invoke(
        app, ["datasets", "--data-root", str(ROOT / "data/raw"), "--params", str(ROOT / "params.yaml")]
    )
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
    pd.DataFrame({"id": ["1"], "split": ["train"], "label": [1]}).to_parquet(
        tmp_path / "data/interim/mediaeval2016/articles.parquet"
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder (params only, no artifacts) as the working directory; debug off."""
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"datasets": {"politifact": "fakenewsnet"}, "train": {"methods": ["mlp"], "mlp": {}}})
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DEBUG_ENV, "0")  # restored after the test: --debug sets it in this process
    return tmp_path


def test_a_missing_artifact_is_one_line_naming_the_command_that_writes_it(project):
    result = CliRunner().invoke(app, ["similarity-graph", "politifact"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.strip() == (
        "error: data/interim/politifact/articles.parquet: not found; run `fnd ingest` for this dataset or `dvc repro`"
    )


def test_a_bug_keeps_its_traceback(project, monkeypatch):
    def bug(*args, **kwargs):
        raise KeyError("x")  # what an internal bug raises; it used to print as "error: 'x'"

    monkeypatch.setattr("stages.train.run", bug)
    result = CliRunner().invoke(app, ["train", "mlp", "politifact"])
    assert isinstance(result.exception, KeyError) and "error:" not in result.output


def test_debug_option_raises_expected_errors_with_their_traceback(project):
    result = CliRunner().invoke(app, ["--debug", "similarity-graph", "politifact"])
    assert isinstance(result.exception, MissingFile)
    assert "fnd ingest" in str(result.exception)


def test_stage_helper_passes_bugs_through():
    with pytest.raises(KeyError, match="x"), fail_clearly():
        raise KeyError("x")
    with pytest.raises(SystemExit), fail_clearly():
        raise MissingFile("absent")


def test_stage_command_shows_the_traceback_with_fnd_debug(project):
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    quiet = subprocess.run(
        [sys.executable, "-m", "stages.embed", "politifact"], env=env, capture_output=True, text=True
    )
    loud = subprocess.run(
        [sys.executable, "-m", "stages.embed", "politifact"],
        env=env | {DEBUG_ENV: "1"},
        capture_output=True,
        text=True,
    )
    assert quiet.returncode == loud.returncode == 1
    assert "error: data/interim/politifact/articles.parquet: not found" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr and "MissingFile" in loud.stderr
