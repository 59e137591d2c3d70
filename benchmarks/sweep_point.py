"""A cold `dvc repro` of the embedded default (wall time and processes started: one per stage
run), then a no-op `dvc repro` and one sweep point (`dvc exp run -S mask_rate=0.3`), measured
in one run on a fresh clone of this repository.

The clone starts with no DVC outputs and an empty LLM cache (`llm.cache_dir` is inside the
clone), so the first `dvc repro` is truly cold. The sweep point then re-runs only the stages
that read `mask_rate` (train-glpn-mediaeval2016 and the report); the script prints which stages ran.

Usage: python benchmarks/sweep_point.py [--repo .] [--workdir /tmp/fnd-sweep-bench] [--value 0.3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time
from pathlib import Path


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
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fnd-sweep-bench"))
    parser.add_argument("--value", default="0.3", help="mask_rate of the sweep point")
    args = parser.parse_args()

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    subprocess.run(["git", "clone", "-q", str(args.repo.resolve()), str(args.workdir)], check=True)

    cold_s, cold_log = timed(["dvc", "repro"], args.workdir)
    noop_s, noop_log = timed(["dvc", "repro"], args.workdir)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.org", "commit", "-qam", "cold repro"], cwd=args.workdir)
    point_s, point_log = timed(["dvc", "exp", "run", "-S", f"mask_rate={args.value}"], args.workdir)

    print(f"cold dvc repro: {cold_s:8.1f} s, {len(stages_run(cold_log))} stage processes")
    print(f"no-op dvc repro: {noop_s:8.1f} s ({len(stages_run(noop_log))} stages run)")
    print(f"dvc exp run -S mask_rate={args.value}: {point_s:8.1f} s, stages run: {', '.join(stages_run(point_log))}")
    print(f"sweep point / cold repro: {point_s / cold_s:.1%} (target: 3% or less)")


if __name__ == "__main__":
    main()
