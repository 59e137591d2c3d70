"""Stage article_graphs: propagation, sentence-entity and WikiAMR graphs per article under
data/processed/<dataset>/graphs/ and their statistics under metrics/graphs/<dataset>/structure.json."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.features import registry
from pipeline.graphs import propagation
from pipeline.graphs.io import save_graphs, save_stats
from pipeline.graphs.sentence_entity import sentence_entity_graphs
from pipeline.graphs.wikiamr import wikiamr_graphs
from pipeline.vectors import vectors


def run(dataset: str, params: dict, data_root: str | None = None) -> dict:
    cfg = params.get("graphs", {})
    root = config.data_root(params, data_root)
    articles = pq.read_table(config.require(config.articles_path(dataset))).to_pandas()
    semantics = pq.read_table(config.require(config.semantics_path(dataset))).to_pandas()
    table = pq.read_table(config.require(config.embeddings_path(dataset)))
    encoder, info = registry.text_encoder(
        params.get("embed", {}).get("text", "minilm"), resolve_device(cfg.get("device", "auto"))
    )
    out = config.graphs_dir(dataset)
    stats: dict = {"node_text_encoder": info.to_dict()}

    news_vectors = dict(zip(table.column("id").to_pylist(), vectors(table, "text")))
    adapter = params.get("ingest", {}).get("options", {}).get(dataset, {}).get("adapter", dataset)
    graphs, stats["propagation"] = propagation.build(
        adapter, root, articles, news_vectors, cfg.get("propagation", {}).get("max_tree_nodes", 500)
    )
    save_graphs(graphs, out / "propagation.pt")

    sem_cfg = cfg.get("sentence_entity", {})
    graphs, stats["sentence_entity"] = sentence_entity_graphs(
        semantics, encoder, window=sem_cfg.get("window", 3), max_sentences=sem_cfg.get("max_sentences", 64)
    )
    save_graphs(graphs, out / "sentence_entity.pt")

    graphs, relations, stats["wikiamr"] = wikiamr_graphs(
        semantics, encoder, max_path_len=cfg.get("wikiamr", {}).get("max_path_len", 2)
    )
    save_graphs(graphs, out / "wikiamr.pt")
    (out / "wikiamr_relations.json").write_text(json.dumps(relations, indent=1) + "\n")
    save_stats(dataset, "structure", stats)
    return stats


if __name__ == "__main__":
    from stages import main

    main({"article_graphs": run}, __doc__)
