"""Stage ingest: raw dataset -> data/interim/<dataset>/articles.parquet + ingest_report.json.

Each of the report's warnings (label shift, shortcut risk, duplicated / conflicting /
repeated texts; see pipeline/data/checks.py) is also printed to stderr as 'warning: ...'."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipeline import config
from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestReport, to_table


def read(dataset: str, params: dict, data_root: str | None = None) -> tuple[pd.DataFrame, IngestReport]:
    """The dataset's canonical rows and report under params' ingest settings; writes nothing."""
    cfg = params.get("ingest", {})
    return ingest(
        dataset,
        config.data_root(params, data_root),
        cfg.get("options", {}).get(dataset, {}),
        test_frac=cfg.get("test_frac", 0.2),
        val_frac=cfg.get("val_frac", 0.1),
        seed=cfg.get("seed", 0),
    )


def run(dataset: str, params: dict, data_root: str | None = None, out_dir: Path | None = None) -> dict:
    df, report = read(dataset, params, data_root)
    articles = out_dir / dataset / "articles.parquet" if out_dir else config.articles_path(dataset)
    articles.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(df), articles)
    report.write(articles.parent / "ingest_report.json")
    for warning in report.warnings:
        print(f"warning: {dataset}: {warning}", file=sys.stderr)
    return report.to_dict()


if __name__ == "__main__":
    from stages import main

    main({"ingest": run}, __doc__)
