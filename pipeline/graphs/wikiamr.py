"""WikiAMR graphs as tensors, with the shortest relation paths LGCL's graph transformer needs.

Per article: nodes = the AMR variables and evidence nodes of the semantics stage, with
the text encoder's vector of their concept (a Wikipedia title for evidence nodes) as
features; edges = the typed AMR / evidence edges, `edge_type` indexing `relations`.

Relation paths: between every ordered node pair at most `max_path_len` hops apart (the
graph taken as undirected), the relation labels along one shortest path, found by
breadth-first search that visits neighbours in edge order. Walking an edge against its
direction reads its relation as the inverse, `<role>-of`, as AMR writes inverse roles.
Stored compactly, as there are millions of pairs: `path_pairs` (2 × P, int32),
`path_relations` (P × max_path_len, int16, padded with -1) and `path_length` (P, uint8);
cast to long before indexing.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from pipeline.graphs.features import encode_distinct


def relation_vocabulary(semantics: pd.DataFrame) -> list[str]:
    roles = sorted({e["role"] for edges in semantics["wikiamr_edges"] for e in edges})
    return roles + [f"{r}-of" for r in roles]


def relation_paths(n: int, edges: list[tuple[int, int, int]], n_roles: int, max_path_len: int):
    """(pairs, relation sequences) of shortest paths up to max_path_len hops, BFS from each node."""
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for s, d, r in edges:
        neighbours[s].append((d, r))
        neighbours[d].append((s, r + n_roles))  # the inverse relation
    pairs, paths = [], []
    for start in range(n):
        seen = {start: []}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if len(seen[node]) == max_path_len:
                continue
            for nxt, rel in neighbours[node]:
                if nxt not in seen:
                    seen[nxt] = seen[node] + [rel]
                    queue.append(nxt)
                    pairs.append((start, nxt))
                    paths.append(seen[nxt])
    return pairs, paths


def wikiamr_graphs(
    semantics: pd.DataFrame, encoder, *, max_path_len: int = 4, progress: bool = True
) -> tuple[dict[str, Data], list[str], dict]:
    relations = relation_vocabulary(semantics)
    if len(relations) > np.iinfo(np.int16).max:
        raise ValueError(f"{len(relations)} relation labels do not fit the int16 path encoding")
    rel_id = {r: k for k, r in enumerate(relations)}
    n_roles = len(relations) // 2
    vectors = encode_distinct(encoder, [n["concept"] for nodes in semantics["wikiamr_nodes"] for n in nodes], progress)
    graphs, skipped = {}, 0
    for row in semantics.itertuples():
        nodes = list(row.wikiamr_nodes)
        if not nodes:
            skipped += 1
            continue
        index = {n["id"]: k for k, n in enumerate(nodes)}
        edges = [(index[e["src"]], index[e["dst"]], rel_id[e["role"]]) for e in row.wikiamr_edges]
        pairs, paths = relation_paths(len(nodes), edges, n_roles, max_path_len)
        padded = np.full((len(paths), max_path_len), -1, dtype=np.int16)
        for k, path in enumerate(paths):
            padded[k, : len(path)] = path
        graphs[row.id] = Data(
            x=torch.as_tensor(np.stack([vectors[n["concept"]] for n in nodes])),
            node_is_evidence=torch.tensor([n["kind"] == "evidence" for n in nodes]),
            edge_index=torch.tensor([(s, d) for s, d, _ in edges], dtype=torch.long).reshape(-1, 2).T.contiguous(),
            edge_type=torch.tensor([r for _, _, r in edges], dtype=torch.long),
            path_pairs=torch.tensor(pairs, dtype=torch.int32).reshape(-1, 2).T.contiguous(),
            path_relations=torch.as_tensor(padded),
            path_length=torch.tensor([len(p) for p in paths], dtype=torch.uint8),
            article_id=row.id,
        )
    report = {
        "graphs": len(graphs),
        "articles without a graph": skipped,
        "nodes": int(sum(g.num_nodes for g in graphs.values())),
        "evidence_nodes": int(sum(int(g.node_is_evidence.sum()) for g in graphs.values())),
        "edges": int(sum(g.edge_index.shape[1] for g in graphs.values())),
        "relations": len(relations),
        "relation_paths": int(sum(g.path_pairs.shape[1] for g in graphs.values())),
        "max_path_len": max_path_len,
    }
    return graphs, relations, report
