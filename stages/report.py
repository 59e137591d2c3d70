"""Stage report: committed metrics -> reports/{summary.json, results.md, figures/, sweeps/}."""

from __future__ import annotations

from pathlib import Path

from pipeline import report


def run(root: Path = Path("."), out: Path = Path("reports")) -> dict:
    return report.write(root, out)


if __name__ == "__main__":
    from stages import fail_clearly

    with fail_clearly():
        table = run()
    print(f"reports/results.md: {sum(len(m) for d in table.values() for m in d.values())} results in {len(table)} runs")
