"""Sentence-entity and WikiAMR graphs built from the semantics of real PolitiFact articles."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

from pipeline.data.ingest import ingest
from pipeline.features import registry
from pipeline.graphs.sentence_entity import MENTION, WINDOW, sentence_entity_graphs
from pipeline.graphs.wikiamr import relation_vocabulary, wikiamr_graphs
from pipeline.semantics.analyse import analyse_articles
from pipeline.semantics.kb import KnowledgeBase
from pipeline.semantics.text import load_spacy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoder():
    return registry.text_encoder("minilm", torch.device("cpu"))[0]


@pytest.fixture(scope="module")
def semantics(encoder):
    df, _ = ingest("politifact", Path(__file__).parent / "fixtures")
    entries = json.loads((ROOT / "data/raw/wikipedia/summaries_en.json").read_text(encoding="utf-8"))
    kb = KnowledgeBase(
        {
            t: entries[t]
            for t in (
                "Barack Obama",
                "United States",
                "Donald Trump",
                "Hillary Clinton",
                "Democratic Party (United States)",
            )
            if t in entries
        }
    )
    table, _ = analyse_articles(df.iloc[:6], kb, load_spacy(), max_chars=3000, amr_max_sentences=8, progress=False)
    return table.to_pandas()


def test_sentence_entity_graph_structure(semantics, encoder):
    graphs, report = sentence_entity_graphs(semantics, encoder, window=3, max_sentences=10, progress=False)
    assert report["graphs"] == len(graphs) == sum(len(s) > 0 for s in semantics["sentences"])
    row = semantics.iloc[0]
    g = graphs[row["id"]]
    n = min(len(row["sentences"]), 10)
    assert g.num_sentences == n and (g.node_type[:n] == 0).all()
    window = g.edge_index[:, g.edge_type == WINDOW].T.tolist()
    assert len(window) == 2 * sum(n - d for d in (1, 2) if d < n)
    assert all(abs(a - b) in (1, 2) and a < n and b < n for a, b in window)
    kept = [e for e in row["entities"] if any(k < n for k in e["sentences"])]
    assert g.num_nodes == n + len(kept)
    mentions = {(a, b) for a, b in g.edge_index[:, g.edge_type == MENTION].T.tolist() if a >= n}
    assert mentions == {(n + e, int(k)) for e, ent in enumerate(kept) for k in ent["sentences"] if k < n}
    np.testing.assert_allclose(g.x[0].numpy(), encoder.encode([row["sentences"][0]], progress=False)[0], atol=1e-5)


def test_wikiamr_graph_edges_and_relation_paths(semantics, encoder):
    graphs, relations, report = wikiamr_graphs(semantics, encoder, max_path_len=3, progress=False)
    assert relations == relation_vocabulary(semantics) and all(
        r.endswith("-of") for r in relations[len(relations) // 2 :]
    )
    assert report["evidence_nodes"] >= 1  # the fixture mentions Obama, Trump or Clinton
    for row in semantics.itertuples():
        g = graphs[row.id]
        assert g.num_nodes == len(row.wikiamr_nodes) and g.edge_index.shape[1] == len(row.wikiamr_edges)
        ids = [n["id"] for n in row.wikiamr_nodes]
        labelled = {}
        graph = nx.Graph()
        graph.add_nodes_from(range(len(ids)))
        for e in row.wikiamr_edges:
            s, d = ids.index(e["src"]), ids.index(e["dst"])
            graph.add_edge(s, d)
            labelled.setdefault((s, d), set()).add(relations.index(e["role"]))
            labelled.setdefault((d, s), set()).add(relations.index(e["role"] + "-of"))
        expected = {
            (s, d): length
            for s, targets in nx.all_pairs_shortest_path_length(graph, cutoff=3)
            for d, length in targets.items()
            if s != d
        }
        pairs = list(zip(*g.path_pairs.tolist()))
        assert dict(zip(pairs, g.path_length.tolist())) == expected
        for (s, d), rels in zip(pairs, g.path_relations.tolist()):
            # the relation sequence is a walk from s to d
            frontier = {s}
            for rel in [r for r in rels if r >= 0]:
                frontier = {b for (a, b), labels in labelled.items() if a in frontier and rel in labels}
            assert d in frontier
