"""CI metrics gate: reproduce the pipeline, then compare its metrics with the committed ones.

A change that moves a metric beyond the tolerance fails until the new dvc.lock and metrics are
committed. Stages matched by `skip` (too slow for CI, or not reproducible run to run) are not
re-run; instead the gate fails when their code, command or params changed since their
committed results (a stale dvc.lock), so a change to them still has to commit new results.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

from pipeline.errors import FndError

# Stages that read every metric file: re-run alone, on the committed metrics of skipped stages.
AGGREGATE_STAGES = ("report",)


class GateError(FndError):
    """A dvc or git command the gate needs failed."""


@dataclass(frozen=True)
class Change:
    path: str
    metric: str
    old: float | None
    new: float | None

    @property
    def diff(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    def beyond(self, tolerance: float) -> bool:
        return self.diff is None or abs(self.diff) > tolerance


def changes(diff: dict) -> list[Change]:
    """Every metric of `dvc metrics diff --all --json` whose value is not the committed one."""
    out = []
    for path, metrics in sorted(diff.items()):
        for metric, values in sorted(metrics.items()):
            old, new = values.get("old"), values.get("new")
            if old != new and not (isinstance(old, bool) or isinstance(new, bool)):
                out.append(Change(path, metric, old, new))
    return out


def compared(diff: dict) -> int:
    return sum(len(metrics) for metrics in diff.values())


def markdown(diff: dict, tolerance: float) -> str:
    """A table of the metrics that moved, each marked within or beyond the tolerance."""
    moved = changes(diff)
    failing = [c for c in moved if c.beyond(tolerance)]
    lines = [
        f"**Metrics gate**: {compared(diff)} metrics in {len(diff)} files compared with the committed ones "
        f"(tolerance ±{tolerance:g}); {len(moved)} moved, {len(failing)} beyond the tolerance.",
        "",
    ]
    if moved:
        lines += ["| file | metric | committed | reproduced | change | verdict |", "|---|---|---|---|---|---|"]
        for c in moved:
            show = lambda v: "–" if v is None else f"{v:.6g}"  # noqa: E731
            verdict = "**beyond**" if c.beyond(tolerance) else "within"
            lines.append(f"| {c.path} | {c.metric} | {show(c.old)} | {show(c.new)} | {show(c.diff)} | {verdict} |")
    return "\n".join(lines)


def stale(status: dict, skipped: list[str], tracked: set[str]) -> dict[str, list[str]]:
    """Skipped stages whose committed command, params or source files (git-tracked deps)
    changed, from `dvc status --json`; changes to other stages' outputs are not counted."""
    out = {}
    for stage in skipped:
        reasons = []
        for entry in status.get(stage, []):
            if entry == "changed command":
                reasons.append("its command")
            elif isinstance(entry, dict):
                for path, state in entry.get("changed deps", {}).items():
                    if isinstance(state, dict):  # a params file: {key: state}
                        reasons += [f"param {key} ({what})" for key, what in state.items()]
                    elif path.rstrip("/") in tracked:
                        reasons.append(f"{path} ({state})")
        if reasons:
            out[stage] = reasons
    return out


def _run(args: list[str], capture: bool = True) -> str:
    done = subprocess.run(args, capture_output=capture, text=True)
    if done.returncode != 0:
        raise GateError(
            f"`{' '.join(args[:3])} …` failed (exit {done.returncode})"
            + (f": {done.stderr.strip()[-2000:]}" if capture else "")
        )
    return done.stdout if capture else ""


def run(tolerance: float, skip: str, dvc: str = "dvc") -> tuple[bool, str]:
    """Reproduce every stage not matching `skip`, then judge. Returns (passed, markdown report)."""
    stages = _run([dvc, "stage", "list", "--name-only"]).split()
    skipped = [s for s in stages if skip and re.search(skip, s)]
    aggregate = [s for s in stages if s in AGGREGATE_STAGES]
    targets = [s for s in stages if s not in skipped and s not in aggregate]
    _run([dvc, "repro", *targets], capture=False)
    for stage in aggregate:
        _run([dvc, "repro", "--single-item", stage], capture=False)
    diff = json.loads(_run([dvc, "metrics", "diff", "--all", "--json"]) or "{}")
    tracked = set(_run(["git", "ls-files"]).split())
    tracked |= {parent for path in tracked for parent in _parents(path)}
    stale_stages = stale(
        json.loads(_run([dvc, "status", "--json", *skipped]) or "{}") if skipped else {}, skipped, tracked
    )
    report = markdown(diff, tolerance)
    if skipped:
        report += (
            f"\n\nNot re-run (too slow for CI, pattern `{skip}`): {len(skipped)} stages; "
            "their committed metrics are kept."
        )
    for stage, reasons in stale_stages.items():
        report += f"\n- **stale** `{stage}`: changed since its committed results: {', '.join(reasons)}"
    passed = not any(c.beyond(tolerance) for c in changes(diff)) and not stale_stages
    report += "\n\n" + (
        "PASS: the pipeline reproduces the committed metrics."
        if passed
        else "FAIL: run `dvc repro`, check the new metrics, and commit dvc.lock and metrics/ deliberately."
    )
    return passed, report


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
