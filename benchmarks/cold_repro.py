"""A cold reproduction of the embedded default on a fresh clone, stage by stage: where the time
goes, how many processes start (one per stage), whether the committed metrics come back;
then a no-op `dvc repro` and one sweep point (`dvc exp run -S mask_rate=0.3`). One run.

The clone starts with no DVC outputs and an empty LLM cache (`llm.cache_dir` is inside the
clone), so every stage really runs. Stages run one `dvc repro --single-item` each, in the
order of dvc.yaml (upstream first), so each has its own wall time; their sum includes DVC's
own start-up per stage (about a second).

Usage: python benchmarks/cold_repro.py [--repo .] [--workdir /tmp/fnd-cold-bench] [--value 0.3]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import yaml


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def stages_run(log: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fnd-cold-bench"))
    parser.add_argument("--value", default="0.3", help="mask_rate of the sweep point")
    args = parser.parse_args()

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    subprocess.run(["git", "clone", "-q", str(args.repo.resolve()), str(args.workdir)], check=True)
    stages = list(yaml.safe_load((args.workdir / "dvc.yaml").read_text())["stages"])

    seconds = {}
    for stage in stages:
        seconds[stage], log = timed(["dvc", "repro", "--single-item", stage], args.workdir)
        print(f"{stage:40s} {seconds[stage]:8.1f} s{'' if stages_run(log) else ' (not run)'}", flush=True)
    total = sum(seconds.values())
    print(
        f"\ncold reproduction: {total:.1f} s ({total / 60:.1f} min) "
        f"for {len(stages)} stages = {len(stages)} stage processes"
    )
    for kind in sorted({s.split("-")[0] for s in stages}):
        part = sum(v for s, v in seconds.items() if s.split("-")[0] == kind)
        print(f"  {kind:20s} {part:8.1f} s  {part / total:6.1%}")

    diff = json.loads(
        subprocess.run(
            ["dvc", "metrics", "diff", "--all", "--json"], cwd=args.workdir, capture_output=True, text=True, check=True
        ).stdout
        or "{}"
    )
    values = [v for metrics in diff.values() for v in metrics.values()]
    moved = [v for v in values if v.get("old") != v.get("new") and not isinstance(v.get("new"), bool)]
    largest = max(
        (abs(v["new"] - v["old"]) for v in moved if v.get("old") is not None and v.get("new") is not None), default=0.0
    )
    print(
        f"metrics against the committed ones: {len(values)} compared, {len(moved)} moved, largest change {largest:.2g}"
    )

    noop_s, noop_log = timed(["dvc", "repro"], args.workdir)
    print(f"no-op dvc repro: {noop_s:.1f} s ({len(stages_run(noop_log))} stages run)")
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.org",
            "commit",
            "-qam",
            "cold repro",
            "--allow-empty",
        ],
        cwd=args.workdir,
        check=True,
    )
    point_s, point_log = timed(["dvc", "exp", "run", "-S", f"mask_rate={args.value}"], args.workdir)
    print(f"dvc exp run -S mask_rate={args.value}: {point_s:.1f} s, stages run: {', '.join(stages_run(point_log))}")


if __name__ == "__main__":
    main()
