"""`fnd metrics-changes`: the headline metrics (test accuracy, macro-F1 and AUC, means over seeds)
of `metrics/<method>/<dataset>.json` that differ between a git revision and HEAD, as a Markdown
table, from `dvc metrics diff <rev> HEAD --json`. CI prints it for the commit under test; it
fails only when git or dvc does, never because a metric moved (that is the gate's job)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

from pipeline.errors import FndError
from pipeline.evaluate import HEADLINE

METRICS_FILE = re.compile(r"^metrics/(?P<method>[^/]+)/(?P<dataset>[^/]+)\.json$")
SPLIT = "test"


class MetricsChangesError(FndError):
    """A git or dvc command that `fnd metrics-changes` needs failed."""


@dataclass(frozen=True)
class Row:
    method: str
    dataset: str
    metric: str
    old: float | None
    new: float | None

    @property
    def change(self) -> str:
        if self.old is None:
            return "new"
        if self.new is None:
            return "removed"
        return f"{self.new - self.old:+.4f}"


def _number(value) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def headline_rows(diff: dict) -> list[Row]:
    """One row per (method, dataset, headline metric) of `dvc metrics diff --json` that changed."""
    rows = []
    for path, metrics in sorted(diff.items()):
        match = METRICS_FILE.match(path)
        if not match:
            continue
        for metric in HEADLINE:
            values = metrics.get(f"{SPLIT}.{metric}")
            if not values:
                continue
            old, new = _number(values.get("old")), _number(values.get("new"))
            if old != new:
                rows.append(Row(match["method"], match["dataset"], metric, old, new))
    return rows


def markdown(rows: list[Row], rev: str) -> str:
    if not rows:
        return f"Metrics changes since {rev}: no headline metric changed."
    show = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [
        f"**Metrics changes since {rev}**: {len(rows)} headline metrics (test, mean over seeds) differ in HEAD.",
        "",
        "| method | dataset | metric | old | new | change |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r.method} | {r.dataset} | {r.metric} | {show(r.old)} | {show(r.new)} | {r.change} |" for r in rows]
    return "\n".join(lines)


def rev_exists(rev: str) -> bool:
    """Whether `rev` names a commit; a git failure other than an unknown revision is an error."""
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True)
    if done.returncode not in (0, 1):
        raise MetricsChangesError(f"`git rev-parse {rev}` failed (exit {done.returncode}): not a git repository?")
    return done.returncode == 0


def run(rev: str, dvc: str = "dvc") -> str:
    """The report for `rev` against HEAD; a revision that does not exist is said, not an error."""
    if not rev_exists(rev):
        return f"Metrics changes: {rev} does not exist (the first commit, or a shallow clone): nothing to compare."
    done = subprocess.run([dvc, "metrics", "diff", rev, "HEAD", "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        raise MetricsChangesError(f"`dvc metrics diff {rev} HEAD` failed (exit {done.returncode}): {last}")
    return markdown(headline_rows(json.loads(done.stdout or "{}")), rev)
