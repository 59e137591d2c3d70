"""Embedding cache: one embed with an empty cache (cold), then the same rows re-split (warm).

Ingests a dataset from the embedded default (data/raw) or --data-root, embeds its first --rows
rows twice through a cache in a temporary folder (the second time with train and test
swapped, as a re-split would), and prints both times, their ratio, the hits and misses, and
whether the vectors are the same bytes. Both times include loading the encoders and fitting
the CCA, which the cache does not save.

Usage: python benchmarks/embed_cache.py [--data-root data/raw] [--dataset mediaeval2016] [--rows 128]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipeline.data.ingest import ingest
from pipeline.features.cache import EmbeddingCache
from pipeline.features.embed import embed_articles
from pipeline.vectors import vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=Path("data/raw"))
    parser.add_argument("--dataset", default="mediaeval2016")
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    df, _ = ingest(args.dataset, args.data_root)
    df = df.iloc[: args.rows].reset_index(drop=True)
    resplit = df.assign(split=df["split"].map({"train": "test", "test": "train", "val": "val"}))
    with tempfile.TemporaryDirectory() as folder:
        runs = {}
        for name, rows in (("cold", df), ("warm", resplit)):
            start = time.perf_counter()
            with EmbeddingCache(folder) as cache:
                table = embed_articles(rows, args.data_root, device=args.device, cache=cache, progress=False)
            runs[name] = time.perf_counter() - start, table, cache.stats
            print(f"{name}: {runs[name][0]:.1f}s {cache.stats}")
    same = all(
        vectors(runs["cold"][1], column).tobytes() == vectors(runs["warm"][1], column).tobytes()
        for column in ("text", "image")
    )
    print(f"{len(df)} rows of {args.dataset}: cold/warm {runs['cold'][0] / runs['warm'][0]:.1f}x; same bytes: {same}")


if __name__ == "__main__":
    main()
