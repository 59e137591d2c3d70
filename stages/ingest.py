"""Stage ingest: raw dataset -> data/interim/<dataset>/articles.parquet + ingest_report.json."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pipeline import config
from pipeline.data.ingest import ingest
from pipeline.data.schema import to_table


def run(dataset: str, params: dict, data_root: str | None = None, out_dir: Path | None = None) -> dict:
    cfg = params.get("ingest", {})
    df, report = ingest(
        dataset,
        config.data_root(params, data_root),
        cfg.get("options", {}).get(dataset, {}),
        test_frac=cfg.get("test_frac", 0.2),
        val_frac=cfg.get("val_frac", 0.1),
        seed=cfg.get("seed", 0),
    )
    articles = out_dir / dataset / "articles.parquet" if out_dir else config.articles_path(dataset)
    articles.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(df), articles)
    report.write(articles.parent / "ingest_report.json")
    return report.to_dict()


if __name__ == "__main__":
    from stages import main

    main({"ingest": run}, __doc__)
