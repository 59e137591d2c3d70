"""A train stage stopped during a seed goes on from that seed when it runs again: the seeds it
finished are restored, not trained again, and the metrics come out byte for byte as from an
unbroken run. A changed dependency or setting trains every seed again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import stages.train
from pipeline.models.inputs import MethodInputs, hide_test_labels
from tests.scratch_project import ok

STAGE = "train-mlp-politifact"
REAL_TRAIN = stages.train.train


def _params(hidden: int = 16) -> dict:
    return {
        "datasets": {"politifact": "fakenewsnet"},
        "train": {"seeds": [0, 1, 2], "device": "cpu", "methods": ["mlp"], "mlp": {"hidden": hidden, "epochs": 30}},
    }


def _inputs(dataset, reads):
    rng = np.random.default_rng(7)
    split = np.array(["train"] * 40 + ["val"] * 10 + ["test"] * 10)
    labels = rng.integers(0, 2, len(split))
    text = rng.normal(size=(len(split), 8)).astype(np.float32) + labels[:, None]
    ids = [f"a{i}" for i in range(len(split))]
    data = MethodInputs(ids=ids, split=split, y=hide_test_labels(split, labels), text=text)
    return data, pd.DataFrame({"id": ids, "split": split, "label": labels})


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder whose dvc.yaml declares the stage with one data dependency, DVC running that stage."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inputs.txt").write_text("version 1\n")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {STAGE: {"cmd": "x", "deps": ["inputs.txt"]}}}))
    monkeypatch.setenv("DVC_STAGE", STAGE)
    monkeypatch.setattr(stages.train, "load_inputs", _inputs)
    return tmp_path


def _run(monkeypatch, params: dict, stop_at: int | None = None) -> list[int]:
    """Runs the stage; with `stop_at`, it is killed when it starts that seed. Returns the seeds it trained."""
    trained = []

    def train(method, data, values, seed, device):
        if seed == stop_at:
            raise KeyboardInterrupt
        trained.append(seed)
        return REAL_TRAIN(method, data, values, seed, device)

    monkeypatch.setattr(stages.train, "train", train)
    try:
        stages.train.run("mlp", "politifact", params)
    except KeyboardInterrupt:
        assert stop_at is not None
    return trained


def _metrics() -> str:
    return Path("metrics/mlp/politifact.json").read_text()


def test_a_stopped_stage_restores_its_finished_seeds_and_gives_the_same_metrics(project, monkeypatch):
    assert _run(monkeypatch, _params()) == [0, 1, 2]
    unbroken = _metrics()
    assert not Path(".cache/seeds").exists() or not any(Path(".cache/seeds").iterdir())

    assert _run(monkeypatch, _params(), stop_at=2) == [0, 1]
    assert sorted(p.name for p in Path(".cache/seeds", STAGE).glob("*/*")) == ["seed_0.pkl", "seed_1.pkl"]
    assert _run(monkeypatch, _params()) == [2]  # seeds 0 and 1 restored
    assert _metrics() == unbroken
    assert not Path(".cache/seeds", STAGE).exists()  # removed once the stage has written its outputs


def test_a_changed_dependency_or_setting_trains_every_seed_again(project, monkeypatch):
    _run(monkeypatch, _params(), stop_at=1)
    Path("inputs.txt").write_text("version 2\n")
    assert _run(monkeypatch, _params(), stop_at=1) == [0]
    assert _run(monkeypatch, _params(hidden=8)) == [0, 1, 2]
    assert json.loads(_metrics())["seeds"]["0"]


def test_outside_dvc_repro_nothing_is_kept(project, monkeypatch):
    monkeypatch.delenv("DVC_STAGE")
    _run(monkeypatch, _params(), stop_at=1)
    assert not Path(".cache/seeds").exists()


def test_a_checkpoint_cut_short_is_reported_and_its_seed_trained_again(project, monkeypatch, capsys):
    _run(monkeypatch, _params(), stop_at=1)
    (checkpoint,) = Path(".cache/seeds", STAGE).glob("*/seed_0.pkl")
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    assert _run(monkeypatch, _params()) == [0, 1, 2]
    assert f"{checkpoint}: unreadable" in capsys.readouterr().err


def test_dvc_names_the_running_stage_in_DVC_STAGE(tmp_path):
    """What SeedCheckpoints.for_stage relies on to find the stage's declared dependencies."""
    ok(["git", "init", "-q"], tmp_path)
    ok(["dvc", "init", "-q"], tmp_path)
    command = "python -c \"import os; open('name.txt', 'w').write(os.environ['DVC_STAGE'])\""
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {STAGE: {"cmd": command, "outs": ["name.txt"]}}}))
    ok(["dvc", "repro", "-q"], tmp_path)
    assert (tmp_path / "name.txt").read_text() == STAGE
