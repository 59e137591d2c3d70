"""params.yaml is checked as a whole when it is read: a wrong value fails before any stage works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import config
from pipeline.errors import ParamsError
from pipeline.params_check import check_params

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_the_committed_params_are_valid():
    assert config.load_params(ROOT / "params.yaml")["mask_rate"] == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mask_rate: 1.5", "mask_rate = 1.5: must be a number in [0, 1]"),
        ("graphs: {similarity: {theta: 2.0}}", "graphs.similarity.theta = 2.0: must be a cosine similarity"),
        ("graphs: {similarity: {theta: -1}}", "graphs.similarity.theta = -1: must be a cosine similarity"),
        ("graphs: {similarity: {thetha: 0.9}}", "unknown key graphs.similarity.thetha; allowed here: block"),
        ("embed: {batch_size: 0}", "embed.batch_size = 0: must be an integer > 0"),
        ("embed: {device: gpu}", "embed.device = 'gpu': must be auto, cpu, cuda"),
        ("ingest: {test_frac: 1.0}", "ingest.test_frac = 1.0: must be a number in (0, 1)"),
        ("ingest: {options: {pheme: [veracity]}}", "ingest.options.pheme = ['veracity']: must be a mapping"),
        ("llm: {backend: llama}", "llm.backend = 'llama': must be transformers, vllm or openai"),
        ("llm: {commit_seconds: 0}", "llm.commit_seconds = 0: must be a number > 0"),
        ("llm: {veracity: {splits: [tests]}}", "llm.veracity.splits = ['tests']"),
        ("train: {seeds: []}", "train.seeds = []: must be a non-empty list of integers"),
        ("train: {glpn: 0.3}", "train.glpn = 0.3: must be a mapping"),
        ("datasets: {../x: x}", "datasets: '../x' is not a plain name"),
        ("semantic: {kb: x}", "unknown key semantic; allowed here: data_root, datasets"),
        ("- a list", "expected a mapping of settings, got list"),
    ],
)
def test_a_bad_value_names_the_key_the_value_and_what_is_allowed(tmp_path, text, message):
    with pytest.raises(ParamsError) as err:
        config.load_params(write(tmp_path, text))
    assert message in str(err.value)
    assert str(tmp_path / "params.yaml") in str(err.value)


def test_invalid_yaml_names_the_line_and_column(tmp_path):
    with pytest.raises(ParamsError, match=r"params.yaml:2:12: not valid YAML \(mapping values are not allowed here\)"):
        config.load_params(write(tmp_path, "mask_rate: 0.5\nembed: text: minilm\n"))


def test_every_key_of_the_committed_params_is_known():
    """The checker's key table covers the whole committed file (a key it does not know is an
    error, so a new setting must be added there with its rule)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["llm"]["commit_seconds"] = 30
    check_params(params)


def test_a_stage_refuses_a_bad_value_before_reading_anything(tmp_path):
    """mask_rate is read only by GLPN-LLM's training, yet ingest (the first stage) stops on it at
    once, with one line and no traceback."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["mask_rate"] = 1.5
    path = write(tmp_path, yaml.safe_dump(params))
    done = subprocess.run(
        [sys.executable, "-m", "stages.ingest", "politifact", "--params", str(path), "--data-root", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {path}: mask_rate = 1.5: must be a number in [0, 1]"
