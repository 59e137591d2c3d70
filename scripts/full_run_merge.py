"""Adds some train stages of a full-data run to the committed run in reports/full/<dataset>/.

    python scripts/full_run_merge.py WORK OUT DATASET STAGE [STAGE ...]

`scripts/full_run.sh` calls this for STAGES=…: the run in WORK trained only those stages, so
their metrics and training records are added to OUT (the committed run's other methods stay)
and their dvc.lock entries replace or join the committed dvc.lock's. A stage is refused, and
nothing is copied, when a data file it read is not the file the committed run recorded: its
numbers would not be comparable with the committed run's. Code files may differ: that is
what a re-run is for.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

CODE = ("pipeline/", "stages/", "prompts/")


def recorded_md5s(lock: dict) -> dict[str, str]:
    """Every path a lock records, with its md5. Where the stage that wrote a path is in the lock,
    its output's md5 is the one: a full run's lock also keeps stages it did not run (from the
    embedded slice it was cloned from), whose dependencies record the slice's files."""
    stages = lock.get("stages", {}).values()
    read = {dep["path"]: dep["md5"] for stage in stages for dep in stage.get("deps", []) if "md5" in dep}
    written = {out["path"]: out["md5"] for stage in stages for out in stage.get("outs", []) if "md5" in out}
    return read | written


def data_mismatches(stage: dict, committed: dict[str, str]) -> list[str]:
    """The stage's data dependencies whose md5 differs from the committed run's, or that it lacks."""
    return [
        f"{dep['path']}: {dep.get('md5')} here, {committed.get(dep['path'], 'not recorded')} in the committed run"
        for dep in stage.get("deps", [])
        if not dep["path"].startswith(CODE) and committed.get(dep["path"]) != dep.get("md5")
    ]


def merge(work: Path, out: Path, dataset: str, stages: list[str]) -> None:
    new_lock = yaml.safe_load((work / "dvc.lock").read_text(encoding="utf-8"))
    old_lock = yaml.safe_load((out / "dvc.lock").read_text(encoding="utf-8"))
    committed = recorded_md5s(old_lock)
    problems = []
    for name in stages:
        stage = new_lock["stages"].get(name)
        if stage is None:
            problems.append(f"{name}: not in {work / 'dvc.lock'} (the run did not finish it)")
        else:
            problems += [f"{name}: {line}" for line in data_mismatches(stage, committed)]
    if problems:
        raise SystemExit("not merged into " + str(out) + ":\n  " + "\n  ".join(problems))
    for name in stages:
        method = name.removeprefix("train-").removesuffix(f"-{dataset}")
        shutil.copy(work / f"metrics/{method}/{dataset}.json", out / f"metrics/{method}.json")
        (out / "train").mkdir(exist_ok=True)
        shutil.copy(work / f"models/{method}/{dataset}/train.json", out / f"train/{method}.json")
        old_lock["stages"][name] = new_lock["stages"][name]
        print(f"{name}: merged into {out}")
    (out / "dvc.lock").write_text(yaml.safe_dump(old_lock, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    merge(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:])
