"""Stages similarity_graph and graphs: PyG graphs per dataset under
data/processed/<dataset>/graphs/ and their statistics under metrics/graphs/<dataset>/."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.features import registry
from pipeline.graphs import propagation
from pipeline.graphs.io import save_graphs
from pipeline.graphs.sentence_entity import sentence_entity_graphs
from pipeline.graphs.similarity import similarity_graph
from pipeline.graphs.stats import similarity_stats
from pipeline.graphs.wikiamr import wikiamr_graphs
from pipeline.settings import check
from pipeline.vectors import read_meta, vectors


def _write_stats(dataset: str, name: str, stats: dict) -> None:
    path = config.graph_stats_path(dataset, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n")


def run_similarity(dataset: str, params: dict) -> dict:
    cfg = params.get("graphs", {}).get("similarity", {})
    check(
        isinstance(cfg.get("theta", 0.95), (int, float)) and -1.0 <= cfg.get("theta", 0.95) <= 1.0,
        "graphs.similarity.theta",
        cfg.get("theta"),
        "a cosine similarity in [-1, 1]",
    )
    articles = pq.read_table(config.articles_path(dataset)).to_pandas()
    table = pq.read_table(config.embeddings_path(dataset))
    if table.column("id").to_pylist() != articles["id"].tolist():
        raise ValueError(
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
            device=resolve_device(cfg.get("device", "auto")),
        )
        save_graphs({"all": data}, out)
        stats = {"built": True, "theta": data.theta, "max_neighbours": cfg.get("max_neighbours")} | similarity_stats(
            len(articles), src, dst, types, articles["label"].to_numpy(), (articles["split"] == "train").to_numpy()
        )
    _write_stats(dataset, "similarity", stats)
    return stats


def run_structure(dataset: str, params: dict, data_root: str | None = None) -> dict:
    cfg = params.get("graphs", {})
    root = config.data_root(params, data_root)
    articles = pq.read_table(config.articles_path(dataset)).to_pandas()
    semantics = pq.read_table(config.semantics_path(dataset)).to_pandas()
    table = pq.read_table(config.embeddings_path(dataset))
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
    _write_stats(dataset, "structure", stats)
    return stats


if __name__ == "__main__":
    from stages import main

    main({"similarity": run_similarity, "structure": run_structure}, __doc__)
