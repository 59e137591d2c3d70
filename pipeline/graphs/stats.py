"""Graph statistics for the metrics JSON."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.graphs.similarity import SIM_TYPES


def _homophily(src, dst, labels, is_train) -> float | None:
    """Share of edges between two train nodes that join equal labels (None if there are none)."""
    both = is_train[src] & is_train[dst]
    return round(float((labels[src[both]] == labels[dst[both]]).mean()), 4) if both.any() else None


def similarity_stats(n: int, src, dst, types, labels: np.ndarray, is_train: np.ndarray) -> dict:
    degree = np.bincount(np.concatenate([src, dst]), minlength=n)
    adjacency = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    components, _ = connected_components(adjacency, directed=False)
    return {
        "nodes": n,
        "edges": int(len(src)),
        "average_degree": round(float(degree.mean()), 4) if n else 0.0,
        "connected_components": int(components),
        "isolated_nodes": int((degree == 0).sum()),
        "train_label_homophily": _homophily(src, dst, labels, is_train),
        "by_type": {
            name: {
                "edges": int(mask.sum()),
                "train_label_homophily": _homophily(src[mask], dst[mask], labels, is_train),
            }
            for bit, name in enumerate(SIM_TYPES)
            for mask in [(types & (1 << bit)) > 0]
        },
    }
