"""Stage embed: articles -> data/processed/<dataset>/embeddings.parquet + embed_report.json."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq

from pipeline import config
from pipeline.features.embed import embed_articles
from pipeline.paths import image_roots
from pipeline.vectors import read_meta


def run(dataset: str, params: dict, data_root: str | None = None) -> dict:
    cfg = dict(params.get("embed", {}))
    articles = pq.read_table(config.require(config.articles_path(dataset))).to_pandas()
    start = time.perf_counter()
    root = config.data_root(params, data_root)
    folder = (params.get("datasets") or {}).get(dataset, "")
    options = ((params.get("ingest") or {}).get("options") or {}).get(dataset) or {}
    table = embed_articles(articles, root, image_roots=image_roots(root, folder, options), **cfg)
    out = config.embeddings_path(dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    meta = read_meta(table)
    (out.parent / "embed_report.json").write_text(json.dumps(meta, indent=2) + "\n")
    meta["seconds"] = round(time.perf_counter() - start, 2)
    return meta


if __name__ == "__main__":
    from stages import main

    main({"embed": run}, __doc__)
