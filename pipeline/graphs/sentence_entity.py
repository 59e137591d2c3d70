"""Sentence-entity graphs per article (InSide §3.2 semantic graph).

Nodes: the article's first `max_sentences` sentences, then its entities (node_type 0 and
1). Edges, both directions: sentences at distance 1 … window-1 in the text (edge_type 0,
the sliding window), and each entity to every sentence that mentions it (edge_type 1).
Node features: the text encoder's vectors of the sentence and the entity text; `node_text`
keeps those texts in node order (for InSide's trainable last encoder layer). Entities
mentioned only after the sentence cap are dropped (counted); articles without sentences
get no graph (counted).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from pipeline.graphs.features import encode_distinct

WINDOW, MENTION = 0, 1


def window_edges(n: int, window: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(n) if i != j and abs(i - j) < window]


def sentence_entity_graphs(
    semantics: pd.DataFrame, encoder, *, window: int = 3, max_sentences: int = 64, progress: bool = True
) -> tuple[dict[str, Data], dict]:
    counts = Counter()
    sentences = {row.id: list(row.sentences)[:max_sentences] for row in semantics.itertuples()}
    vectors = encode_distinct(
        encoder,
        [s for ss in sentences.values() for s in ss] + [e["text"] for es in semantics["entities"] for e in es],
        progress,
    )
    graphs = {}
    for row in semantics.itertuples():
        sents = sentences[row.id]
        if not sents:
            counts["articles without sentences (no graph)"] += 1
            continue
        entities = []
        for entity in row.entities:
            mentioned = [int(k) for k in entity["sentences"] if k < len(sents)]
            if mentioned:
                entities.append((entity["text"], mentioned))
            else:
                counts["entities mentioned only beyond the sentence cap (dropped)"] += 1
        pairs = window_edges(len(sents), window)
        kinds = [WINDOW] * len(pairs)
        for e, (_, mentioned) in enumerate(entities):
            node = len(sents) + e
            for k in mentioned:
                pairs += [(node, k), (k, node)]
                kinds += [MENTION, MENTION]
        x = np.stack([vectors[s] for s in sents] + [vectors[t] for t, _ in entities])
        graphs[row.id] = Data(
            x=torch.as_tensor(x),
            node_type=torch.tensor([0] * len(sents) + [1] * len(entities)),
            edge_index=torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T.contiguous(),
            edge_type=torch.tensor(kinds, dtype=torch.long),
            node_text=[*sents, *(text for text, _ in entities)],
            num_sentences=len(sents),
            article_id=row.id,
        )
        counts["sentences beyond max_sentences (dropped)"] += max(len(row.sentences) - max_sentences, 0)
    report = {
        "graphs": len(graphs),
        "nodes": int(sum(g.num_nodes for g in graphs.values())),
        "edges": int(sum(g.edge_index.shape[1] for g in graphs.values())),
        "window": window,
        "max_sentences": max_sentences,
    } | dict(counts)
    return graphs, report
