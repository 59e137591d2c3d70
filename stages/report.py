"""Stage report: committed metrics -> reports/{summary.json, results.md, figures/, sweeps/}."""

from __future__ import annotations

from pathlib import Path

from pipeline import report


def run(root: Path = Path("."), out: Path = Path("reports")) -> dict:
    return report.write(root, out)
