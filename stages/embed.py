"""Stage embed: articles -> data/processed/<dataset>/embeddings.parquet + embed_report.json.

Encoder outputs go through the content-addressed cache under params embed.cache_dir (default
.cache/embeddings, outside every DVC out): a re-split or another dataset sharing texts or image
files encodes only what it has not seen. The report's `cache` says, per modality, how many
items came from it (hits) and how many were encoded (misses); embeddings.parquet is the same
bytes either way."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq

from pipeline import config
from pipeline.features.cache import DEFAULT_DIR, EmbeddingCache
from pipeline.features.embed import embed_articles
from pipeline.paths import image_roots
from pipeline.vectors import read_meta


def run(dataset: str, params: dict, data_root: str | None = None) -> dict:
    cfg = dict(params.get("embed", {}))
    cache_dir = cfg.pop("cache_dir", DEFAULT_DIR)
    articles = pq.read_table(config.require(config.articles_path(dataset))).to_pandas()
    start = time.perf_counter()
    root = config.data_root(params, data_root)
    folder = (params.get("datasets") or {}).get(dataset, "")
    options = ((params.get("ingest") or {}).get("options") or {}).get(dataset) or {}
    with EmbeddingCache(cache_dir) as cache:
        table = embed_articles(articles, root, image_roots=image_roots(root, folder, options), cache=cache, **cfg)
    out = config.embeddings_path(dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    meta = read_meta(table) | {"cache": cache.report()}
    (out.parent / "embed_report.json").write_text(json.dumps(meta, indent=2) + "\n")
    meta["seconds"] = round(time.perf_counter() - start, 2)
    return meta


if __name__ == "__main__":
    from stages import main

    main({"embed": run}, __doc__)
