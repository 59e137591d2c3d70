"""Stage similarity_graph: joint text-image vectors -> data/processed/<dataset>/graphs/similarity.pt
(GLPN-LLM's cross-modal graph over all posts) and its statistics under metrics/graphs/<dataset>/."""

from __future__ import annotations

import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.errors import BadInput
from pipeline.graphs.io import save_graphs, save_stats
from pipeline.graphs.similarity import similarity_graph
from pipeline.graphs.stats import similarity_stats
from pipeline.vectors import read_meta, vectors


def run(dataset: str, params: dict) -> dict:
    cfg = params.get("graphs", {}).get("similarity", {})
    articles = pq.read_table(config.require(config.articles_path(dataset))).to_pandas()
    table = pq.read_table(config.require(config.embeddings_path(dataset)))
    if table.column("id").to_pylist() != articles["id"].tolist():
        raise BadInput(
            f"{config.embeddings_path(dataset)}: ids differ from {config.articles_path(dataset)}; re-run embed"
        )
    out = config.graphs_dir(dataset) / "similarity.pt"
    if table.column("clip_text").null_count == table.num_rows:
        stats = {"built": False, "reason": read_meta(table)["joint_alignment"].get("unavailable", "no joint vectors")}
        save_graphs({}, out)
    else:
        data, (src, dst, types, _) = similarity_graph(
            articles["id"].tolist(),
            vectors(table, "clip_text"),
            vectors(table, "clip_image"),
            theta=cfg.get("theta", 0.95),
            max_neighbours=cfg.get("max_neighbours"),
            block=cfg.get("block", 2048),
            device=resolve_device(params.get("graphs", {}).get("device", "auto")),
        )
        save_graphs({"all": data}, out)
        stats = {"built": True, "theta": data.theta, "max_neighbours": cfg.get("max_neighbours")} | similarity_stats(
            len(articles), src, dst, types, articles["label"].to_numpy(), (articles["split"] == "train").to_numpy()
        )
    save_stats(dataset, "similarity", stats)
    return stats


if __name__ == "__main__":
    from stages import main

    main({"similarity_graph": run}, __doc__)
