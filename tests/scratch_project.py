"""Scratch git + DVC projects for the tests that run the CLI, `dvc` and `git` as a user would:
the venv's commands on PATH and FND_DATA_ROOT unset (params.yaml alone names the data)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def env(**extra) -> dict:
    out = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"} | extra
    out.pop("FND_DATA_ROOT", None)
    return out


def run(args, cwd, timeout: int = 1200, **extra_env) -> subprocess.CompletedProcess:
    """The command's result; `timeout` is a hang guard, not a speed target."""
    return subprocess.run(args, cwd=cwd, env=env(**extra_env), capture_output=True, text=True, timeout=timeout)


def ok(args, cwd, **kwargs) -> str:
    """The command's stdout; it must succeed."""
    out = run(args, cwd, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, args))}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def commit(repo: Path, message: str) -> None:
    ok(["git", "add", "-A"], repo)
    ok(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", message],
        repo,
    )


def new_project(work: Path) -> Path:
    """`work` made a git + DVC project with this repo's pipeline code (analytics off); the caller
    writes its params.yaml."""
    # the report reads the full-data runs and the diagnostic tables
    for tree in ("pipeline", "stages", "prompts", "reports/full", "reports/diagnostics"):
        shutil.copytree(ROOT / tree, work / tree, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".gitignore", work / ".gitignore")  # bytecode and the caches stay out of commits
    for cmd in (
        ["git", "init", "-q"],
        [str(BIN / "dvc"), "init", "-q"],
        [str(BIN / "dvc"), "config", "core.analytics", "false"],
    ):
        ok(cmd, work)
    return work
